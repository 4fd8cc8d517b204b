"""The Zalo Bot Platform channel: long polling, or a webhook on the bot's web server.

Polling asks ``getUpdates`` again and again; each call hands over at most one update, and an
empty wait comes back as error 408, which means only that nothing arrived. A webhook is used
when ``PCMT_PUBLIC_URL`` is set (or ``PCMT_ZALO_BOT_MODE=webhook``): Zalo posts each update
with the secret in a header, the bot commits it to the inbox, answers 200 and does the work
behind it (a polled update is recorded as it arrives). The two
exclude each other on Zalo's side, so polling starts only once no webhook is registered.

Updates of one chat are handled in turn, different chats side by side. A reply that fails for
a passing reason goes to the outbox. A token Zalo rejects stops the channel (one log line, and
``/healthz`` reports it down) rather than asking again forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import replace
from functools import partial

from aiohttp import web

from bot import logs
from bot.channels import inbound
from bot.channels.base import Lifecycle
from bot.channels.ratelimit import backoff
from bot.channels.zalo_bot._api import BotApi, ZaloError
from bot.channels.zalo_bot._errors import token_rejected
from bot.channels.zalo_bot._outgoing import MAX_TEXT, Outgoing
from bot.channels.zalo_bot._updates import (
    CHANNEL,
    Event,
    Ignored,
    NotUnderstood,
    Received,
    read,
    unwrap,
)
from bot.conversation.dispatch import Dispatcher
from bot.conversation.i18n import gettext, use_language
from bot.conversation.messages import Attachment, Capabilities, Reply
from bot.errors import ConfigError, RetryLater
from bot.web import WebServer

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/zalo/bot/webhook"
SECRET_HEADER = "X-Bot-Api-Secret-Token"  # noqa: S105 - a header name
# No buttons: options are numbered lines, nine at most before a list is paged, so that one
# digit picks any of them.
CAPABILITIES = Capabilities(buttons=False, max_options=9, payload_bytes=64, editing=False,
                            photos_in=True, photos_out=False, text_limit=MAX_TEXT)
POLL_TIMEOUT = 30
"""Seconds a long poll waits for news before asking again."""
MAX_WEBHOOK_BODY = 64 * 1024
"""Largest webhook body read: an update is well under a kilobyte (text is at most 2,000
characters)."""


class ZaloBotChannel(Lifecycle):
    """``async with ZaloBotChannel(dispatcher) as channel`` initialises and starts it; in
    webhook mode, :meth:`install_routes` must have been called on the (not yet started) web
    server first. :meth:`send` is what outbox delivery uses."""

    name = CHANNEL
    capabilities = CAPABILITIES
    limiter = None  # Zalo publishes no budget; its rate-limit answers pause the sender

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.services = dispatcher.services
        settings = self.services.settings
        if settings.zalo_bot_token is None:
            raise ConfigError("PCMT_ZALO_BOT_TOKEN", "is not set")
        webhook = settings.zalo_bot_mode == "webhook" or (
            settings.zalo_bot_mode == "auto" and settings.public_url is not None)
        if webhook and settings.public_url is None:
            raise ConfigError("PCMT_PUBLIC_URL", "must be set when PCMT_ZALO_BOT_MODE=webhook")
        if webhook and settings.web_port is None:
            raise ConfigError("PCMT_WEB_PORT",
                              "must be set when the Zalo Bot channel takes a webhook")
        token = settings.zalo_bot_token.get_secret_value()
        self.webhook_url = (settings.public_url.rstrip("/") + WEBHOOK_PATH
                            if webhook and settings.public_url is not None else None)
        secret = settings.zalo_bot_webhook_secret
        self._secret = (secret.get_secret_value() if secret is not None
                        else inbound.webhook_secret(token, CHANNEL))
        self.max_file_bytes = settings.zalo_bot_max_file_bytes
        self._backoff = (settings.zalo_bot_backoff_seconds, settings.zalo_bot_backoff_max_seconds)
        self.api = BotApi(token, settings.zalo_bot_base_url, settings.zalo_bot_timeout_seconds,
                          settings.zalo_bot_concurrency)
        self._out = Outgoing(self.api, dispatcher, backoff_base=self._backoff[0],
                             backoff_cap=self._backoff[1], on_token_rejected=self._token_rejected)
        self._in_turn = inbound.InTurn(settings.zalo_bot_concurrency, CHANNEL)
        self._inbox = inbound.Inbox(dispatcher, CHANNEL)
        self._polling: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._accepting = False
        self._started = False
        self._rejected = False
        self._ready = False
        self._last_poll = 0.0
        # A poll lasts POLL_TIMEOUT plus the request timeout, and after failures the loop
        # waits up to the backoff cap: a longer silence means the loop has stopped.
        self._poll_patience = (POLL_TIMEOUT + 2 * settings.zalo_bot_timeout_seconds
                               + settings.zalo_bot_backoff_max_seconds)

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook_url is not None else "polling"

    @property
    def addresses(self) -> Collection[str] | None:
        return None  # any Zalo chat

    # --- lifecycle ----------------------------------------------------------------------

    async def initialize(self) -> None:
        """Check the token with Zalo (getMe)."""
        await self.api.open()
        try:
            await self.api.get_me()
        except ZaloError as exc:
            await self.api.close()
            if token_rejected(exc):
                raise ConfigError("PCMT_ZALO_BOT_TOKEN", "rejected by Zalo") from None
            raise ConfigError("PCMT_ZALO_BOT_BASE_URL",
                              f"Zalo did not answer ({exc.reason})") from None
        self._ready = True

    def install_routes(self, server: WebServer) -> None:
        """Add the webhook route (in webhook mode) and this channel's health check. Call
        before the server starts."""
        server.add_check(CHANNEL, self.alive)
        if self.webhook_url is not None:
            server.app.router.add_post(WEBHOOK_PATH, self._webhook)

    def alive(self) -> bool:
        """Whether updates are being taken: false once the token was rejected, or (polling)
        once the loop that asks for updates has ended or gone silent."""
        if self._rejected:
            return False
        if not self._accepting:
            return not self._started  # not started yet, or stopped on purpose
        if self.webhook_url is not None:
            return True
        if self._polling is None or self._polling.done():
            return False
        return time.monotonic() - self._last_poll < self._poll_patience

    async def start(self) -> None:
        """Register the webhook with Zalo, or start polling once none is registered."""
        try:
            if self.webhook_url is not None:
                await self.api.set_webhook(self.webhook_url, self._secret)
            elif await self.api.webhook_url():
                # A webhook left by an earlier deployment: Zalo refuses polls while it exists.
                await self.api.delete_webhook()
                logs.event(log, "zalo_bot.webhook_removed", logging.WARNING)
        except ZaloError as exc:
            raise ConfigError("PCMT_PUBLIC_URL" if self.webhook_url else "PCMT_ZALO_BOT_TOKEN",
                              f"Zalo refused the {self.mode} set-up ({exc.reason})") from None
        self._accepting = self._started = True
        self._last_poll = time.monotonic()
        self._tasks = [asyncio.create_task(inbound.keep_tidy(self.dispatcher, CHANNEL)),
                       asyncio.create_task(self._inbox.watch(self._replay))]
        if self.webhook_url is None:
            self._polling = asyncio.create_task(self._poll())
        logs.event(log, "zalo_bot.started", mode=self.mode)

    async def stop(self) -> None:
        """Stop taking updates, finish the ones in flight, close connections. Safe to call in
        any state and twice. The webhook stays registered: other replicas may serve it."""
        self._accepting = False
        for task in (self._polling, *self._tasks):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._polling, self._tasks = None, []
        await self._in_turn.drain()
        if self._ready:
            self._ready = False
            await self.api.close()
            logs.event(log, "zalo_bot.stopped", mode=self.mode)

    def _token_rejected(self) -> None:
        """Zalo no longer takes the token: stop asking, say so once, report the channel down."""
        if not self._rejected:
            self._rejected = True
            logs.event(log, "zalo_bot.token_rejected", logging.CRITICAL,
                       action="set a valid PCMT_ZALO_BOT_TOKEN and restart")

    # --- updates in -----------------------------------------------------------------------

    async def _poll(self) -> None:
        failures = 0
        while self._accepting and not self._rejected:
            try:
                updates = await self.api.get_updates(POLL_TIMEOUT)
            except ZaloError as exc:
                self._last_poll = time.monotonic()
                if token_rejected(exc):
                    self._token_rejected()
                    return
                failures += 1
                wait = backoff(failures, *self._backoff)
                logs.event(log, "zalo_bot.poll_failed", logging.WARNING, reason=exc.reason,
                           failures=failures, wait_s=round(wait, 1))
                await asyncio.sleep(wait)
                continue
            self._last_poll = time.monotonic()
            failures = 0
            for update in updates:
                try:
                    await self._accept(update)
                except Exception as exc:
                    # Zalo hands an update over once: handled unrecorded rather than lost.
                    logs.event(log, "zalo_bot.inbox_failed", logging.ERROR,
                               error=type(exc).__name__)
                    await self._submit(None, read(update))

    async def _webhook(self, request: web.Request) -> web.Response:
        if not inbound.secret_matches(request.headers.get(SECRET_HEADER, ""), self._secret):
            logs.event(log, "zalo_bot.webhook_refused", logging.WARNING)
            return web.Response(status=401)
        if not self._accepting or not self.alive():
            return web.Response(status=503)  # Zalo delivers it again, maybe elsewhere
        if (request.content_length or 0) > MAX_WEBHOOK_BODY:
            return web.Response(status=413)
        try:
            body = await request.read()
            if len(body) > MAX_WEBHOOK_BODY:
                return web.Response(status=413)
            update = unwrap(json.loads(body))
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413)
        except (ValueError, RecursionError):
            update = None
        if update is None:
            logs.event(log, "zalo_bot.update_unparsable", logging.WARNING)
            return web.Response(status=400)
        try:
            await self._accept(update)
        except Exception as exc:  # not kept, so not acknowledged: Zalo sends it again
            logs.event(log, "zalo_bot.inbox_failed", logging.ERROR, error=type(exc).__name__)
            return web.Response(status=503)
        return web.Response(status=200)

    async def _accept(self, update: object) -> None:
        """Read ``update``, commit it to the inbox (raising if the store fails) and queue its
        work behind the chat's previous update; one recorded before is a replay."""
        event = read(update)
        if isinstance(event, Ignored):
            logs.event(log, "zalo_bot.update_ignored", reason=event.reason)
            return
        [row] = await self._inbox.record([(event.update_id, update)])
        if row is None:
            logs.event(log, "zalo_bot.update_replayed")
            return
        await self._submit(row, event)

    async def _replay(self, row: int, update: object) -> None:
        """An update a dead process recorded and did not finish: handled here instead."""
        await self._submit(row, read(update))

    async def _submit(self, row: int | None, event: Event) -> None:
        if isinstance(event, Ignored):
            await self._inbox.done(row)
            return
        chat_id = event.incoming.chat_id if isinstance(event, Received) else event.chat_id
        await self._in_turn.submit(chat_id,
                                   partial(self._inbox.handle, row, partial(self._handle, event)))

    async def _handle(self, event: Event) -> None:
        update_id = event.update_id
        if isinstance(event, Received):
            incoming = event.incoming
            if event.photo:
                incoming = replace(incoming, attachments=(await self._download(event.photo_url),))
            replies = await self.dispatcher.handle(incoming, update_id=update_id)
            await self._answer(event.update_id, incoming.chat_id, replies)
        elif isinstance(event, NotUnderstood):
            if update_id is not None and not await inbound.first_sight(
                    self.dispatcher, CHANNEL, update_id):
                logs.event(log, "zalo_bot.update_replayed")
                return
            language = await inbound.language_of(self.dispatcher, CHANNEL, event.chat_id,
                                                 event.user_id)
            with use_language(language):
                text = gettext("zalo_bot.unsupported")
            await self._answer(event.update_id, event.chat_id, [Reply(text)])

    async def _download(self, url: str | None) -> Attachment:
        """The picture a person sent, or a described one (no data) that the handler asks
        for again: no link, a failed download, or over the size limit."""
        described = Attachment("photo")
        if url is None:
            return described
        try:
            data = await self.api.download(url, self.max_file_bytes)
        except ZaloError as exc:
            logs.event(log, "zalo_bot.download_failed", logging.WARNING, reason=exc.reason)
            return described
        if data is None:
            return replace(described, size=self.max_file_bytes + 1)
        return Attachment("photo", data, None, len(data))

    # --- replies out ----------------------------------------------------------------------

    async def _answer(self, update_id: int | None, chat_id: str,
                      replies: Sequence[Reply]) -> None:
        # Without a message id the unsent replies still need a key of their own in the outbox.
        key = update_id if update_id is not None else time.time_ns() >> 1
        await inbound.answer(self.dispatcher, CHANNEL, chat_id, key, replies,
                             partial(self._out.deliver, chat_id))

    async def send(self, chat_id: str, reply: Reply) -> None:
        """Deliver ``reply`` to ``chat_id``; raises RetryLater, Unreachable or Undeliverable."""
        if not self._ready or self._rejected:
            raise RetryLater("zalo channel not running")
        await self._out.deliver(chat_id, reply)
