"""A fake Zalo Official Account platform on loopback: OAuth v4, the OA API's message
endpoint, and signed webhook deliveries, which the bot's real aiohttp client talks to.

::

    async with FakeZaloOaServer(clock=clock) as server:
        ...  # PCMT_ZALO_OA_API_URL=server.origin, PCMT_ZALO_OA_OAUTH_URL=server.origin
        token = server.issue_refresh_token()  # what the developer console's consent gives

The wire format is Zalo's. ``POST /v4/oa/access_token``: form ``app_id``, ``refresh_token``,
``grant_type=refresh_token``, header ``secret_key`` (the app secret); answers
``{access_token, refresh_token, expires_in}`` (a string of seconds) and takes each refresh
token ONCE: a reused, unknown or expired one gets ``{error: -14014, error_name,
error_description}``. ``POST /v3.0/oa/message/cs``: header ``access_token``, JSON
``{recipient: {message_id | user_id}, message: {text, attachment?}}``; answers HTTP 200 with
``{error: 0, message: "Success", data: {message_id, user_id}}`` or ``{error: <code>,
message}``: -216 for an unknown or expired access token, -201 for a bad parameter (no text,
text over 2,000 characters, a template with more than 5 buttons or an unknown button type),
-213 for someone who does not follow the OA, -230 for someone who has not written in 7 days,
-232 for a reply to a message older than 48 hours or past its 8 free replies, -211 once the
proactive ``quota`` is spent.

Inbound: ``send_text``, ``tap`` (a button's payload, as Zalo delivers a tap: a
``user_send_text``), ``send_image`` (of a picture served by ``photo_url``),
``send_location``, ``send_sticker``, ``follow``, ``unfollow`` and ``deliver_raw``; each is
POSTed to ``webhook_url`` signed ``X-ZEvent-Signature: mac=sha256(app_id + body + timestamp
+ secret_key)`` and returns the HTTP status. ``sign`` makes a signature for a forged test.

Observing: ``sent`` (``SentMessage`` per accepted message), ``messages_to(user_id)``,
``refreshes`` ((refresh token, accepted)), ``proactive_sent``; ``await wait_until(...)``,
``await wait_for_messages(user_id, n)``. Faults: ``fail_next("send" | "refresh", code,
count=1)``, ``delay(...)``, ``expire_access_tokens()``, ``age(user_id, **delta)`` (their last
message moves back in time).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes._loopback import LoopbackServer

JSON = dict[str, Any]
APP_ID = "4312987650123456789"
APP_SECRET = "fake-zalo-app-secret"
SECRET_KEY = "fake-oa-secret-key"
SIGNATURE_HEADER = "X-ZEvent-Signature"
MAX_TEXT = 2000
ACCESS_LIFE = timedelta(seconds=90_000)
REFRESH_LIFE = timedelta(days=90)
FREE_WINDOW = timedelta(hours=48)
FREE_REPLIES = 8
REACHABLE = timedelta(days=7)
_BUTTONS = frozenset({"oa.query.show", "oa.query.hide", "oa.open.url", "oa.open.phone"})


class OaFault(Exception):
    def __init__(self, code: int, message: str = "fault") -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class SentMessage:
    user_id: str
    text: str
    buttons: list[JSON]
    free: bool
    """Sent as a reply quoting the person's message (not proactive)."""
    at: datetime
    body: JSON = field(repr=False)


@dataclass
class Person:
    following: bool = True
    heard_at: datetime | None = None
    messages: dict[str, datetime] = field(default_factory=dict)
    free_used: dict[str, int] = field(default_factory=dict)


def new_user_id() -> str:
    return str(1_000_000_000_000_000_000 + secrets.randbelow(8_000_000_000_000_000_000))


class FakeZaloOaServer(LoopbackServer):
    def __init__(self, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 app_id: str = APP_ID, app_secret: str = APP_SECRET,
                 secret_key: str = SECRET_KEY, quota: int = 10_000,
                 access_life: timedelta = ACCESS_LIFE) -> None:
        super().__init__()
        self.clock = clock
        self.app_id, self.app_secret, self.secret_key = app_id, app_secret, secret_key
        self.quota = quota
        self.access_life = access_life
        self.webhook_url: str | None = None
        self.sent: list[SentMessage] = []
        self.refreshes: list[tuple[str, bool]] = []
        self.proactive_sent = 0
        self.people: dict[str, Person] = {}
        self._refresh_tokens: dict[str, datetime] = {}
        self._access_tokens: dict[str, datetime] = {}
        self._photos: dict[str, bytes] = {}
        self._authors: dict[str, str] = {}
        self._session: aiohttp.ClientSession | None = None

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/v4/oa/access_token", self._token)
        app.router.add_post("/v3.0/oa/message/cs", self._message)
        app.router.add_get("/photos/{name}", self._photo)

    def photo_url(self, data: bytes) -> str:
        """A public address of ``data``, as Zalo's CDN serves what people send."""
        name = f"{secrets.token_hex(8)}.jpg"
        self._photos[name] = data
        return f"{self.origin}/photos/{name}"

    async def _photo(self, request: web.Request) -> web.Response:
        data = self._photos.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/jpeg")

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await super().stop()

    # --- OAuth -------------------------------------------------------------------------

    def issue_refresh_token(self) -> str:
        """A refresh token as the OAuth consent in the developer console hands it out."""
        token = secrets.token_urlsafe(48)
        self._refresh_tokens[token] = self.clock() + REFRESH_LIFE
        return token

    def expire_access_tokens(self) -> None:
        """Every access token handed out so far stops working (-216)."""
        self._access_tokens.clear()

    def fail_next(self, call: str, code: int, count: int = 1) -> None:
        self._add_fault(call, OaFault(code), count)

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        try:
            await self._interfere("refresh", OaFault(-1))
        except OaFault as fault:
            return web.json_response({"error": fault.code, "error_name": fault.message})
        token = str(form.get("refresh_token", ""))
        valid = (request.headers.get("secret_key") == self.app_secret
                 and form.get("app_id") == self.app_id
                 and form.get("grant_type") == "refresh_token"
                 and self._refresh_tokens.get(token, self.clock()) > self.clock())
        self.refreshes.append((token, valid))
        self.touch()
        if not valid:
            return web.json_response({"error": -14014, "error_name": "Invalid refresh token",
                                      "error_description": "refresh token is invalid"})
        del self._refresh_tokens[token]  # single use
        access = secrets.token_urlsafe(64)
        self._access_tokens[access] = self.clock() + self.access_life
        return web.json_response({
            "access_token": access, "refresh_token": self.issue_refresh_token(),
            "expires_in": str(int(self.access_life.total_seconds()))})

    # --- messages out ----------------------------------------------------------------------

    async def _message(self, request: web.Request) -> web.Response:
        try:
            await self._interfere("send", OaFault(-1))
            body = await request.json()
            data = self._accept(request.headers.get("access_token", ""), body)
        except OaFault as fault:
            return web.json_response({"error": fault.code, "message": fault.message})
        except ValueError:
            return web.json_response({"error": -201, "message": "body is not JSON"})
        self.touch()
        return web.json_response({"error": 0, "message": "Success", "data": data})

    def _accept(self, access_token: str, body: Any) -> JSON:
        now = self.clock()
        if self._access_tokens.get(access_token, now) <= now:
            raise OaFault(-216, "Access token is invalid")
        recipient, message = body.get("recipient"), body.get("message")
        if not isinstance(recipient, dict) or not isinstance(message, dict):
            raise OaFault(-201, "recipient and message are required")
        text = message.get("text")
        if not isinstance(text, str) or not text or len(text) > MAX_TEXT:
            raise OaFault(-201, "text must be 1 to 2000 characters")
        buttons = self._buttons(message.get("attachment"))
        free = "message_id" in recipient
        if free:
            user_id = self._replied_to(str(recipient["message_id"]), now)
        else:
            user_id = str(recipient.get("user_id"))
            person = self.people.get(user_id)
            if person is None or not person.following:
                raise OaFault(-213, "User has not followed OA")
            if person.heard_at is None or now - person.heard_at >= REACHABLE:
                raise OaFault(-230, "User has not interacted with the OA in the past 7 days")
            if self.proactive_sent >= self.quota:
                raise OaFault(-211, "Out of quota")
            self.proactive_sent += 1
        self.sent.append(SentMessage(user_id, text, buttons, free, now, body))
        return {"message_id": secrets.token_hex(16), "user_id": user_id}

    def _replied_to(self, message_id: str, now: datetime) -> str:
        """Whose message ``message_id`` is, one more free reply counted on it."""
        user_id = self._authors.get(message_id)
        if user_id is None:
            raise OaFault(-201, "unknown message_id")
        person = self.people[user_id]
        used = person.free_used.get(message_id, 0)
        if now - person.messages[message_id] >= FREE_WINDOW or used >= FREE_REPLIES:
            raise OaFault(-232, "The message can no longer be replied to")
        person.free_used[message_id] = used + 1
        return user_id

    @staticmethod
    def _buttons(attachment: Any) -> list[JSON]:
        if attachment is None:
            return []
        payload = attachment.get("payload") if isinstance(attachment, dict) else None
        buttons = payload.get("buttons") if isinstance(payload, dict) else None
        if attachment.get("type") != "template" or not isinstance(buttons, list) \
                or not 1 <= len(buttons) <= 5:
            raise OaFault(-201, "a template takes 1 to 5 buttons")
        for button in buttons:
            if not (isinstance(button, dict) and button.get("type") in _BUTTONS
                    and isinstance(button.get("title"), str)
                    and 0 < len(button["title"]) <= 100):
                raise OaFault(-201, "invalid button")
        return buttons

    def messages_to(self, user_id: str) -> list[SentMessage]:
        return [message for message in self.sent if message.user_id == user_id]

    async def wait_for_messages(self, user_id: str, count: int,
                                timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await self.wait_until(lambda: len(self.messages_to(user_id)) >= count, timeout)

    def age(self, user_id: str, **delta: float) -> None:
        """Move the person's messages back in time, as if they wrote that long ago."""
        person = self.people[user_id]
        back = timedelta(**delta)
        person.messages = {key: at - back for key, at in person.messages.items()}
        if person.heard_at is not None:
            person.heard_at -= back

    # --- events in ----------------------------------------------------------------------

    def sign(self, raw: bytes, timestamp: str) -> str:
        return hashlib.sha256(self.app_id.encode() + raw + timestamp.encode()
                              + self.secret_key.encode()).hexdigest()

    def _event(self, event_name: str, user_id: str, message: JSON | None = None) -> JSON:
        body: JSON = {"app_id": self.app_id, "user_id_by_app": f"app{user_id}",
                      "event_name": event_name, "sender": {"id": user_id},
                      "recipient": {"id": "579745863508352884"},
                      "timestamp": str(int(self.clock().timestamp() * 1000))}
        if message is not None:
            body["message"] = message
        return body

    def _heard(self, user_id: str) -> tuple[Person, str]:
        person = self.people.setdefault(user_id, Person())
        message_id = secrets.token_hex(16)
        person.messages[message_id] = person.heard_at = self.clock()
        self._authors[message_id] = user_id
        return person, message_id

    def text_event(self, user_id: str, text: str) -> JSON:
        """The body of a ``user_send_text`` the person just sent, not delivered yet."""
        _, message_id = self._heard(user_id)
        return self._event("user_send_text", user_id, {"msg_id": message_id, "text": text})

    async def send_text(self, user_id: str, text: str) -> int:
        return await self.deliver(self.text_event(user_id, text))

    async def tap(self, user_id: str, button: JSON) -> int:
        """Tap a button the bot sent: Zalo sends its payload as the person's text."""
        return await self.send_text(user_id, str(button["payload"]))

    async def send_image(self, user_id: str, url: str, caption: str = "") -> int:
        _, message_id = self._heard(user_id)
        return await self.deliver(self._event("user_send_image", user_id, {
            "msg_id": message_id, "text": caption,
            "attachments": [{"type": "image", "payload": {"url": url, "thumbnail": url}}]}))

    async def send_location(self, user_id: str, latitude: float, longitude: float) -> int:
        _, message_id = self._heard(user_id)
        return await self.deliver(self._event("user_send_location", user_id, {
            "msg_id": message_id, "attachments": [{"type": "location", "payload": {
                "coordinates": {"latitude": str(latitude), "longitude": str(longitude)}}}]}))

    async def send_sticker(self, user_id: str) -> int:
        _, message_id = self._heard(user_id)
        return await self.deliver(self._event("user_send_sticker", user_id, {
            "msg_id": message_id, "attachments": [{"type": "sticker", "payload": {
                "id": "abc", "url": "https://zalo.example/sticker"}}]}))

    async def follow(self, user_id: str, following: bool = True) -> int:
        self.people.setdefault(user_id, Person()).following = following
        body = self._event("follow" if following else "unfollow", user_id)
        body["follower"] = body.pop("sender")
        return await self.deliver(body)

    async def unfollow(self, user_id: str) -> int:
        return await self.follow(user_id, following=False)

    async def deliver(self, body: JSON, *, signature: str | None = "",
                      headers: Iterable[tuple[str, str]] = ()) -> int:
        """POST ``body`` to the webhook, signed (``signature=""``), with a given signature,
        or with none (``None``); the HTTP status."""
        raw = json.dumps(body, ensure_ascii=False).encode()
        return await self.deliver_raw(raw, signature=signature, headers=headers,
                                      timestamp=str(body.get("timestamp", "")))

    async def deliver_raw(self, raw: bytes, *, timestamp: str, signature: str | None = "",
                          headers: Iterable[tuple[str, str]] = ()) -> int:
        assert self.webhook_url is not None, "set webhook_url as the developer console does"
        sent = dict(headers)
        sent["Content-Type"] = "application/json"
        if signature is not None:
            sent[SIGNATURE_HEADER] = f"mac={signature or self.sign(raw, timestamp)}"
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(self.webhook_url, data=raw, headers=sent) as reply:
            return reply.status
