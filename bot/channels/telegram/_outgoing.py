"""Replies out to Telegram: text in parts under the length limit, the photos after it, the
options as an inline keyboard on the last message sent, an edit where the person pressed a
button (a fresh message where Telegram refuses the edit)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot.channels.ratelimit import Limit, RateLimiter
from bot.channels.telegram._errors import delivery_error, is_group, unreadable
from bot.channels.telegram._render import (
    PAYLOAD_PREFIX,
    escape,
    keyboard,
    needs_reference,
    split_text,
)
from bot.conversation.dispatch import Dispatcher
from bot.conversation.messages import Reply
from bot.security.identity import seal_at_rest
from bot.settings import Settings
from bot.store import updates

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# Edits Telegram refuses for reasons a fresh message avoids.
_EDIT_REFUSED = ("message is not modified", "message can't be edited", "message to edit not found",
                 "there is no text in the message to edit")

PAID_BROADCAST_PER_SECOND = 1000
"""Telegram's overall limit for a bot that pays for broadcasts."""
_OVERALL = Limit(30, 1.0)
_PER_CHAT = Limit(1, 1.0)
_PER_GROUP = Limit(20, 60.0)


@dataclass(frozen=True, slots=True)
class Budgets:
    """Telegram's sending limits: ~30 messages/s per bot, 1/s per chat, 20/min per group.

    Messages count from Telegram's answer (:meth:`RateLimiter.settle`), so the windows are
    Telegram's own, with no margin for timing jitter.
    """

    overall: Limit = _OVERALL
    per_chat: Limit = _PER_CHAT
    per_group: Limit = _PER_GROUP

    @classmethod
    def of(cls, settings: Settings) -> Budgets:
        overall = (PAID_BROADCAST_PER_SECOND if settings.telegram_paid_broadcast
                   else settings.telegram_messages_per_second)
        return cls(Limit(overall, 1.0), Limit(settings.telegram_chat_messages_per_second, 1.0),
                   Limit(settings.telegram_group_messages_per_minute, 60.0))

    def limiter(self, clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> RateLimiter:
        """A rate limiter keeping these budgets, counted on ``clock``."""
        return RateLimiter(overall=self.overall, per_chat=self.per_chat,
                           per_group=self.per_group, clock=clock, sleep=sleep,
                           is_group=is_group)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except TelegramError as exc:
        raise delivery_error(exc) from exc
    except Exception as exc:
        raise unreadable(exc) from exc


class Outgoing:
    def __init__(self, bot: ExtBot[Any], dispatcher: Dispatcher) -> None:
        self.bot = bot
        self.dispatcher = dispatcher

    async def deliver(self, chat_id: str, reply: Reply, thread: int | None) -> None:
        """The text in parts, then the photos it introduces; the options go on the last
        message sent, so they stay below everything they are about."""
        parts = split_text(reply.text)
        markup = await self.keyboard(reply)
        last = len(parts) + len(reply.photos)
        bot = self.bot
        with _translated():
            for number, part in enumerate(parts, start=1):
                await bot.send_message(
                    chat_id, escape(part), parse_mode=ParseMode.HTML,
                    reply_markup=markup if number == last else None,
                    link_preview_options=NO_PREVIEW, message_thread_id=thread)
            for number, photo in enumerate(reply.photos, start=len(parts) + 1):
                await bot.send_photo(chat_id, photo, message_thread_id=thread,
                                     reply_markup=markup if number == last else None)

    async def edit_or_send(self, chat_id: str, message_id: int, reply: Reply,
                            thread: int | None) -> None:
        parts = split_text(reply.text)
        if len(parts) != 1 or reply.photos:
            await self.deliver(chat_id, reply, thread)
            return
        try:
            await self.bot.edit_message_text(
                escape(parts[0]), chat_id=chat_id, message_id=message_id,
                parse_mode=ParseMode.HTML, reply_markup=await self.keyboard(reply),
                link_preview_options=NO_PREVIEW)
        except BadRequest as exc:
            if not any(marker in exc.message.lower() for marker in _EDIT_REFUSED):
                raise delivery_error(exc) from exc
            await self.deliver(chat_id, reply, thread)
        except TelegramError as exc:
            raise delivery_error(exc) from exc

    async def keyboard(self, reply: Reply) -> InlineKeyboardMarkup | None:
        """The inline keyboard for the reply's options; data over Telegram's 64 bytes is stored
        (sealed) and the button carries ``p:<random id>``."""
        stored: dict[str, str] = {}
        buttons: list[tuple[str, str]] = []
        for option in reply.options:
            data = option.data
            if needs_reference(data) or not data:
                reference = secrets.token_urlsafe(12)
                stored[reference] = seal_at_rest(self.dispatcher.services.keyring, data)
                data = PAYLOAD_PREFIX + reference
            buttons.append((option.label, data))
        if stored:
            async with self.dispatcher.store.transaction() as conn:
                await updates.save_payloads(conn, stored, self.dispatcher.clock())
        return keyboard(tuple(buttons))
