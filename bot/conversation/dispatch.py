"""From an :class:`Incoming` to replies: who is this, what state are they in, which handler.

One database transaction per incoming message: identity, state, the handler's writes and any
outbox rows commit together. Replies go back to the caller, which sends them after the commit.

The work is an ordered pipeline. *Filters* look at the message alone, before any transaction
(groups hear only commands, text cleaning, pictures decoded) and may drop it. Inside the
transaction the dispatcher always records a replayable update, resolves the person and their
state and sets their language; then *middlewares* run in order around the routed handler,
each calling ``call_next`` (see :mod:`bot.conversation.middlewares`). A feature adds a filter or a
middleware; it does not edit this module.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from bot import logs
from bot.conversation.callbacks import prefix_of
from bot.conversation.flows import Flow
from bot.conversation.i18n import DEFAULT_LANGUAGE, gettext, use_language
from bot.conversation.messages import Capabilities, Incoming, Reply
from bot.conversation.routing import Context, Handler, Route, Router
from bot.errors import RoutingConflict
from bot.services import Services
from bot.store import Store, conversations, updates, users

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Filter = Callable[[Incoming], Awaitable[Incoming | None]]
Next = Callable[[Context], Awaitable[None]]
Middleware = Callable[[Context, Next], Awaitable[None]]

DEFAULT_CAPABILITIES = Capabilities()


def utc_now() -> datetime:
    return datetime.now(UTC)


class Routes:
    """Every router's commands, button prefixes and flows in one table, checked at start-up
    so that no two routers claim the same one."""

    def __init__(self, routers: Iterable[Router]) -> None:
        self.commands: dict[str, Route] = {}
        self.choices: dict[str, Route] = {}
        self.flows: dict[str, Flow] = {}
        self.text: Handler | None = None
        for router in routers:
            _merge(self.commands, router.commands, router.name)
            _merge(self.choices, router.choices, router.name)
            _merge(self.flows, router.flows, router.name)
            if self.text is None:  # free text goes to the first router that takes it
                self.text = router.text_handler

    def route(self, incoming: Incoming) -> Route | None:
        """The command's or the button's route; None for typed text and files."""
        if incoming.command:
            return self.commands.get(incoming.command, UNKNOWN_COMMAND)
        if incoming.choice:
            return self.choices.get(prefix_of(incoming.choice), STALE_CHOICE)
        return None

    def handler(self, ctx: Context) -> Handler:
        route = self.route(ctx.incoming)
        if route is not None:
            return route.handler
        if ctx.state is not None:
            flow = self.flows.get(ctx.state.flow)
            if flow is not None:
                return flow.handle
            ctx.state = None  # a flow this version no longer has: start afresh
        return self.text or _unknown_command


_Claim = TypeVar("_Claim")


def _merge(table: dict[str, _Claim], claims: dict[str, _Claim], router: str) -> None:
    clash = table.keys() & claims.keys()
    if clash:
        raise RoutingConflict(f"router {router!r} claims {sorted(clash)}, claimed already")
    table.update(claims)


class Dispatcher:
    def __init__(self, store: Store, services: Services, routers: Iterable[Router],
                 clock: Clock = utc_now, *, filters: Sequence[Filter] | None = None,
                 middlewares: Sequence[Middleware] | None = None) -> None:
        from bot.conversation import middlewares as standard

        self.store = store
        self.services = services
        self.clock = clock
        self.routes = Routes(routers)
        self.ttl = timedelta(minutes=services.settings.conversation_ttl_minutes)
        self.channels: dict[str, Capabilities] = {}
        self.filters = list(standard.FILTERS if filters is None else filters)
        self.middlewares = list(standard.standard(self) if middlewares is None else middlewares)

    def register_channel(self, name: str, capabilities: Capabilities) -> None:
        self.channels[name] = capabilities

    def capabilities(self, channel: str) -> Capabilities:
        return self.channels.get(channel, DEFAULT_CAPABILITIES)

    async def handle(self, incoming: Incoming, *, update_id: int | None = None) -> list[Reply]:
        """The replies to ``incoming``, after its transaction has committed.

        ``update_id`` is the platform's id for a delivery that may come again (a webhook
        retried, maybe to another replica): it is recorded in the same transaction, and a
        delivery this or another replica recorded before gets no replies.
        """
        for keep in self.filters:
            kept = await keep(incoming)
            if kept is None:
                return []
            incoming = kept
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
                    pseudonyms.chat(incoming.channel, incoming.chat_id), now, self.services.open)
                language = user.language or self.services.settings.default_language
                ctx = Context(incoming, user, conn, now, self.services, state, language,
                              flows=self.routes.flows)
                with use_language(language):
                    await self._run(ctx, 0)
                if ctx.state is not state or state is not None:
                    await conversations.save(conn, user.id, ctx.state, now,
                                             self._ttl(ctx), self.services.seal)
        except Exception as exc:
            logs.event(log, "dispatch.failed", logging.ERROR, channel=incoming.channel,
                       error=type(exc).__name__)
            with use_language(language):
                return [Reply(gettext("error.internal"))]
        logs.event(log, "dispatch.handled", channel=incoming.channel, replies=len(ctx.replies))
        return ctx.replies

    async def _run(self, ctx: Context, position: int) -> None:
        if position == len(self.middlewares):
            await self.routes.handler(ctx)(ctx)
            return
        await self.middlewares[position](ctx, lambda ctx: self._run(ctx, position + 1))

    def _ttl(self, ctx: Context) -> timedelta:
        flow = self.routes.flows.get(ctx.state.flow) if ctx.state is not None else None
        return flow.ttl if flow is not None and flow.ttl is not None else self.ttl


async def _unknown_command(ctx: Context) -> None:
    ctx.reply(gettext("error.unknown_command"))


async def _stale_choice(ctx: Context) -> None:
    ctx.reply(gettext("error.stale_choice"))


UNKNOWN_COMMAND = Route(_unknown_command)
STALE_CHOICE = Route(_stale_choice)
