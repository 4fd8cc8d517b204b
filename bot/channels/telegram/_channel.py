"""The Telegram channel, on python-telegram-bot: long polling, or a webhook on the bot's web
server when ``PCMT_PUBLIC_URL`` is set.

Every update is committed to the inbox first (:class:`bot.channels.inbound.Inbox`): before
the webhook answers 200, or before the next poll moves the offset past it. Then it goes
through one PTB handler that turns it into an :class:`Incoming`, asks the
dispatcher, and sends the replies at once. Updates of one chat are handled one after another,
different chats side by side (at most ``PCMT_TELEGRAM_CONCURRENCY`` at a time). A reply that
fails for a passing reason (timeout, server error, a long flood wait) goes to the outbox and
is delivered later, so nothing a person was told to expect is lost. Telegram's errors become
the bot's delivery errors in :func:`bot.channels.telegram._errors.delivery_error` only.
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
from typing import Any

from aiohttp import web
from telegram import Update
from telegram._utils.types import JSONDict
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from bot import logs
from bot.channels import inbound
from bot.channels.base import Lifecycle
from bot.channels.inbound import Inbox, InTurn, first_sight, membership
from bot.channels.ratelimit import RateLimiter
from bot.channels.telegram._bot import (
    GuardedApplication,
    TelegramRateLimiter,
    TolerantBot,
    parse_update,
)
from bot.channels.telegram._outgoing import Budgets, Outgoing
from bot.channels.telegram._render import (
    PAYLOAD_PREFIX,
)
from bot.channels.telegram._updates import (
    CHANNEL,
    Event,
    FileRef,
    Membership,
    NotUnderstood,
    Received,
    read,
)
from bot.conversation.dispatch import Dispatcher
from bot.conversation.i18n import gettext, use_language
from bot.conversation.messages import Attachment, Capabilities, Reply
from bot.errors import ConfigError, RetryLater
from bot.security.identity import open_at_rest
from bot.store import updates
from bot.web import WebServer

__all__ = ["CHANNEL", "WEBHOOK_PATH", "Budgets", "TelegramChannel"]

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
# Inline keyboards allow 100 buttons, but a list past ten is read better a page at a time.
CAPABILITIES = Capabilities(buttons=True, max_options=10, payload_bytes=64, editing=True,
                            photos_in=True, photos_out=True, text_limit=4096)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
POLL_TIMEOUT = 30
"""Seconds a long poll waits for news before asking again."""
MAX_WEBHOOK_CONNECTIONS = 100
"""The most simultaneous webhook connections the Bot API accepts."""
FLOOD_WAIT_INLINE = 10.0
"""A flood wait up to this long is waited out in place; a longer one sends the reply to the
outbox (the chat is not held that long)."""


def webhook_secret(token: str) -> str:
    """The secret Telegram echoes on every webhook call."""
    return inbound.webhook_secret(token, CHANNEL)


class TelegramChannel(Lifecycle):
    """``async with TelegramChannel(dispatcher) as channel`` initialises and starts it; in
    webhook mode, :meth:`install_routes` must have been called on the (not yet started) web
    server first. :meth:`send` is what outbox delivery uses."""

    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(self, dispatcher: Dispatcher, *, limiter: RateLimiter | None = None) -> None:
        self.dispatcher = dispatcher
        self.services = dispatcher.services
        settings = self.services.settings
        if settings.telegram_token is None:
            raise ConfigError("PCMT_TELEGRAM_TOKEN", "is not set")
        if settings.public_url is not None and settings.web_port is None:
            raise ConfigError("PCMT_WEB_PORT",
                              "must be set when PCMT_PUBLIC_URL asks for a Telegram webhook")
        token = settings.telegram_token.get_secret_value()
        self.webhook_url = (settings.public_url.rstrip("/") + WEBHOOK_PATH
                            if settings.public_url is not None else None)
        self._secret = webhook_secret(token)
        self.max_file_bytes = settings.telegram_max_file_bytes
        self.limiter = limiter or Budgets.of(settings).limiter()
        self._inbox = Inbox(dispatcher, CHANNEL)
        self._rows: dict[int, int] = {}
        """Inbox row of each update recorded here and not yet taken from PTB's queue."""
        self.application = self._build(token, settings.telegram_base_url,
                                       settings.telegram_base_file_url,
                                       settings.telegram_timeout_seconds,
                                       2 * settings.telegram_concurrency
                                       + settings.delivery_max_in_flight)
        self._out = Outgoing(self.application.bot, dispatcher)
        self._webhook_connections = min(settings.telegram_concurrency, MAX_WEBHOOK_CONNECTIONS)
        self._in_turn = InTurn(settings.telegram_concurrency, CHANNEL)
        self._tasks: list[asyncio.Task[None]] = []
        self._accepting = False
        self._started = False
        self._started_at = 0.0
        # A long poll lasts POLL_TIMEOUT plus the request timeout, and PTB's retry loop waits
        # up to 30 s after a failed one: a longer silence means the loop has ended.
        self._poll_patience = POLL_TIMEOUT + settings.telegram_timeout_seconds + 30.0
        self._ready = False
        self.username = ""

    def _build(self, token: str, base_url: str, base_file_url: str, timeout: float,
               senders: int) -> Application[Any, Any, Any, Any, Any, Any]:
        # A connection for every send that can be under way (live replies and the outbox's
        # sender): the budgets are counted when a send starts, and a send queued for a
        # connection reaches Telegram later than counted. Queued sends also cost httpcore's
        # pool a scan of every waiting request on each release (3 of 7 ms a message at 300/s).
        request = HTTPXRequest(connection_pool_size=senders + 8, connect_timeout=timeout,
                               read_timeout=timeout, write_timeout=timeout, pool_timeout=timeout,
                               media_write_timeout=3 * timeout)
        polling = HTTPXRequest(connection_pool_size=2, connect_timeout=timeout,
                               read_timeout=timeout, write_timeout=timeout, pool_timeout=timeout)
        bot = TolerantBot(token, base_url=base_url, base_file_url=base_file_url, request=request,
                          get_updates_request=polling, on_polled=self._record_polled,
                          rate_limiter=TelegramRateLimiter(self.limiter, FLOOD_WAIT_INLINE))
        builder = (Application.builder().application_class(GuardedApplication).bot(bot)
                   .job_queue(None))
        if self.webhook_url is not None:
            builder = builder.updater(None)
        application = builder.build()
        application.add_handler(TypeHandler(Update, self._on_update))
        return application

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook_url is not None else "polling"

    @property
    def addresses(self) -> Collection[str] | None:
        return None  # any Telegram chat

    # --- lifecycle ----------------------------------------------------------------------

    async def initialize(self) -> None:
        """Check the token with Telegram (getMe) and learn the bot's username."""
        try:
            await self.application.initialize()
        except InvalidToken as exc:
            raise ConfigError("PCMT_TELEGRAM_TOKEN", "rejected by Telegram") from exc
        except TelegramError as exc:
            raise ConfigError("PCMT_TELEGRAM_BASE_URL",
                              f"Telegram did not answer ({type(exc).__name__})") from exc
        self.username = self.application.bot.username
        self._ready = True

    def install_routes(self, server: WebServer) -> None:
        """Add the webhook route (in webhook mode) and this channel's health check. Call
        before the server starts."""
        server.add_check(CHANNEL, self.alive)
        if self.webhook_url is not None:
            server.app.router.add_post(WEBHOOK_PATH, self._webhook)

    def alive(self) -> bool:
        """Whether updates are being taken and handled: false once started if the loop that
        hands updates to the handler, or (polling) the loop that fetches them, has ended."""
        if not self._accepting:
            return not self._started  # not started yet, or stopped on purpose
        application = self.application
        if not isinstance(application, GuardedApplication) or not application.fetching:
            return False
        if self.webhook_url is not None:
            return True
        bot = application.bot
        assert isinstance(bot, TolerantBot)
        now = time.monotonic()
        silence = bot.poll_silence(now)
        return (now - self._started_at if silence is None else silence) < self._poll_patience

    async def start(self) -> None:
        """Start taking updates: long polling, or register the webhook with Telegram."""
        await self.application.start()
        self._accepting = self._started = True
        self._started_at = time.monotonic()
        self._tasks = [asyncio.create_task(inbound.keep_tidy(self.dispatcher, CHANNEL)),
                       asyncio.create_task(self._inbox.watch(self._replay))]
        if self.webhook_url is None:
            assert self.application.updater is not None
            await self.application.updater.start_polling(
                poll_interval=0.0, timeout=POLL_TIMEOUT, allowed_updates=list(ALLOWED_UPDATES))
        else:
            try:
                # As many connections as updates it handles at once: Telegram sends no more.
                await self.application.bot.set_webhook(
                    url=self.webhook_url, secret_token=self._secret,
                    allowed_updates=list(ALLOWED_UPDATES),
                    max_connections=self._webhook_connections)
            except TelegramError as exc:
                raise ConfigError("PCMT_PUBLIC_URL",
                                  f"Telegram refused the webhook ({type(exc).__name__})") from exc
        logs.event(log, "telegram.started", mode=self.mode)

    async def stop(self) -> None:
        """Stop taking updates, finish the ones in flight, close connections. Safe to call in
        any state and twice. The webhook stays registered: other replicas may serve it."""
        self._accepting = False
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()  # hands over what is queued, then stops
        await self._in_turn.drain()
        if self._ready:
            self._ready = False
            await self.application.shutdown()
            logs.event(log, "telegram.stopped", mode=self.mode)

    # --- updates in -----------------------------------------------------------------------

    async def _webhook(self, request: web.Request) -> web.Response:
        if not inbound.secret_matches(request.headers.get(SECRET_HEADER, ""), self._secret):
            logs.event(log, "telegram.webhook_refused", logging.WARNING)
            return web.Response(status=401)
        if not self._accepting or not self.alive():
            return web.Response(status=503)  # Telegram delivers it again, maybe elsewhere
        try:
            payload = json.loads(await request.read())
        except (ValueError, RecursionError):
            logs.event(log, "telegram.update_unparsable", logging.WARNING, reason="not JSON")
            return web.Response(status=400)
        update = parse_update(payload, self.application.bot)
        if update is None:
            return web.Response(status=200)  # no id: it could be neither kept nor told apart
        try:
            await self._record([(payload, update)])
        except Exception as exc:  # not kept, so not acknowledged: Telegram sends it again
            logs.event(log, "telegram.inbox_failed", logging.ERROR, error=type(exc).__name__)
            return web.Response(status=503)
        if update.update_id in self._rows:
            await self.application.update_queue.put(update)
        return web.Response(status=200)

    async def _record_polled(self, polled: Sequence[tuple[JSONDict, Update]]) -> None:
        try:
            await self._record(polled)
        except Exception as exc:
            logs.event(log, "telegram.inbox_failed", logging.ERROR, error=type(exc).__name__)
            # PTB's polling loop retries a TelegramError with the same offset, after a pause.
            raise NetworkError("the inbox did not take the updates") from None

    async def _record(self, received: Sequence[tuple[object, Update]]) -> None:
        """Commit the updates to the inbox before they are acknowledged; those recorded
        before (a second delivery) are not handled again."""
        rows = await self._inbox.record([(update.update_id, data) for data, update in received])
        for (_data, update), row in zip(received, rows, strict=True):
            if row is None:
                logs.event(log, "telegram.update_replayed", update_id=update.update_id)
            else:
                self._rows[update.update_id] = row

    async def _replay(self, row: int, data: object) -> None:
        """An update a dead process recorded and did not finish: handled here instead."""
        update = parse_update(data, self.application.bot)
        if update is None:
            await self._inbox.done(row)
            return
        self._rows[update.update_id] = row
        await self._take(update)

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB calls this for every update, one at a time."""
        await self._take(update)

    async def _take(self, update: Update) -> None:
        """Queue the work behind the chat's previous update, so the order within a chat is
        the order of arrival; an update that was not recorded here is a replay."""
        row = self._rows.pop(update.update_id, None)
        if row is None:
            return
        await self._in_turn.submit(_chat_key(update),
                                   partial(self._inbox.handle, row, partial(self._handle, update)))

    async def _handle(self, update: Update) -> None:
        event: Event = read(update, self.username, self.max_file_bytes)
        if isinstance(event, Received):
            await self._received(update.update_id, event)
            return
        # The dispatcher's guard, for updates that do not reach it: one handled again after
        # its process died half-way is dropped.
        if not await first_sight(self.dispatcher, CHANNEL, update.update_id):
            logs.event(log, "telegram.update_replayed", update_id=update.update_id)
            return
        if isinstance(event, NotUnderstood):
            await self._not_understood(update.update_id, event)
        elif isinstance(event, Membership):
            await self._membership(event)
        elif event.callback_id is not None:
            await self._answer_button(event.callback_id)

    async def _received(self, update_id: int, event: Received) -> None:
        incoming = event.incoming
        if event.callback_id is not None:
            await self._answer_button(event.callback_id)
        if incoming.choice is not None and incoming.choice.startswith(PAYLOAD_PREFIX):
            incoming = replace(incoming, choice=await self._stored_choice(incoming.choice))
        if event.files:
            attachments = [await self._download(ref) for ref in event.files]
            incoming = replace(incoming, attachments=tuple(attachments))
        replies = await self.dispatcher.handle(incoming, update_id=update_id)
        await self._answer(update_id, incoming.chat_id, replies, edit=event.button_message,
                           thread=event.thread_id)

    async def _answer_button(self, callback_id: str) -> None:
        """Every press is answered, or the person's client shows a spinner for a while."""
        try:
            await self.application.bot.answer_callback_query(callback_id)
        except TelegramError as exc:  # a press answered too late: nothing left to do
            logs.event(log, "telegram.button_unanswered", logging.WARNING,
                       error=type(exc).__name__)

    async def _stored_choice(self, choice: str) -> str:
        async with self.dispatcher.store.transaction() as conn:
            stored = await updates.load_payload(conn, choice.removeprefix(PAYLOAD_PREFIX))
        # A reference that finds nothing (pruned, forged) stays as is: the dispatcher treats
        # it as a stale button.
        return choice if stored is None else open_at_rest(self.services.keyring, stored)

    async def _download(self, ref: FileRef) -> Attachment:
        described = Attachment(ref.kind, mime_type=ref.mime_type, size=ref.size)
        if ref.file_id is None:
            return described
        try:
            file = await self.application.bot.get_file(ref.file_id)
            if (file.file_size or 0) > self.max_file_bytes:
                return replace(described, size=file.file_size)
            data = bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            # The handler sees a file it cannot open and asks for it again.
            logs.event(log, "telegram.download_failed", logging.WARNING, error=type(exc).__name__)
            return described
        if len(data) > self.max_file_bytes:
            return replace(described, size=len(data))
        return Attachment(ref.kind, data, ref.mime_type, len(data))

    async def _not_understood(self, update_id: int, event: NotUnderstood) -> None:
        language = await inbound.language_of(self.dispatcher, CHANNEL, event.chat_id,
                                             event.user_id)
        with use_language(language):
            text = gettext("channel.edited" if event.edited else "channel.unsupported")
        await self._answer(update_id, event.chat_id, [Reply(text)], thread=event.thread_id)

    async def _membership(self, event: Membership) -> None:
        await membership(self.dispatcher, CHANNEL, event.chat_id, reachable=event.reachable)

    # --- replies out ----------------------------------------------------------------------

    async def _answer(self, update_id: int, chat_id: str, replies: Sequence[Reply], *,
                      edit: int | None = None, thread: int | None = None) -> None:
        """Send the replies to one update in order; the first ``edit=True`` one replaces the
        message whose button was pressed."""
        async def deliver(reply: Reply) -> None:
            nonlocal edit
            if reply.edit and edit is not None:
                await self._out.edit_or_send(chat_id, edit, reply, thread)
                edit = None  # one message to edit: later replies are new messages
            else:
                await self._out.deliver(chat_id, reply, thread)

        await inbound.answer(self.dispatcher, CHANNEL, chat_id, update_id, replies, deliver)

    async def send(self, chat_id: str, reply: Reply) -> None:
        """Deliver ``reply`` to ``chat_id``; raises RetryLater, Unreachable or Undeliverable."""
        if not self._ready:
            raise RetryLater("telegram channel not running")
        await self._out.deliver(chat_id, reply, None)


def _chat_key(update: Update) -> str:
    try:
        chat = update.effective_chat
    except Exception:  # a half-parsed update: it gets a queue of its own
        return ""
    return str(chat.id) if chat is not None else ""
