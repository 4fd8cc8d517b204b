"""Replies out to a Zalo OA: text in parts of at most 2,000 characters, options as a button
template under the last part, and each part sent within Zalo's windows.

A button (``oa.query.show``) sends back its option's number as the person's text, so the
numbers the dispatcher keeps give a tap its meaning, and a typed number works as well. More
options than a template takes, or a template Zalo refuses, become numbered lines instead.

Windows: a reply quoting the id of the person's last message is free, 8 of them within 48
hours of it; other sends are proactive (the OA's monthly quota) and Zalo refuses them once the
person has not written for 7 days. Known to be past that, a send is not even tried.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.inbound import chat_language_in
from bot.channels.ratelimit import backoff
from bot.channels.zalo_oa._oa_client import ApiError, OaClient, OaError
from bot.channels.zalo_oa._oa_errors import (
    BAD_PARAMETER,
    delivery_error,
    rate_limited,
    token_invalid,
)
from bot.channels.zalo_oa._oa_events import CHANNEL
from bot.channels.zalo_oa._tokens import NotConnected, Tokens
from bot.channels.zalo_shared import text_parts
from bot.conversation.dispatch import Dispatcher
from bot.conversation.messages import Reply
from bot.errors import OutsideWindow, RetryLater
from bot.security.identity import open_at_rest
from bot.store import zalo_oa

MAX_BUTTONS = 5
MAX_TITLE = 100
FREE_REPLIES = 8
FREE_HOURS = timedelta(hours=48)
REACHABLE = timedelta(days=7)


def buttons(reply: Reply) -> list[dict[str, str]]:
    """The template's buttons for ``reply``'s options, each sending back its number."""
    return [{"title": option.label[:MAX_TITLE], "type": "oa.query.show", "payload": str(number)}
            for number, option in enumerate(reply.options, start=reply.first_number)]


def messages(reply: Reply, language: str) -> list[dict[str, Any]]:
    """The ``message`` objects ``reply`` takes on Zalo OA, in order."""
    if len(reply.options) > MAX_BUTTONS:
        return [{"text": part} for part in text_parts(reply, language, numbered=True)]
    parts: list[dict[str, Any]] = [{"text": part}
                                   for part in text_parts(reply, language, numbered=False)]
    if reply.options:
        parts[-1]["attachment"] = {"type": "template",
                                   "payload": {"buttons": buttons(reply)}}
    return parts


class Outgoing:
    def __init__(self, client: OaClient, tokens: Tokens, dispatcher: Dispatcher, *,
                 clock: Callable[[], datetime], backoff_base: float, backoff_cap: float,
                 on_disconnected: Callable[[], None]) -> None:
        self.client = client
        self.tokens = tokens
        self.dispatcher = dispatcher
        self.services = dispatcher.services
        self.clock = clock
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.on_disconnected = on_disconnected
        self._rate_refusals = 0

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        """Send ``reply``; raises RetryLater, Unreachable (OutsideWindow) or Undeliverable."""
        now = self.clock()
        language: str = self.services.settings.default_language
        async with self.dispatcher.store.transaction() as conn:
            if reply.options or reply.photos:  # the channel's own words are in their language
                language = await chat_language_in(conn, self.dispatcher, CHANNEL, chat_id)
            parts = messages(reply, language)
            recipients = [await self._recipient(conn, chat_id, now) for _ in parts]
        for message, recipient in zip(parts, recipients, strict=True):
            try:
                await self._send(recipient, message)
            except ApiError as exc:
                if exc.code != BAD_PARAMETER or "attachment" not in message:
                    raise self._translated(exc) from exc
                # a template refused: the same options as numbered lines mean the same
                numbered = Reply(message["text"], reply.options, first_number=reply.first_number)
                for part in text_parts(numbered, language, numbered=True):
                    await self._send_translated(recipient, {"text": part})
            except OaError as exc:
                raise self._translated(exc) from exc
        self._rate_refusals = 0

    async def _send_translated(self, recipient: dict[str, str],
                               message: dict[str, Any]) -> None:
        try:
            await self._send(recipient, message)
        except OaError as exc:
            raise self._translated(exc) from exc

    async def _send(self, recipient: dict[str, str], message: dict[str, Any]) -> None:
        """One message, with a fresh token and one more try when Zalo calls the token
        invalid (-216)."""
        try:
            token = await self.tokens.access_token()
            try:
                await self.client.send(token, recipient, message)
            except ApiError as exc:
                if not token_invalid(exc):
                    raise
                await self.client.send(await self.tokens.after_refusal(token), recipient,
                                       message)
        except NotConnected as exc:
            self.on_disconnected()
            raise RetryLater(f"zalo_oa {exc.reason}") from None

    async def _recipient(self, conn: AsyncConnection, chat_id: str,
                         now: datetime) -> dict[str, str]:
        """Quote the person's last message while its free replies last; past 7 days, refuse."""
        window = self.services.pseudonyms.window(CHANNEL, chat_id)
        sealed = await zalo_oa.spend_free_reply(conn, window, heard_after=now - FREE_HOURS,
                                                most=FREE_REPLIES)
        if sealed is not None:
            return {"message_id": open_at_rest(self.services.keyring, sealed)}
        heard_at = await zalo_oa.last_heard(conn, window)
        if heard_at is not None and heard_at <= now - REACHABLE:
            raise OutsideWindow("zalo_oa: no message from them in 7 days")
        return {"user_id": chat_id}

    def _translated(self, exc: OaError) -> Exception:
        # Zalo names no wait when it says too many calls: back off further each time.
        self._rate_refusals = self._rate_refusals + 1 if rate_limited(exc) else 0
        wait = backoff(self._rate_refusals, self.backoff_base, self.backoff_cap)
        return delivery_error(exc, rate_wait=wait)
