"""Replies out to Zalo: plain text in parts of at most 2,000 characters, the options as
numbered lines under it with a line saying how to choose, and pictures described rather than
sent (:mod:`bot.channels.zalo_shared` says why).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.channels.inbound import chat_language
from bot.channels.ratelimit import backoff
from bot.channels.zalo_bot._api import ApiError, BotApi, ZaloError
from bot.channels.zalo_bot._errors import QUOTA_EXCEEDED, delivery_error, token_rejected
from bot.channels.zalo_bot._updates import CHANNEL
from bot.channels.zalo_shared import MAX_TEXT, text_parts
from bot.conversation.dispatch import Dispatcher
from bot.conversation.messages import Reply

__all__ = ["MAX_TEXT", "Outgoing", "render"]


def render(reply: Reply, language: str) -> list[str]:
    """The messages ``reply`` takes on Zalo, in order."""
    return text_parts(reply, language, numbered=True)


class Outgoing:
    def __init__(self, api: BotApi, dispatcher: Dispatcher, *, backoff_base: float,
                 backoff_cap: float, on_token_rejected: Callable[[], None]) -> None:
        self.api = api
        self.dispatcher = dispatcher
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.on_token_rejected = on_token_rejected
        self._quota_refusals = 0

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        """Send ``reply``; raises RetryLater, Unreachable or Undeliverable."""
        language: str = self.dispatcher.services.settings.default_language
        if reply.options or reply.photos:  # the channel's own words are in their language
            language = await chat_language(self.dispatcher, CHANNEL, chat_id)
        for part in render(reply, language):
            try:
                await self.api.send_message(chat_id, part)
            except ZaloError as exc:
                raise self._translated(exc) from exc
        self._quota_refusals = 0

    def _translated(self, exc: ZaloError) -> Exception:
        if token_rejected(exc):
            self.on_token_rejected()
        # Zalo names no wait after a 429: back off further each time it says it again.
        quota = isinstance(exc, ApiError) and exc.code == QUOTA_EXCEEDED
        self._quota_refusals = self._quota_refusals + 1 if quota else 0
        wait = backoff(self._quota_refusals, self.backoff_base, self.backoff_cap)
        return delivery_error(exc, quota_wait=wait)
