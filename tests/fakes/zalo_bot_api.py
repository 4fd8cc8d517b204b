"""A fake Zalo Bot Platform API on loopback that the bot's real aiohttp client talks to.

::

    async with FakeZaloBotServer(token="1234567890:secret") as server:
        ...  # PCMT_ZALO_BOT_BASE_URL=server.base_url  (http://127.0.0.1:PORT/bot)

The wire format is Zalo's: every method is a POST of JSON to ``/bot<token>/<method>`` and every
answer ``{ok, result}`` or ``{ok: false, error_code, description}``, with HTTP 200 either way
(an error is told by ``ok``, not by the status) unless a fault says otherwise. A wrong token
gets error 401. Methods: getMe, getUpdates (``timeout`` as a string of seconds; ONE update a
call, no offset; an empty wait ends with error 408; refused while a webhook is set),
setWebhook (``url``, ``secret_token`` of 8-256 characters), deleteWebhook, getWebhookInfo,
sendMessage (``chat_id``, ``text`` of 1-2,000 characters), sendPhoto (``photo`` a URL),
sendSticker, sendChatAction (``typing``, ``upload_photo``). Chats in ``blocked_chats`` get
error 403.

Inbound, each returning the update: ``send_text``, ``send_photo`` (the picture served at a
public URL on this server, in ``photo_url`` as Zalo delivers it or ``photo`` as its docs say),
``send_sticker``, ``send_voice``, ``send_unsupported`` (no content, as for protected
accounts) and ``queue_raw`` for anything at all. Ids are 20-character hex strings, ``date`` is
in epoch milliseconds. While a webhook is set, updates are POSTed to it in order with the
``X-Bot-Api-Secret-Token`` header, flat (``{event_name, message}``, as Zalo delivers) or, with
``wrapped=True``, as ``{ok, result}`` (as its docs show); a non-2xx answer or a failed
connection is tried again up to ``webhook_max_attempts`` times. Every attempt lands in
``webhook_deliveries``.

Observing: ``sent`` (``SentRecord`` per accepted send method), ``messages_to(chat_id)``,
``calls`` ((method, error_code or 0)); ``await wait_until(condition)`` and
``await wait_for_messages(chat_id, n)``. Faults: ``fail_next(method, error_code, count=1,
http_status=200)``, ``delay(method, seconds)``, ``max_poll_seconds`` (how long an empty poll
waits at most, whatever the bot asked for).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes._loopback import LoopbackServer

JSON = dict[str, Any]
SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_TEXT = 2000
_DESCRIPTIONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                 408: "Request timeout", 429: "Quota exceeded", 500: "Internal Server Error",
                 502: "Bad Gateway"}


class ApiError(Exception):
    def __init__(self, code: int, description: str | None = None, http_status: int = 200) -> None:
        super().__init__(description)
        self.code, self.http_status = code, http_status
        self.description = description or _DESCRIPTIONS.get(code, "Error")

    def body(self) -> JSON:
        return {"ok": False, "error_code": self.code, "description": self.description}


@dataclass
class SentRecord:
    method: str
    chat_id: str
    text: str | None
    time: float
    params: JSON = field(repr=False)


@dataclass
class WebhookDelivery:
    message_id: str | None
    status: int | None  # None when the connection failed


Handler = Callable[[JSON], Awaitable[Any]]


def new_id() -> str:
    return secrets.token_hex(10)


class FakeZaloBotServer(LoopbackServer):
    def __init__(self, token: str = "1234567890:fake-zalo-secret",  # noqa: S107
                 *, blocked_chats: Iterable[str] = (), max_poll_seconds: float = 30.0,
                 webhook_max_attempts: int = 3, webhook_retry_delay: float = 0.05) -> None:
        super().__init__()
        self.token = token
        self.bot = {"id": new_id(), "account_name": "bot.pcmt", "account_type": "BASIC",
                    "can_join_groups": False}
        self.blocked_chats = set(blocked_chats)
        self.max_poll_seconds = max_poll_seconds
        self.sent: list[SentRecord] = []
        self.calls: list[tuple[str, int]] = []
        self.webhook: JSON | None = None
        self.wrapped = False
        self.webhook_deliveries: list[WebhookDelivery] = []
        self._webhook_max_attempts, self._webhook_retry_delay = (webhook_max_attempts,
                                                                 webhook_retry_delay)
        self._pending: list[JSON] = []
        self._photos: dict[str, bytes] = {}
        self._session: aiohttp.ClientSession | None = None
        self._pump: asyncio.Task[None] | None = None
        handlers: dict[str, Handler] = {
            "getMe": self._get_me, "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook, "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info, "sendMessage": self._send_message,
            "sendPhoto": self._send_photo, "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action}
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # lifecycle

    @property
    def base_url(self) -> str:
        return f"{self.origin}/bot"

    def _routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/photos/{name}", self._handle_photo)

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

    def messages_to(self, chat_id: str) -> list[SentRecord]:
        return [record for record in self.sent if record.chat_id == chat_id]

    async def wait_for_messages(self, chat_id: str, n: int,
                                timeout: float = 5.0) -> list[SentRecord]:  # noqa: ASYNC109
        await self.wait_until(lambda: len(self.messages_to(chat_id)) >= n, timeout)
        return self.messages_to(chat_id)

    # faults

    def fail_next(self, method: str, error_code: int = 500, *, count: int = 1,
                  http_status: int = 200, description: str | None = None) -> None:
        self._add_fault(method, ApiError(error_code, description, http_status), count)

    def expire_photos(self) -> None:
        """Zalo's links to what people sent expire: every one served so far now is 404."""
        self._photos.clear()

    # inbound

    def queue_raw(self, update: Any) -> Any:
        self._pending.append(update)
        if self.webhook is not None and (self._pump is None or self._pump.done()):
            self._pump = asyncio.create_task(self._deliver_to_webhook())
        self.touch()
        return update

    def _message(self, event: str, chat_id: str, user_id: str | None, chat_type: str,
                 display_name: str, content: JSON) -> JSON:
        message = {"message_id": new_id(), "date": int(time.time() * 1000),
                   "from": {"id": user_id or chat_id, "display_name": display_name,
                            "is_bot": False},
                   "chat": {"id": chat_id, "chat_type": chat_type}, **content}
        update = {"event_name": event, "message": message}
        self.queue_raw(update)
        return update

    def send_text(self, chat_id: str, text: str, *, user_id: str | None = None,
                  chat_type: str = "PRIVATE", display_name: str = "Lan") -> JSON:
        return self._message("message.text.received", chat_id, user_id, chat_type,
                             display_name, {"text": text})

    def photo_url(self, data: bytes) -> str:
        name = f"{new_id()}.jpg"
        self._photos[name] = data
        return f"{self.origin}/photos/{name}"

    def send_photo(self, chat_id: str, jpeg: bytes, caption: str | None = None, *,
                   field: str = "photo_url", display_name: str = "Lan") -> JSON:
        content: JSON = {field: self.photo_url(jpeg)}
        if caption is not None:
            content["caption"] = caption
        return self._message("message.image.received", chat_id, None, "PRIVATE", display_name,
                             content)

    def send_sticker(self, chat_id: str) -> JSON:
        return self._message("message.sticker.received", chat_id, None, "PRIVATE", "Lan",
                             {"sticker": new_id(), "url": f"{self.origin}/photos/sticker"})

    def send_voice(self, chat_id: str) -> JSON:
        return self._message("message.voice.received", chat_id, None, "PRIVATE", "Lan",
                             {"url": f"{self.origin}/photos/voice.aac"})

    def send_unsupported(self, chat_id: str) -> JSON:
        return self._message("message.unsupported.received", chat_id, None, "PRIVATE", "Lan", {})

    # the API

    async def _handle_api(self, request: web.Request) -> web.Response:
        key = request.match_info["method"].lower()
        name = self._methods.get(key, (request.match_info["method"], None))[0]
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401)
            if request.method != "POST" or key not in self._methods:
                raise ApiError(404)
            try:
                params = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: body is not JSON") from None
            if not isinstance(params, dict):
                raise ApiError(400)
            await self._interfere(key, ApiError(502, http_status=502))
            body: JSON = {"ok": True, "result": await self._methods[key][1](params)}
            code, status = 0, 200
        except ApiError as error:
            body, code, status = error.body(), error.code, error.http_status
        self.calls.append((name, code))
        self.touch()
        return web.json_response(body, status=status)

    async def _handle_photo(self, request: web.Request) -> web.Response:
        data = self._photos.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/jpeg")

    async def _get_me(self, params: JSON) -> JSON:
        return self.bot

    async def _get_updates(self, params: JSON) -> JSON:
        if self.webhook is not None:
            raise ApiError(400, "Bad Request: webhook is set, getUpdates is not allowed")
        timeout = params.get("timeout", "0")
        if not isinstance(timeout, str) or not timeout.isdigit():
            raise ApiError(400, "Bad Request: timeout must be a string of seconds")
        deadline = asyncio.get_running_loop().time() + min(int(timeout), self.max_poll_seconds)
        while not self._pending:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self._stopping.is_set():
                raise ApiError(408)
            await self._wait_change(remaining)
        update: JSON = self._pending.pop(0)
        return update

    async def _set_webhook(self, params: JSON) -> bool:
        url, secret = params.get("url"), params.get("secret_token")
        if not isinstance(url, str) or not url.startswith(("https://", "http://127.0.0.1")):
            raise ApiError(400, "Bad Request: url must be HTTPS")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise ApiError(400, "Bad Request: secret_token must be 8-256 characters")
        self.webhook = {"url": url, "secret_token": secret}
        if self._pending:
            self._pump = asyncio.create_task(self._deliver_to_webhook())
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        self.webhook = None
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        return {"url": self.webhook["url"] if self.webhook else ""}

    def _chat(self, params: JSON) -> str:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            raise ApiError(400, "Bad Request: chat_id is required")
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: the user cannot receive messages from this bot")
        return chat_id

    def _record(self, method: str, chat_id: str, text: str | None, params: JSON) -> JSON:
        self.sent.append(SentRecord(method, chat_id, text, time.monotonic(), params))
        self.touch()
        return {"message_id": new_id(), "date": int(time.time() * 1000)}

    async def _send_message(self, params: JSON) -> JSON:
        chat_id, text = self._chat(params), params.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
            raise ApiError(400, "Bad Request: text must be 1-2000 characters")
        return self._record("sendMessage", chat_id, text, params)

    async def _send_photo(self, params: JSON) -> JSON:
        chat_id, photo = self._chat(params), params.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: photo must be a URL")
        return self._record("sendPhoto", chat_id, params.get("caption"), params)

    async def _send_sticker(self, params: JSON) -> JSON:
        return self._record("sendSticker", self._chat(params), None, params)

    async def _send_chat_action(self, params: JSON) -> bool:
        self._chat(params)
        if params.get("action") not in ("typing", "upload_photo"):
            raise ApiError(400, "Bad Request: unknown action")
        return True

    # the webhook

    async def _deliver_to_webhook(self) -> None:
        while self.webhook is not None and self._pending and not self._stopping.is_set():
            update = self._pending.pop(0)
            for attempt in range(self._webhook_max_attempts):
                if await self._post_to_webhook(update):
                    break
                if attempt + 1 < self._webhook_max_attempts:
                    await asyncio.sleep(self._webhook_retry_delay)

    async def _post_to_webhook(self, update: Any) -> bool:
        assert self.webhook is not None and self._session is not None
        message = update.get("message") if isinstance(update, dict) else None
        message_id = message.get("message_id") if isinstance(message, dict) else None
        body = {"ok": True, "result": update} if self.wrapped else update
        try:
            async with self._session.post(
                    self.webhook["url"], data=json.dumps(body),
                    headers={"Content-Type": "application/json",
                             SECRET_HEADER: self.webhook["secret_token"]}) as reply:
                status: int | None = reply.status
        except aiohttp.ClientError:
            status = None
        self.webhook_deliveries.append(WebhookDelivery(message_id, status))
        self.touch()
        return status is not None and 200 <= status < 300
