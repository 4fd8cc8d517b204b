"""The Zalo Official Account channel: a signed webhook on the bot's web server, replies and
proactive messages through the OA API with tokens that rotate.

Zalo posts each event to ``PCMT_PUBLIC_URL/zalo/oa/webhook`` with ``X-ZEvent-Signature``;
the signature is checked on the raw bytes in constant time, a stale timestamp is refused
like a forged one (a replayed delivery), a message id seen already is answered once, and the
answer is 200 at once with the work done behind it: Zalo delivers again what is not answered
within about two seconds. The webhook itself is registered by hand in the Zalo developer
console (the OA API offers no call for it).

Events of one person are handled in turn, different people side by side. A reply that fails
for a passing reason goes to the outbox. Tokens that Zalo no longer takes put the channel down
(``/healthz``) with one line saying how to connect the OA again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial

from aiohttp import web

from bot import logs
from bot.channels import inbound
from bot.channels.base import Lifecycle
from bot.channels.zalo_oa._oa_client import OaClient, OaError
from bot.channels.zalo_oa._oa_events import (
    CHANNEL,
    Event,
    Ignored,
    Membership,
    Received,
    given_signature,
    read,
    signature,
    timestamp_of,
)
from bot.channels.zalo_oa._outgoing import MAX_BUTTONS, Outgoing
from bot.channels.zalo_oa._tokens import NotConnected, Tokens
from bot.channels.zalo_shared import MAX_TEXT
from bot.conversation.dispatch import Dispatcher, utc_now
from bot.conversation.i18n import gettext, use_language
from bot.conversation.messages import Attachment, Capabilities, Reply
from bot.errors import ConfigError, RetryLater
from bot.security.identity import seal_at_rest
from bot.store import outbox, zalo_oa
from bot.web import WebServer

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/zalo/oa/webhook"
SIGNATURE_HEADER = "X-ZEvent-Signature"
# Buttons that send back their number: a template holds five, longer lists are paged.
CAPABILITIES = Capabilities(buttons=True, numbers=True, max_options=MAX_BUTTONS,
                            payload_bytes=64, editing=False, photos_in=True, photos_out=False,
                            text_limit=MAX_TEXT)
MAX_WEBHOOK_BODY = 64 * 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
STALE_MS = 15 * 60 * 1000
"""A delivery signed longer ago than this (or as far ahead) is refused as a replay."""
TOKEN_CHECK_SECONDS = 600.0
BACKOFF = (1.0, 300.0)


class ZaloOaChannel(Lifecycle):
    """``async with ZaloOaChannel(dispatcher) as channel``; :meth:`install_routes` must have
    been called on the (not yet started) web server first. :meth:`send` is what outbox
    delivery uses."""

    name = CHANNEL
    capabilities = CAPABILITIES
    limiter = None  # Zalo publishes no budget for the OA; its rate-limit answers pause the sender

    def __init__(self, dispatcher: Dispatcher, *,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.dispatcher = dispatcher
        self.services = dispatcher.services
        settings = self.services.settings
        app_id = settings.zalo_oa_app_id
        if app_id is None:
            raise ConfigError("PCMT_ZALO_OA_APP_ID", "is not set")
        for setting, value in (("PCMT_ZALO_OA_APP_SECRET", settings.zalo_oa_app_secret),
                               ("PCMT_ZALO_OA_SECRET_KEY", settings.zalo_oa_secret_key),
                               ("PCMT_PUBLIC_URL", settings.public_url),
                               ("PCMT_WEB_PORT", settings.web_port)):
            if value is None:
                raise ConfigError(setting, "must be set for the Zalo OA channel")
        assert settings.zalo_oa_app_secret is not None and settings.zalo_oa_secret_key is not None
        self.app_id = app_id
        self._secret_key = settings.zalo_oa_secret_key.get_secret_value()
        self.clock = clock
        self.client = OaClient(api_url=settings.zalo_oa_api_url,
                               oauth_url=settings.zalo_oa_oauth_url, app_id=app_id,
                               app_secret=settings.zalo_oa_app_secret.get_secret_value(),
                               timeout=settings.zalo_oa_timeout_seconds,
                               connections=settings.zalo_oa_concurrency)
        self.tokens = Tokens(dispatcher.store, self.services.keyring, self.client, clock)
        self._out = Outgoing(self.client, self.tokens, dispatcher, clock=clock,
                             backoff_base=BACKOFF[0], backoff_cap=BACKOFF[1],
                             on_disconnected=self._disconnected)
        self._in_turn = inbound.InTurn(settings.zalo_oa_concurrency, CHANNEL)
        self._inbox = inbound.Inbox(dispatcher, CHANNEL)
        self._tasks: list[asyncio.Task[None]] = []
        self._accepting = False
        self._ready = False
        self._connected = True

    @property
    def addresses(self) -> Collection[str] | None:
        return None  # any follower of the OA

    # --- lifecycle ----------------------------------------------------------------------

    async def initialize(self) -> None:
        """Check that the OA is connected (a token, refreshed now if it is about to expire)."""
        await self.client.open()
        try:
            await self.tokens.access_token()
        except NotConnected as exc:
            await self.client.close()
            raise ConfigError("PCMT_ZALO_OA_APP_ID", str(exc)) from None
        except OaError as exc:
            await self.client.close()
            raise ConfigError("PCMT_ZALO_OA_OAUTH_URL",
                              f"Zalo did not answer ({exc.reason})") from None
        self._ready = True

    def install_routes(self, server: WebServer) -> None:
        server.add_check(CHANNEL, self.alive)
        server.app.router.add_post(WEBHOOK_PATH, self._webhook)

    def alive(self) -> bool:
        """False once Zalo no longer takes the OA's tokens."""
        return self._connected

    async def start(self) -> None:
        self._accepting = True
        self._tasks = [asyncio.create_task(inbound.keep_tidy(self.dispatcher, CHANNEL)),
                       asyncio.create_task(self._keep_token()),
                       asyncio.create_task(self._inbox.watch(self._replay))]
        logs.event(log, "zalo_oa.started")

    async def stop(self) -> None:
        """Stop taking events, finish the ones in flight, close connections; safe twice."""
        self._accepting = False
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._in_turn.drain()
        if self._ready:
            self._ready = False
            await self.client.close()
            logs.event(log, "zalo_oa.stopped")

    async def _keep_token(self) -> None:
        """Refresh the token ahead of its expiry even when nothing is sent, which also keeps
        the refresh token (three months) from running out on a quiet OA."""
        while True:
            await asyncio.sleep(TOKEN_CHECK_SECONDS)
            try:
                await self.tokens.access_token()
                self._connected = True
            except NotConnected:
                self._disconnected()
            except OaError as exc:
                logs.event(log, "zalo_oa.refresh_failed", logging.WARNING, reason=exc.reason)

    def _disconnected(self) -> None:
        self._connected = False

    # --- events in ----------------------------------------------------------------------

    async def _webhook(self, request: web.Request) -> web.Response:
        given = given_signature(request.headers.get(SIGNATURE_HEADER, ""))
        if not given:
            logs.event(log, "zalo_oa.webhook_refused", logging.WARNING, why="unsigned")
            return web.Response(status=401)
        if (request.content_length or 0) > MAX_WEBHOOK_BODY:
            return web.Response(status=413)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413)
        if len(raw) > MAX_WEBHOOK_BODY:
            return web.Response(status=413)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            body = None
        timestamp = timestamp_of(body)
        expected = signature(self.app_id, raw, timestamp or "", self._secret_key)
        if not inbound.secret_matches(given.lower(), expected):
            logs.event(log, "zalo_oa.webhook_refused", logging.WARNING, why="signature")
            return web.Response(status=401)
        if timestamp is None or abs(self.clock().timestamp() * 1000 - int(timestamp)) > STALE_MS:
            logs.event(log, "zalo_oa.webhook_refused", logging.WARNING, why="stale")
            return web.Response(status=401)
        if not self._accepting:
            return web.Response(status=503)  # Zalo delivers it again, maybe elsewhere
        try:
            await self._accept(body)
        except Exception as exc:  # not kept, so not acknowledged: Zalo sends it again
            logs.event(log, "zalo_oa.inbox_failed", logging.ERROR, error=type(exc).__name__)
            return web.Response(status=503)
        return web.Response(status=200)

    async def _accept(self, body: object) -> None:
        """Read ``body``, commit it to the inbox (raising if the store fails) and queue its
        work behind the person's previous event; one recorded before is a replay."""
        event = read(body)
        if isinstance(event, Ignored):
            logs.event(log, "zalo_oa.update_ignored", reason=event.reason)
            return
        number = event.update_id if not isinstance(event, Membership) else None
        [row] = await self._inbox.record([(number, body)])
        if row is None:
            logs.event(log, "zalo_oa.update_replayed")
            return
        await self._submit(row, event)

    async def _replay(self, row: int, body: object) -> None:
        """An event a dead process recorded and did not finish: handled here instead."""
        await self._submit(row, read(body))

    async def _submit(self, row: int | None, event: Event) -> None:
        if isinstance(event, Ignored):
            await self._inbox.done(row)
            return
        chat_id = event.incoming.chat_id if isinstance(event, Received) else event.chat_id
        await self._in_turn.submit(chat_id,
                                   partial(self._inbox.handle, row, partial(self._handle, event)))

    async def _handle(self, event: Event) -> None:
        if isinstance(event, Membership):
            await inbound.membership(self.dispatcher, CHANNEL, event.chat_id,
                                     reachable=event.following)
            return
        if isinstance(event, Ignored):
            return
        chat_id = event.incoming.chat_id if isinstance(event, Received) else event.chat_id
        await self._heard(chat_id, event.message_id)
        if isinstance(event, Received):
            incoming = event.incoming
            if event.photo:
                incoming = replace(incoming, attachments=(await self._download(event.photo_url),))
            replies = await self.dispatcher.handle(incoming, update_id=event.update_id)
        else:
            if not await inbound.first_sight(self.dispatcher, CHANNEL, event.update_id):
                logs.event(log, "zalo_oa.update_replayed")
                return
            language = await inbound.language_of(self.dispatcher, CHANNEL, chat_id, chat_id)
            with use_language(language):
                replies = [Reply(gettext("zalo_bot.unsupported"))]
        await self._answer(event.update_id, chat_id, replies)

    async def _heard(self, chat_id: str, message_id: str) -> None:
        """The person wrote: replies quoting this message are free for a while, and what was
        held for them while their window was closed is due now."""
        now = self.clock()
        pseudonyms = self.services.pseudonyms
        async with self.dispatcher.store.transaction() as conn:
            await zalo_oa.heard(conn, pseudonyms.window(CHANNEL, chat_id),
                                pseudonyms.message(CHANNEL, message_id),
                                seal_at_rest(self.services.keyring, message_id), now)
            released = await outbox.release_held(conn, CHANNEL,
                                                 pseudonyms.held(CHANNEL, chat_id), now)
        if released:
            logs.event(log, "zalo_oa.held_released", messages=released)

    async def _download(self, url: str | None) -> Attachment:
        """The picture a person sent, or a described one (no data) that the handler asks
        for again: no link, a failed download, or over the size limit."""
        described = Attachment("photo")
        if url is None:
            return described
        try:
            data = await self.client.download(url, MAX_PHOTO_BYTES)
        except OaError as exc:
            logs.event(log, "zalo_oa.download_failed", logging.WARNING, reason=exc.reason)
            return described
        if data is None:
            return replace(described, size=MAX_PHOTO_BYTES + 1)
        return Attachment("photo", data, None, len(data))

    # --- replies out ----------------------------------------------------------------------

    async def _answer(self, update_id: int, chat_id: str, replies: Sequence[Reply]) -> None:
        await inbound.answer(self.dispatcher, CHANNEL, chat_id, update_id, replies,
                             partial(self._out.deliver, chat_id))

    async def send(self, chat_id: str, reply: Reply) -> None:
        """Deliver ``reply`` to ``chat_id``; raises RetryLater, Unreachable (OutsideWindow
        among them) or Undeliverable."""
        if not self._ready:
            raise RetryLater("zalo_oa channel not running")
        await self._out.deliver(chat_id, reply)
