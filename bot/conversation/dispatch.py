"""From an :class:`Incoming` to replies: who is this, what state are they in, which handler.

One database transaction per incoming message: identity, state, the handler's writes and any
outbox rows commit together. Replies go back to the caller, which sends them after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot import logs
from bot.conversation.i18n import DEFAULT_LANGUAGE, gettext, use_language
from bot.conversation.messages import MAX_TEXT, ChatKind, Incoming, Reply
from bot.conversation.routing import Context, Handler, Router
from bot.security.identity import open_at_rest, seal_at_rest
from bot.services import Services
from bot.store import Store, conversations, updates, users
from bot.text import clean_user_text

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(self, store: Store, services: Services, routers: Iterable[Router],
                 clock: Clock = utc_now) -> None:
        self.store = store
        self.services = services
        self.clock = clock
        self.routers = list(routers)
        self.ttl = timedelta(minutes=services.settings.conversation_ttl_minutes)

    def _seal(self, text: str) -> str:
        return seal_at_rest(self.services.keyring, text)

    def _open(self, stored: str) -> str:
        return open_at_rest(self.services.keyring, stored)

    async def handle(self, incoming: Incoming, *, update_id: int | None = None) -> list[Reply]:
        """The replies to ``incoming``, after its transaction has committed.

        ``update_id`` is the platform's id for a delivery that may come again (a webhook
        retried, maybe to another replica): it is recorded in the same transaction, and a
        delivery this or another replica recorded before gets no replies.
        """
        if incoming.chat_kind is ChatKind.GROUP and not (incoming.command or incoming.choice):
            return []  # in police groups the bot reacts only to commands and its own buttons
        if incoming.text is not None:
            incoming = replace(incoming, text=clean_user_text(incoming.text, MAX_TEXT))
        now = self.clock()
        language = DEFAULT_LANGUAGE
        try:
            async with self.store.transaction() as conn:
                if update_id is not None and not await updates.first_sight(
                        conn, incoming.channel, update_id, now):
                    logs.event(log, "dispatch.replayed", channel=incoming.channel)
                    return []
                pseudonyms = self.services.pseudonyms
                user, state = await users.resolve_with_state(
                    conn, incoming.channel, pseudonyms.user(incoming.channel, incoming.user_id),
                    pseudonyms.chat(incoming.channel, incoming.chat_id), now, self._open)
                language = user.language or self.services.settings.default_language
                ctx = Context(incoming, user, conn, now, self.services, state, language)
                with use_language(language):
                    handler = self._route(ctx)
                    await handler(ctx)
                if ctx.state is not state or state is not None:
                    await conversations.save(conn, user.id, ctx.state, now, self.ttl,
                                             self._seal)
        except Exception as exc:
            logs.event(log, "dispatch.failed", logging.ERROR, channel=incoming.channel,
                       error=type(exc).__name__)
            with use_language(language):
                return [Reply(gettext("error.internal"))]
        logs.event(log, "dispatch.handled", channel=incoming.channel, handler=handler.__name__,
                   replies=len(ctx.replies))
        return ctx.replies

    def _route(self, ctx: Context) -> Handler:
        incoming = ctx.incoming
        if incoming.command:
            for router in self.routers:
                if incoming.command in router.commands:
                    return router.commands[incoming.command]
            return _unknown_command
        if incoming.choice:
            prefix = incoming.choice.split(":", 1)[0]
            for router in self.routers:
                if prefix in router.choices:
                    return router.choices[prefix]
            return _stale_choice
        if ctx.state is not None:
            for router in self.routers:
                if ctx.state.flow in router.flows:
                    return router.flows[ctx.state.flow]
            ctx.state = None  # a flow this version no longer has: start afresh
        for router in self.routers:
            if router.text_handler is not None:
                return router.text_handler
        return _unknown_command


async def _unknown_command(ctx: Context) -> None:
    ctx.reply(gettext("error.unknown_command"))


async def _stale_choice(ctx: Context) -> None:
    ctx.reply(gettext("error.stale_choice"))
