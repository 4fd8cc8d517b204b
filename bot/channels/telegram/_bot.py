"""python-telegram-bot pieces the Telegram channel plugs in: a bot that survives updates it
cannot parse, an application whose update loop survives any one update, and a rate limiter
that keeps Telegram's sending budgets."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import RetryAfter
from telegram.ext import Application, BaseRateLimiter, ExtBot

from bot import logs
from bot.channels.ratelimit import RateLimiter
from bot.channels.telegram._errors import retry_seconds

log = logging.getLogger(__name__)

MAX_FLOOD_RETRIES = 3
MAX_UPDATE_ID = 2**63

# PTB's parsers take whatever type a field holds, and the library later uses ids as set members
# and dates as numbers outside any handler: a chat id that is an object stops its update loop.
# So the fields it computes with are checked here, by name, wherever they occur.
_WHOLE = frozenset({"update_id", "message_id", "date", "edit_date", "forward_date",
                    "message_thread_id", "reply_to_message_id", "migrate_to_chat_id",
                    "migrate_from_chat_id", "until_date", "file_size", "width", "height",
                    "duration", "offset", "length"})
_REAL = frozenset({"latitude", "longitude", "horizontal_accuracy"})
_TEXT = frozenset({"text", "caption", "data", "type", "status", "first_name", "last_name",
                   "username", "language_code", "title", "file_id", "file_unique_id",
                   "mime_type", "chat_instance", "inline_message_id", "url"})
_OBJECT = frozenset({"message", "edited_message", "callback_query", "my_chat_member", "chat",
                     "from", "user", "sender_chat", "new_chat_member", "old_chat_member",
                     "location", "venue", "reply_to_message", "pinned_message", "document",
                     "via_bot", "forward_from", "forward_from_chat"})
_LIST = frozenset({"photo", "entities", "caption_entities", "new_chat_members"})
# Objects whose ``id`` is a string; every other ``id`` (users, chats) is a whole number.
_STRING_ID = frozenset({"callback_query", "inline_query", "chosen_inline_result", "poll",
                        "shipping_query", "pre_checkout_query"})


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fits(key: str, parent: str, value: object) -> bool:
    if key in _WHOLE:
        return _whole(value)
    if key == "id":
        return isinstance(value, str) if parent in _STRING_ID else _whole(value)
    if key in _REAL:
        return _whole(value) or isinstance(value, float)
    if key in _TEXT:
        return isinstance(value, str)
    if key in _OBJECT:
        return isinstance(value, dict)
    if key in _LIST:
        return isinstance(value, list)
    return True


def ill_typed(data: dict[str, Any]) -> str | None:
    """The first field of ``data`` whose type PTB could choke on, or None."""
    pending: list[tuple[str, object]] = [("", data)]
    while pending:  # iterative: a deeply nested update must not exhaust the stack
        parent, node = pending.pop()
        if isinstance(node, list):  # the items of a list are checked as their list's field
            pending.extend((parent, item) for item in node if isinstance(item, dict | list))
            continue
        assert isinstance(node, dict)
        for key, value in node.items():
            if not _fits(key, parent, value):
                return str(key)[:40]
            if isinstance(value, dict | list):
                pending.append((key, value))
    return None


def parse_update(data: object, bot: ExtBot[Any]) -> Update | None:
    """The update in ``data``, or None (logged without content) when it cannot be read.

    An update without a whole-number ``update_id`` (that a BIGINT column can hold) is refused
    here: it could neither be deduplicated nor acknowledged. One with a field of the wrong
    type becomes an empty update, skipped but acknowledged.
    """
    if not isinstance(data, dict):
        logs.event(log, "telegram.update_unparsable", logging.WARNING, reason="not an object")
        return None
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not (
            0 <= update_id < MAX_UPDATE_ID):
        logs.event(log, "telegram.update_unparsable", logging.WARNING, reason="no update_id")
        return None
    field = ill_typed(data)
    if field is not None:
        logs.event(log, "telegram.update_unparsable", logging.WARNING, update_id=update_id,
                   reason="ill-typed field", field=field)
        return Update(update_id)
    try:
        return Update.de_json(data, bot)
    except Exception as exc:  # any shape PTB does not expect; the content stays out of logs
        logs.event(log, "telegram.update_unparsable", logging.WARNING, update_id=update_id,
                   error=type(exc).__name__)
        # An empty update with the same id still moves the polling offset past it.
        return Update(update_id)


Polled = Callable[[Sequence[tuple[JSONDict, Update]]], Awaitable[None]]


class TolerantBot(ExtBot[None]):
    """An ExtBot whose ``get_updates`` parses each update on its own, and hands what it
    fetched (as received and as parsed) to ``on_polled`` before returning it.

    PTB parses a batch in one go: one update it cannot read fails the whole batch, logs the
    raw data (what people wrote) and the Updater fetches the same batch again, forever. The
    Updater's next poll acknowledges what this one returned, so ``on_polled`` is where the
    updates are made durable; if it raises a TelegramError, the Updater asks again for the
    same batch.

    It also notes when it last asked, so that a polling loop that died can be told from one
    waiting on a long poll.
    """

    # PTB freezes its objects' public attributes; protected ones stay settable.
    _polling_since: float | None = None  # when the long poll in progress began, monotonic
    _polled_at: float | None = None  # when the last one ended, however it ended
    _on_polled: Polled | None = None

    def __init__(self, *args: Any, on_polled: Polled | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_polled = on_polled

    def poll_silence(self, now: float) -> float | None:
        """Seconds the polling loop has been in one poll or between two, None before any."""
        if self._polling_since is not None:
            return now - self._polling_since
        return None if self._polled_at is None else now - self._polled_at

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
        self._polling_since = time.monotonic()
        try:
            result = await self._post("getUpdates", data, read_timeout=base + wait,
                                      write_timeout=write_timeout,
                                      connect_timeout=connect_timeout,
                                      pool_timeout=pool_timeout, api_kwargs=api_kwargs)
        finally:
            self._polling_since, self._polled_at = None, time.monotonic()
        items = result if isinstance(result, list) else []
        parsed = [(item, update) for item in items
                  if (update := parse_update(item, self)) is not None]
        if parsed and self._on_polled is not None:
            await self._on_polled(parsed)
        return tuple(update for _item, update in parsed)


class GuardedApplication(Application[Any, Any, Any, Any, Any, Any]):
    """An Application whose update loop goes on past any update.

    PTB handles errors of handlers, but its own steps around them (marking chats for
    persistence, building the context) raise into the loop that takes updates from the queue;
    that loop then ends, and every later update waits in the queue unanswered.
    """

    fetching = False
    """Whether the loop that takes updates from the queue is running."""

    async def process_update(self, update: object) -> None:
        try:
            await super().process_update(update)
        except Exception as exc:  # logged by type only: the update holds what people wrote
            logs.event(log, "telegram.update_failed", logging.ERROR,
                       update_id=getattr(update, "update_id", None), error=type(exc).__name__)

    async def _update_fetcher(self) -> None:
        self.fetching = True
        try:
            await super()._update_fetcher()
        finally:
            self.fetching = False


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
            slot = None
            if counted:
                slot = await self.limiter.acquire(str(chat))
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
            finally:
                if slot is not None:
                    self.limiter.settle(slot)
        raise AssertionError("unreachable: the last attempt returns or raises")
