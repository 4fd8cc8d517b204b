"""A fake Telegram Bot API server on loopback that python-telegram-bot's real HTTP stack talks to.

Start it and point PTB at it::

    async with FakeTelegramServer(token="123:ABC", bot_username="pcmt_test_bot") as server:
        bot = telegram.Bot("123:ABC", base_url=server.base_url,
                           base_file_url=server.base_file_url)

``base_url`` is ``http://127.0.0.1:PORT/bot`` and ``base_file_url`` ``http://127.0.0.1:PORT/file/bot``
(PTB appends the token). ``await server.start()`` / ``await server.stop()`` work too. Requests
with another token get 401 Unauthorized, unknown methods 404, as on Telegram. Parameters are read
from the query string, a JSON body, a form or a multipart upload.

Methods: getMe, getUpdates (long polling with ``offset``, ``timeout``, ``limit``,
``allowed_updates``; 409 while a webhook is set or when a newer poll replaces it), sendMessage,
editMessageText, editMessageReplyMarkup, deleteMessage, sendPhoto (upload or known file_id),
sendChatAction, answerCallbackQuery, getFile plus file download, setWebhook, deleteWebhook,
getWebhookInfo, setMyCommands, getMyCommands, deleteMyCommands, close and logOut (no-ops).
Chats never seen inbound are private when the id is positive, groups or (from -10**12 down)
supergroups otherwise. Replies are Telegram's: message ids count per chat, ``text`` is the
visible text after HTML parsing, and only inline keyboards are echoed in the returned message.

Validated as Telegram does (400 unless noted): empty text, text over 4096 or caption over 1024
characters, HTML that uses other tags than Telegram's or is badly nested or has a bare ``<``,
``>`` or ``&``, callback_data outside 1-64 bytes (BUTTON_DATA_INVALID), chats in
``missing_chats`` ("chat not found"), chats in ``blocked_chats`` (403), unknown file ids,
unknown or already answered callback queries, edits that change nothing ("message is not
modified"), invalid command names and secret tokens.

Inbound, each returning the queued update (fresh ``update_id``): ``send_text``, ``press_button``,
``send_photo``, ``send_document``, ``send_location``, ``edit_text``, ``my_chat_member`` (kicked
or left also puts the chat in ``blocked_chats``, member takes it out) and ``queue_raw`` for any
dict, malformed ones included. Text starting with "/" carries a bot_command entity; the user id
defaults to the chat id in private chats and must be given in groups. As on Telegram, an update
of a kind the last ``allowed_updates`` leaves out is dropped when queued. While a
webhook is set, updates are POSTed to it in order (header ``X-Telegram-Bot-Api-Secret-Token``
when a secret was set); a non-2xx answer or a failed connection is retried after
``webhook_retry_delay`` up to ``webhook_max_attempts`` times. Every attempt lands in
``webhook_deliveries``.

Observing: ``sent`` (``SentRecord`` per accepted chat method: method, chat_id, raw text or
caption, parse_mode, reply_markup, message_id, time on the server clock, all params and the
resulting message), ``messages_to(chat_id)`` (messages created there), ``calls`` ((method,
status) for every API request, failures included), ``answered_callbacks``, ``webhook``,
``commands``, ``rate_limit_violations``; ``await wait_for(predicate)``,
``await wait_for_messages(chat_id, n)`` and ``await wait_until(condition)`` wake on each change and
raise ``TimeoutError`` after ``timeout`` seconds.

Faults: ``fail_next(method, status=500, retry_after=None, count=1, description=None)`` (the next
``count`` calls of ``method`` fail; 429 gets ``retry_after`` 1 unless given), ``delay(method,
seconds)`` (0 removes it), ``queue_raw`` for malformed updates. ``parse_html(text)`` is the HTML
check on its own: it returns the visible text or raises ``ApiError``.

Rate limits (``RateLimits``, ``None`` disables them) count messages created by send methods over
a sliding window on ``clock`` (``time.monotonic`` unless given): per private chat per second, per
group or supergroup per minute, and overall per second. Going over answers 429 with
``retry_after`` and adds one to ``rate_limit_violations``; rejected requests use no budget.

Random faults (``RandomFaults``, seeded) hit the send methods as an unreliable platform would:
a share answered 500 (nothing sent), a share held ``slow_seconds`` before handling, a share
answered 429 with ``retry_after`` 1 (nothing sent), and a share sent but answered with a body
the client cannot read (the message is in ``sent`` all the same). ``fault_counts`` counts each;
``malform_next(count)`` gives the next ``count`` sends such an answer.
"""

from __future__ import annotations

import asyncio
import copy
import html
import io
import itertools
import json
import math
import random
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image

from tests.fakes._loopback import LoopbackServer

JSON = dict[str, Any]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4096
MAX_CAPTION = 1024
# Update kinds Telegram leaves out unless allowed_updates names them.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_MESSAGE_METHODS = frozenset({"sendMessage", "sendPhoto"})
_JSON_FIELDS = frozenset({"reply_markup", "allowed_updates", "commands", "scope", "entities",
                          "caption_entities", "link_preview_options", "reply_parameters"})
_INT_FIELDS = frozenset({"offset", "limit", "timeout", "message_id", "max_connections",
                         "cache_time", "reply_to_message_id", "message_thread_id"})
_BOOL_FIELDS = frozenset({"drop_pending_updates", "show_alert", "disable_notification",
                          "protect_content", "has_spoiler", "allow_sending_without_reply"})
_CHAT_ACTIONS = frozenset({"typing", "upload_photo", "record_video", "upload_video",
                           "record_voice", "upload_voice", "upload_document", "choose_sticker",
                           "find_location", "record_video_note", "upload_video_note"})
_BUTTON_ACTIONS = frozenset({"url", "callback_data", "web_app", "login_url", "switch_inline_query",
                             "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                             "copy_text", "callback_game", "pay"})
_HTML_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code",
                        "pre", "tg-spoiler", "span", "blockquote", "tg-emoji"})
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
                  r"""((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>]+))?)*)\s*>""")
_SPOILER_CLASS = re.compile(r"""^\s+class\s*=\s*(["']?)tg-spoiler\1\s*$""")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_BLOCKED = {"private": "Forbidden: bot was blocked by the user",
            "group": "Forbidden: bot was kicked from the group chat",
            "supergroup": "Forbidden: bot was kicked from the supergroup chat",
            "channel": "Forbidden: bot was kicked from the channel chat"}


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and, for 429, retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, "Bad Request: " + description)


@dataclass(frozen=True)
class RateLimits:
    private_per_second: int = 1
    group_per_minute: int = 20
    global_per_second: int = 30


DEFAULT_LIMITS = RateLimits()


@dataclass(frozen=True)
class RandomFaults:
    server_errors: float = 0.05
    slow: float = 0.02
    slow_seconds: float = 1.0
    throttled: float = 0.005
    malformed: float = 0.005
    seed: int = 19


@dataclass
class SentRecord:
    method: str
    chat_id: int | None
    text: str | None
    parse_mode: str | None
    reply_markup: JSON | None
    message_id: int | None
    time: float
    params: JSON = field(repr=False)
    message: JSON | None = field(default=None, repr=False)


@dataclass
class WebhookDelivery:
    update_id: int | None
    status: int | None  # None when the connection failed
    error: str | None = None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes

    def describe(self) -> JSON:
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                "file_size": len(self.data)}


_PLAIN = re.compile(r"[^<>&]+")


def parse_html(text: str) -> str:
    """The visible text of Telegram HTML, or the ``can't parse entities`` error Telegram gives."""
    visible: list[str] = []
    open_tags: list[str] = []
    pos = 0
    while pos < len(text):
        plain = _PLAIN.match(text, pos)
        if plain is not None:  # a run of plain text at once: the check stays linear
            visible.append(plain.group())
            pos = plain.end()
            continue
        offset = len(text[:pos].encode())  # only reached at markup, where errors point
        char = text[pos]
        if char == "<":
            tag = _TAG.match(text, pos)
            if tag is None:
                name = re.match(r"</?([^\s<>/]*)", text[pos:])
                raise _bad(f"can't parse entities: Unsupported start tag "
                           f"\"{name.group(1) if name else ''}\" at byte offset {offset}")
            closing, name_text, attributes = tag.group(1), tag.group(2).lower(), tag.group(3)
            if closing:
                if not open_tags:
                    raise _bad(f"can't parse entities: Unexpected end tag at byte offset {offset}")
                if open_tags[-1] != name_text:
                    raise _bad(f"can't parse entities: Unmatched end tag at byte offset {offset}, "
                               f"expected \"</{open_tags[-1]}>\", found \"</{name_text}>\"")
                open_tags.pop()
            elif name_text not in _HTML_TAGS or (
                    name_text == "span" and not _SPOILER_CLASS.match(attributes)):
                raise _bad(f"can't parse entities: Unsupported start tag \"{name_text}\" "
                           f"at byte offset {offset}")
            else:
                open_tags.append(name_text)
            pos = tag.end()
        elif char == "&":
            entity = _ENTITY.match(text, pos)
            if entity is None:
                raise _bad(f"can't parse entities: Unsupported character entity "
                           f"at byte offset {offset}")
            visible.append(html.unescape(entity.group()))
            pos = entity.end()
        else:
            raise _bad(f"can't parse entities: Unexpected \">\" at byte offset {offset}")
    if open_tags:
        raise _bad(f"can't parse entities: Can't find end tag corresponding to start tag "
                   f"\"{open_tags[-1]}\"")
    return "".join(visible)


def _visible(text: object, parse_mode: object, limit: int, too_long: str) -> str:
    raw = "" if text is None else str(text)
    visible = parse_html(raw) if str(parse_mode or "").upper() == "HTML" else raw
    if len(visible) > limit:
        raise _bad(too_long)
    return visible


def _check_markup(markup: object) -> JSON | None:
    """The markup as sent, after the checks Telegram makes on inline keyboards."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not isinstance(button.get("text"), str):
                raise _bad("can't parse inline keyboard button: Field \"text\" must be of type "
                           "String")
            if not _BUTTON_ACTIONS & button.keys():
                raise _bad("can't parse inline keyboard button: Text buttons are unallowed in "
                           "the inline keyboard")
            if "callback_data" in button and not 1 <= len(
                    str(button["callback_data"]).encode()) <= 64:
                raise _bad("BUTTON_DATA_INVALID")
    return markup


def _echo(markup: JSON | None) -> JSON:
    return {"reply_markup": markup} if markup and "inline_keyboard" in markup else {}


def _coerce(name: str, value: Any) -> Any:
    """Form fields arrive as strings (PTB JSON-encodes the non-string ones)."""
    if not isinstance(value, str):
        return value
    try:
        if name in _JSON_FIELDS:
            return json.loads(value)
        if name in _INT_FIELDS:
            return int(float(value))
    except ValueError as exc:
        raise _bad(f"can't parse {name}") from exc
    if name in _BOOL_FIELDS:
        return value.lower() == "true"
    if name == "chat_id" and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


async def _read_params(request: web.Request) -> JSON:
    params: JSON = dict(request.query)
    if request.content_type == "application/json":
        try:
            params.update(await request.json())
        except ValueError as exc:
            raise _bad("can't parse JSON") from exc
    elif request.body_exists:
        for name, value in (await request.post()).items():
            params[name] = value.file.read() if isinstance(value, web.FileField) else value
    return {name: _coerce(name, value) for name, value in params.items()}


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (OSError, ValueError):
        return None


def _chat_of(update: JSON) -> object:
    """The chat an update belongs to, for keeping a chat's updates in order."""
    for value in update.values():
        if isinstance(value, dict):
            chat = value.get("chat") or (value.get("message") or {}).get("chat")
            if isinstance(chat, dict) and "id" in chat:
                return chat["id"]
            sender = value.get("from")
            if isinstance(sender, dict) and "id" in sender:
                return sender["id"]
    return object()  # no chat: in order with nothing


def _update_kind(update: JSON) -> str | None:
    return next((key for key in update if key != "update_id"), None)


Handler = Callable[[JSON], Awaitable[Any]]


class FakeTelegramServer(LoopbackServer):
    def __init__(self, token: str = "123:ABC",  # noqa: S107 (a token of no bot)
                 bot_username: str = "pcmt_test_bot", *,
                 rate_limits: RateLimits | None = DEFAULT_LIMITS,
                 missing_chats: Iterable[int] = (), blocked_chats: Iterable[int] = (),
                 clock: Callable[[], float] = time.monotonic,
                 webhook_retry_delay: float = 0.05, webhook_max_attempts: int = 3,
                 random_faults: RandomFaults | None = None) -> None:
        super().__init__()
        self.random_faults = random_faults
        self.fault_counts = {"server_errors": 0, "slow": 0, "throttled": 0, "malformed": 0}
        self._fault_rng = random.Random(random_faults.seed if random_faults else 0)
        self._malformed_next = 0
        self.token, self.bot_username = token, bot_username
        self.bot_user: JSON = {"id": int(token.split(":")[0]), "is_bot": True,
                               "first_name": "PCMT Test Bot", "username": bot_username}
        self.rate_limits = rate_limits
        self.missing_chats, self.blocked_chats = set(missing_chats), set(blocked_chats)
        self.sent: list[SentRecord] = []
        self.calls: list[tuple[str, int]] = []
        self.answered_callbacks: list[JSON] = []
        self.webhook: JSON | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}  # (scope JSON, language) -> list
        self.rate_limit_violations = 0
        self._clock = clock
        self._webhook_retry_delay, self._webhook_max_attempts = (webhook_retry_delay,
                                                                 webhook_max_attempts)
        self._pending: list[JSON] = []
        self._update_ids = itertools.count(100_000_001)
        self._callback_ids = itertools.count(4_200_000_000_001)
        self._file_numbers = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._files: dict[str, _StoredFile] = {}
        self._open_callbacks: set[str] = set()
        self._windows: dict[tuple[object, float], deque[float]] = {}
        self._allowed_updates: frozenset[str] | None = None
        self._last_webhook_error: tuple[int, str] | None = None
        self._poll_generation = 0
        self._session: aiohttp.ClientSession | None = None
        self._pump: asyncio.Task[None] | None = None
        handlers: dict[str, Handler] = {
            "getMe": self._get_me, "getUpdates": self._get_updates,
            "sendMessage": self._send_message, "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "deleteMessage": self._delete_message, "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback, "getFile": self._get_file,
            "setWebhook": self._set_webhook, "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info, "setMyCommands": self._set_commands,
            "getMyCommands": self._get_commands, "deleteMyCommands": self._delete_commands,
            "close": self._no_op, "logOut": self._no_op}
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # lifecycle

    @property
    def base_url(self) -> str:
        return f"{self.origin}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.origin}/file/bot"

    def _routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)

    async def start(self) -> None:
        await super().start()
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        self._stopping.set()
        if self._pump is not None:
            self._pump.cancel()
            with suppress(asyncio.CancelledError):
                await self._pump
        if self._session is not None:
            await self._session.close()
        await super().stop()

    # observing

    def messages_to(self, chat_id: int) -> list[SentRecord]:
        return [r for r in self.sent if r.method in _MESSAGE_METHODS and r.chat_id == chat_id]

    async def wait_for(self, predicate: Callable[[SentRecord], bool],
                       timeout: float = 5.0) -> SentRecord:  # noqa: ASYNC109
        """The first record in ``sent`` that matches, waiting for it if need be."""
        found: list[SentRecord] = []

        def matched() -> bool:
            found[:] = [record for record in self.sent if predicate(record)][:1]
            return bool(found)

        await self.wait_until(matched, timeout)
        return found[0]

    async def wait_for_messages(self, chat_id: int, n: int,
                                timeout: float = 5.0) -> list[SentRecord]:  # noqa: ASYNC109
        await self.wait_until(lambda: len(self.messages_to(chat_id)) >= n, timeout)
        return self.messages_to(chat_id)

    # faults

    def fail_next(self, method: str, status: int = 500, *, retry_after: int | None = None,
                  count: int = 1, description: str | None = None) -> None:
        if status == 429 and retry_after is None:
            retry_after = 1  # PTB only raises RetryAfter when the value is present
        if description is None:
            description = (f"Too Many Requests: retry after {retry_after}" if status == 429
                           else HTTPStatus(status).phrase)
        self._add_fault(method, ApiError(status, description, retry_after), count)

    def malform_next(self, count: int = 1) -> None:
        self._malformed_next += count

    # inbound

    def queue_raw(self, update: JSON) -> JSON:
        """Queue any update; an ``update_id`` is added unless the dict has one."""
        update = {"update_id": next(self._update_ids), **update}
        kind = _update_kind(update)
        allowed = self.webhook["allowed_updates"] if self.webhook else self._allowed_updates
        if kind is not None and (kind not in allowed if allowed else kind in _OPT_IN_UPDATES):
            return update  # Telegram never stores what the bot did not ask for
        self._pending.append(update)
        self.touch()
        return update

    def send_text(self, chat_id: int, text: str, *, user_id: int | None = None,
                  chat_type: str = "private", first_name: str = "Lan",
                  username: str | None = None, language_code: str | None = "vi") -> JSON:
        user = self._user(chat_id, user_id, chat_type, first_name, username, language_code)
        content: JSON = {"text": text}
        command = re.match(r"/\S+", text)
        if command:
            length = len(command.group().encode("utf-16-le")) // 2
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._queue_message(chat_id, chat_type, user, content)

    def press_button(self, chat_id: int, message_id: int, data: str, *,
                     user_id: int | None = None, chat_type: str = "private",
                     first_name: str = "Lan", username: str | None = None) -> JSON:
        user = self._user(chat_id, user_id, chat_type, first_name, username)
        chat = self._inbound_chat(chat_id, chat_type, user)
        message = self._messages.get((chat_id, message_id)) or {
            "message_id": message_id, "date": int(time.time()), "chat": chat,
            "from": self.bot_user, "text": ""}
        query_id = str(next(self._callback_ids))
        self._open_callbacks.add(query_id)
        return self.queue_raw({"callback_query": {
            "id": query_id, "from": user, "message": copy.deepcopy(message),
            "chat_instance": str(abs(chat_id) * 7919), "data": data}})

    def send_photo(self, chat_id: int, jpeg: bytes, caption: str | None = None, *,
                   user_id: int | None = None, chat_type: str = "private",
                   first_name: str = "Lan", username: str | None = None) -> JSON:
        user = self._user(chat_id, user_id, chat_type, first_name, username)
        content: JSON = {"photo": self._photo_sizes(self._store_file(jpeg, "photos", "jpg"))}
        if caption is not None:
            content["caption"] = caption
        return self._queue_message(chat_id, chat_type, user, content)

    def send_document(self, chat_id: int, data: bytes, file_name: str = "document.pdf",
                      mime_type: str = "application/pdf", caption: str | None = None, *,
                      user_id: int | None = None, chat_type: str = "private",
                      first_name: str = "Lan") -> JSON:
        user = self._user(chat_id, user_id, chat_type, first_name)
        stored = self._store_file(data, "documents", file_name.rsplit(".", 1)[-1])
        content: JSON = {"document": {**stored.describe(), "file_name": file_name,
                                      "mime_type": mime_type}}
        if caption is not None:
            content["caption"] = caption
        return self._queue_message(chat_id, chat_type, user, content)

    def send_location(self, chat_id: int, latitude: float, longitude: float, *,
                      user_id: int | None = None, chat_type: str = "private",
                      first_name: str = "Lan") -> JSON:
        user = self._user(chat_id, user_id, chat_type, first_name)
        location = {"latitude": latitude, "longitude": longitude}
        return self._queue_message(chat_id, chat_type, user, {"location": location})

    def edit_text(self, chat_id: int, message_id: int, text: str, *, user_id: int | None = None,
                  chat_type: str = "private", first_name: str = "Lan") -> JSON:
        user = self._user(chat_id, user_id, chat_type, first_name)
        chat = self._inbound_chat(chat_id, chat_type, user)
        message = self._messages.setdefault((chat_id, message_id), {
            "message_id": message_id, "date": int(time.time()), "chat": chat, "from": user})
        message.update(text=text, edit_date=int(time.time()))
        return self.queue_raw({"edited_message": copy.deepcopy(message)})

    def my_chat_member(self, chat_id: int, user_id: int | None = None,
                       new_status: str = "kicked", *, chat_type: str = "private") -> JSON:
        user = self._user(chat_id, user_id, chat_type, "Lan")
        chat = self._inbound_chat(chat_id, chat_type, user)
        old_status = "kicked" if new_status == "member" else "member"
        if new_status in ("kicked", "left"):
            self.blocked_chats.add(chat_id)
        else:
            self.blocked_chats.discard(chat_id)

        def member(status: str) -> JSON:
            return {"user": self.bot_user, "status": status,
                    **({"until_date": 0} if status == "kicked" else {})}

        return self.queue_raw({"my_chat_member": {
            "chat": chat, "from": user, "date": int(time.time()),
            "old_chat_member": member(old_status), "new_chat_member": member(new_status)}})

    # plumbing

    def _user(self, chat_id: int, user_id: int | None, chat_type: str, first_name: str,
              username: str | None = None, language_code: str | None = "vi") -> JSON:
        if user_id is None:
            if chat_type != "private":
                raise ValueError("messages in groups need a user_id")
            user_id = chat_id
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _inbound_chat(self, chat_id: int, chat_type: str, user: JSON) -> JSON:
        if chat_type == "private":
            chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                chat["username"] = user["username"]
        else:
            chat = self._chats.get(chat_id) or {"id": chat_id, "type": chat_type,
                                                "title": f"Nhóm {abs(chat_id) % 10_000}"}
        self._chats[chat_id] = chat
        return chat

    def _queue_message(self, chat_id: int, chat_type: str, user: JSON, content: JSON) -> JSON:
        chat = self._inbound_chat(chat_id, chat_type, user)
        return self.queue_raw({"message": copy.deepcopy(self._new_message(chat, user, content))})

    def _new_message(self, chat: JSON, sender: JSON, content: JSON) -> JSON:
        numbers = self._message_ids.setdefault(chat["id"], itertools.count(1))
        message = {"message_id": next(numbers), "from": sender, "chat": chat,
                   "date": int(time.time()), **content}
        self._messages[(chat["id"], message["message_id"])] = message
        return message

    def _store_file(self, data: bytes, folder: str, extension: str) -> _StoredFile:
        number = next(self._file_numbers)
        stored = _StoredFile(f"AgACAgUAAx{number:06d}{secrets.token_hex(8)}",
                             f"AQAD{number:06d}", f"{folder}/file_{number}.{extension}", data)
        self._files[stored.file_id] = stored
        return stored

    def _photo_sizes(self, stored: _StoredFile) -> list[JSON]:
        width, height = _image_size(stored.data) or (0, 0)
        return [{**stored.describe(), "width": width, "height": height}]

    def _target(self, params: JSON) -> JSON:
        """The chat a method acts on, or the error Telegram gives for it."""
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if not isinstance(chat_id, int) or chat_id in self.missing_chats:
            raise _bad("chat not found")
        chat = self._chats.get(chat_id)
        if chat is None:
            kind = ("private" if chat_id > 0 else
                    "supergroup" if chat_id <= -1_000_000_000_000 else "group")
            chat = {"id": chat_id, "type": kind}
            chat.update({"first_name": "Lan"} if kind == "private" else {"title": "Nhóm"})
            self._chats[chat_id] = chat
        if chat_id in self.blocked_chats:
            raise ApiError(403, _BLOCKED[chat["type"]])
        return chat

    def _check_rate(self, chat: JSON) -> None:
        limits = self.rate_limits
        if limits is None:
            return
        windows: list[tuple[object, float, int]] = [("all", 1.0, limits.global_per_second)]
        if chat["type"] == "private":
            windows.append((chat["id"], 1.0, limits.private_per_second))
        elif chat["type"] in ("group", "supergroup"):
            windows.append((chat["id"], 60.0, limits.group_per_minute))
        now = self._clock()
        for key, span, limit in windows:
            times = self._windows.setdefault((key, span), deque())
            while times and times[0] <= now - span:
                times.popleft()
            if len(times) >= limit:
                self.rate_limit_violations += 1
                retry = max(1, math.ceil(times[0] + span - now))
                raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)
        for key, span, _ in windows:
            self._windows[(key, span)].append(now)

    def _record(self, method: str, params: JSON, chat: JSON, message: JSON | None) -> None:
        self.sent.append(SentRecord(
            method, chat["id"], params.get("text", params.get("caption")),
            params.get("parse_mode"), params.get("reply_markup"),
            message["message_id"] if message else params.get("message_id"), self._clock(),
            params, copy.deepcopy(message)))
        self.touch()

    def _own_message(self, chat: JSON, params: JSON, missing: str) -> JSON:
        message = self._messages.get((chat["id"], params.get("message_id", 0)))
        if message is None:
            raise _bad(missing)
        if message["from"]["id"] != self.bot_user["id"]:
            raise _bad("message can't be edited")
        return message

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        key = request.match_info["method"].lower()
        if key not in self._methods:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        name, handler = self._methods[key]
        malformed = False
        try:
            params = await _read_params(request)
            await self._interfere(key, ApiError(502, "Bad Gateway"))
            if name in _MESSAGE_METHODS and self._malformed_next:
                self._malformed_next -= 1
                malformed = True
            elif name in _MESSAGE_METHODS and self.random_faults is not None:
                malformed = await self._random_fault(self.random_faults)
            body: JSON = {"ok": True, "result": await handler(params)}
            status = 200
        except ApiError as error:
            body, status = error.body(), error.status
            malformed = False
        self.calls.append((name, status))
        self.touch()
        if malformed:  # sent, but the answer's message has a field of the wrong type
            body["result"] = {**body["result"], "chat": "not an object", "date": "yesterday"}
        return web.json_response(body, status=status)

    async def _random_fault(self, faults: RandomFaults) -> bool:
        """Raise or wait as ``faults`` say for this call; True if its answer is to be
        malformed once the message is sent."""
        draw = self._fault_rng.random()
        for kind, share in (("server_errors", faults.server_errors),
                            ("throttled", faults.throttled), ("slow", faults.slow),
                            ("malformed", faults.malformed)):
            if draw < share:
                self.fault_counts[kind] += 1
                if kind == "server_errors":
                    raise ApiError(500, "Internal Server Error")
                if kind == "throttled":
                    raise ApiError(429, "Too Many Requests: retry after 1", 1)
                if kind == "slow":
                    await asyncio.sleep(faults.slow_seconds)
                return kind == "malformed"
            draw -= share
        return False

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        stored = next((f for f in self._files.values() if f.file_path == path), None)
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(body=stored.data, content_type="application/octet-stream")

    # Bot API methods

    async def _no_op(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _get_updates(self, params: JSON) -> list[JSON]:
        self._check_no_webhook()
        self._poll_generation += 1
        generation = self._poll_generation
        self.touch()  # an older poll still waiting now ends with 409
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        offset = params.get("offset", 0)
        if offset > 0:
            self._pending = [u for u in self._pending if u.get("update_id", 0) >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        limit = min(max(params.get("limit", 100), 1), 100)
        deadline = asyncio.get_running_loop().time() + max(params.get("timeout", 0), 0)
        while True:
            self._check_no_webhook()
            if generation != self._poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; make "
                                    "sure that only one bot instance is running")
            remaining = deadline - asyncio.get_running_loop().time()
            if self._pending or self._stopping.is_set() or remaining <= 0:
                return self._pending[:limit]
            await self._wait_change(remaining)

    def _check_no_webhook(self) -> None:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._target(params)
        text = _visible(params.get("text"), params.get("parse_mode"), MAX_TEXT,
                        "message is too long")
        if not text.strip():
            raise _bad("message text is empty")
        markup = _check_markup(params.get("reply_markup"))
        self._check_rate(chat)
        message = self._new_message(chat, self.bot_user, {"text": text, **_echo(markup)})
        self._record("sendMessage", params, chat, message)
        return message

    async def _send_photo(self, params: JSON) -> JSON:
        chat = self._target(params)
        photo = params.get("photo")
        if isinstance(photo, bytes):
            if _image_size(photo) is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            stored = self._store_file(photo, "photos", "jpg")
        elif isinstance(photo, str) and photo in self._files:
            stored = self._files[photo]
        else:
            raise _bad("wrong file identifier/HTTP URL specified")
        caption = _visible(params.get("caption"), params.get("parse_mode"), MAX_CAPTION,
                           "message caption is too long")
        markup = _check_markup(params.get("reply_markup"))
        self._check_rate(chat)
        content: JSON = {"photo": self._photo_sizes(stored), **_echo(markup)}
        if caption:
            content["caption"] = caption
        message = self._new_message(chat, self.bot_user, content)
        self._record("sendPhoto", params, chat, message)
        return message

    async def _edit_message_text(self, params: JSON) -> JSON:
        chat = self._target(params)
        message = self._own_message(chat, params, "message to edit not found")
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text = _visible(params.get("text"), params.get("parse_mode"), MAX_TEXT,
                        "message is too long")
        if not text.strip():
            raise _bad("message text is empty")
        markup = _echo(_check_markup(params.get("reply_markup")))
        if text == message["text"] and markup.get("reply_markup") == message.get("reply_markup"):
            raise _bad("message is not modified: specified new message content and reply markup "
                       "are exactly the same as a current content and reply markup of the message")
        message.pop("reply_markup", None)
        message.update(text=text, edit_date=int(time.time()), **markup)
        self._record("editMessageText", params, chat, message)
        return message

    async def _edit_reply_markup(self, params: JSON) -> JSON:
        chat = self._target(params)
        message = self._own_message(chat, params, "message to edit not found")
        markup = _echo(_check_markup(params.get("reply_markup")))
        if markup.get("reply_markup") == message.get("reply_markup"):
            raise _bad("message is not modified: specified new message content and reply markup "
                       "are exactly the same as a current content and reply markup of the message")
        message.pop("reply_markup", None)
        message.update(edit_date=int(time.time()), **markup)
        self._record("editMessageReplyMarkup", params, chat, message)
        return message

    async def _delete_message(self, params: JSON) -> bool:
        chat = self._target(params)
        if self._messages.pop((chat["id"], params.get("message_id", 0)), None) is None:
            raise _bad("message to delete not found")
        self._record("deleteMessage", params, chat, None)
        return True

    async def _send_chat_action(self, params: JSON) -> bool:
        chat = self._target(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._record("sendChatAction", params, chat, None)
        return True

    async def _answer_callback(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_callbacks:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._open_callbacks.discard(query_id)
        self.answered_callbacks.append(params)
        return True

    async def _get_file(self, params: JSON) -> JSON:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise _bad("invalid file_id")
        return {**stored.describe(), "file_path": stored.file_path}

    async def _set_webhook(self, params: JSON) -> bool:
        url = str(params.get("url", ""))
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.fullmatch(str(secret)):
            raise _bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = {"url": url, "secret_token": secret,
                        "allowed_updates": params.get("allowed_updates"),
                        "drop_pending_updates": bool(params.get("drop_pending_updates")),
                        "max_connections": params.get("max_connections", 40)}
        self._last_webhook_error = None
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._deliver_to_webhook())
        self.touch()
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = None
        self.touch()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {"url": "", "has_custom_certificate": False,
                      "pending_update_count": len(self._pending)}
        if self.webhook is not None:
            info.update(url=self.webhook["url"], max_connections=self.webhook["max_connections"])
            if self.webhook["allowed_updates"] is not None:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        if self._last_webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._last_webhook_error
        return info

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_commands(self, params: JSON) -> bool:
        commands = params.get("commands") or []
        for command in commands:
            if not _COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
        self.commands[self._commands_key(params)] = commands
        return True

    async def _get_commands(self, params: JSON) -> list[JSON]:
        return self.commands.get(self._commands_key(params), [])

    async def _delete_commands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _deliver_to_webhook(self) -> None:
        """Post pending updates as Telegram does: up to ``max_connections`` at once, one at a
        time per chat (a chat's updates arrive in order), a failed one retried a few times."""
        in_flight: dict[int, asyncio.Task[None]] = {}
        try:
            while self.webhook is not None and not self._stopping.is_set():
                limit = max(1, int(self.webhook["max_connections"] or 40))
                chats: set[object] = set()
                for update in list(self._pending):
                    chat = _chat_of(update)
                    if chat in chats:
                        continue  # an earlier update of this chat is not delivered yet
                    chats.add(chat)
                    key = id(update)
                    if key not in in_flight and len(in_flight) < limit:
                        task = asyncio.create_task(self._post_to_webhook(update))
                        in_flight[key] = task
                        task.add_done_callback(partial(self._posted, in_flight, key))
                await self._wait_change(1.0)
        finally:
            for task in list(in_flight.values()):
                task.cancel()
            await asyncio.gather(*in_flight.values(), return_exceptions=True)

    def _posted(self, in_flight: dict[int, asyncio.Task[None]], key: int,
                _task: asyncio.Task[None]) -> None:
        in_flight.pop(key, None)
        self.touch()

    async def _post_to_webhook(self, update: JSON) -> None:
        assert self._session is not None
        for attempt in range(1, self._webhook_max_attempts + 1):
            webhook = self.webhook
            if webhook is None:
                return
            headers = {"Content-Type": "application/json"}
            if webhook["secret_token"]:
                headers[SECRET_HEADER] = webhook["secret_token"]
            status: int | None = None
            try:
                async with self._session.post(webhook["url"], data=json.dumps(update),
                                              headers=headers,
                                              timeout=aiohttp.ClientTimeout(total=10)) as reply:
                    status = reply.status
                    error = None if 200 <= status < 300 else (
                        f"Wrong response from the webhook: {status} {reply.reason}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc}"
            self.webhook_deliveries.append(WebhookDelivery(update.get("update_id"), status, error))
            if error is not None:
                self._last_webhook_error = (int(time.time()), error)
            if error is None or attempt == self._webhook_max_attempts:
                self._pending[:] = [pending for pending in self._pending if pending is not update]
                self.touch()
                return
            self.touch()
            await asyncio.sleep(self._webhook_retry_delay)
