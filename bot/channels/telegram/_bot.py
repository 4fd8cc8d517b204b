"""python-telegram-bot pieces the Telegram channel plugs in: a bot that survives updates it
cannot parse, and a rate limiter that keeps Telegram's sending budgets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter, ExtBot

from bot import logs
from bot.channels.ratelimit import RateLimiter
from bot.channels.telegram._errors import retry_seconds

log = logging.getLogger(__name__)

MAX_FLOOD_RETRIES = 3
MAX_UPDATE_ID = 2**63


def parse_update(data: object, bot: ExtBot[Any]) -> Update | None:
    """The update in ``data``, or None (logged without content) when it cannot be read.

    An update without a whole-number ``update_id`` (that a BIGINT column can hold) is refused
    here: it could neither be deduplicated nor acknowledged.
    """
    if not isinstance(data, dict):
        logs.event(log, "telegram.update_unparsable", logging.WARNING, reason="not an object")
        return None
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not (
            0 <= update_id < MAX_UPDATE_ID):
        logs.event(log, "telegram.update_unparsable", logging.WARNING, reason="no update_id")
        return None
    try:
        return Update.de_json(data, bot)
    except Exception as exc:  # any shape PTB does not expect; the content stays out of logs
        logs.event(log, "telegram.update_unparsable", logging.WARNING, update_id=update_id,
                   error=type(exc).__name__)
        # An empty update with the same id still moves the polling offset past it.
        return Update(update_id)


class TolerantBot(ExtBot[None]):
    """An ExtBot whose ``get_updates`` parses each update on its own.

    PTB parses a batch in one go: one update it cannot read fails the whole batch, logs the
    raw data (what people wrote) and the Updater fetches the same batch again, forever.
    """

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: int | timedelta | None = None,  # noqa: ASYNC109 - the Bot API's own parameter
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        data: JSONDict = {"timeout": timeout, "offset": offset, "limit": limit,
                          "allowed_updates": allowed_updates}
        # As in Bot.get_updates: a long poll may last ``timeout`` longer than any request.
        base = (self._request[0].read_timeout if isinstance(read_timeout, DefaultValue)
                else read_timeout) or 0.0
        wait = timeout.total_seconds() if isinstance(timeout, timedelta) else (timeout or 0)
        result = await self._post("getUpdates", data, read_timeout=base + wait,
                                  write_timeout=write_timeout, connect_timeout=connect_timeout,
                                  pool_timeout=pool_timeout, api_kwargs=api_kwargs)
        items = result if isinstance(result, list) else []
        return tuple(update for update in (parse_update(item, self) for item in items)
                     if update is not None)


_Callback = Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]]


def _counted(endpoint: str) -> bool:
    """Requests that put a message in a chat: the ones Telegram's budgets count."""
    return (endpoint.startswith("send") and endpoint != "sendChatAction") or endpoint in (
        "copyMessage", "copyMessages", "forwardMessage", "forwardMessages")


class TelegramRateLimiter(BaseRateLimiter[None]):
    """Waits for room in the budgets before each message; on a 429 pauses every sender for
    ``retry_after`` and tries again, up to ``max_wait`` seconds of pause. A longer pause is
    raised, for the caller to queue the message rather than hold the chat."""

    def __init__(self, limiter: RateLimiter, max_wait: float) -> None:
        self.limiter = limiter
        self.max_wait = max_wait

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(self, callback: _Callback, args: Any, kwargs: dict[str, Any],
                              endpoint: str, data: dict[str, Any],
                              rate_limit_args: None) -> bool | JSONDict | list[JSONDict]:
        chat = data.get("chat_id")
        counted = _counted(endpoint) and chat is not None
        for attempt in range(MAX_FLOOD_RETRIES + 1):
            if counted:
                # Negative ids are groups, supergroups and channels.
                await self.limiter.acquire(str(chat), group=str(chat).startswith("-"))
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                self.limiter.pause(seconds)
                logs.event(log, "telegram.flood_wait", logging.WARNING, endpoint=endpoint,
                           seconds=seconds, attempt=attempt + 1)
                if seconds > self.max_wait or attempt == MAX_FLOOD_RETRIES:
                    raise
                if not counted:
                    await asyncio.sleep(seconds)
        raise AssertionError("unreachable: the last attempt returns or raises")
