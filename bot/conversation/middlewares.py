"""The standard stages of the dispatch pipeline, in the order they run.

Filters see the message alone, before any transaction: what is slow or untrusted (decoding a
picture) happens there, holding no lock. Middlewares run inside the message's transaction
around the routed handler: each does its part and calls ``call_next``.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.conversation import menus
from bot.conversation.callbacks import prefix_of
from bot.conversation.flows import Interrupt
from bot.conversation.i18n import gettext as _
from bot.conversation.messages import MAX_TEXT, Attachment, ChatKind, Incoming, Reply
from bot.conversation.routing import Context, Route
from bot.errors import BadCallback, ImageRejected
from bot.security.privacy import sanitize_image
from bot.store import conversations
from bot.text import clean_user_text

if TYPE_CHECKING:
    from bot.conversation.dispatch import Dispatcher, Middleware, Next

_MAX_NUMBER_DIGITS = 3
PHOTO_SIDE = 1600
"""Longest side of a kept photo: enough to read a number plate, small enough to send on."""


async def heard(incoming: Incoming) -> Incoming | None:
    """In police groups the bot reacts only to commands and its own buttons."""
    if incoming.chat_kind is ChatKind.GROUP and not (incoming.command or incoming.choice):
        return None
    return incoming


async def cleaned(incoming: Incoming) -> Incoming:
    if incoming.text is None:
        return incoming
    return replace(incoming, text=clean_user_text(incoming.text, MAX_TEXT))


async def pictures(incoming: Incoming) -> Incoming:
    """Every file re-encoded to a bare JPEG, or marked refused, before the transaction opens:
    a decode takes hundreds of milliseconds and on SQLite the transaction holds the write lock
    every other user waits for. Off the event loop too; privacy caps how many run at once."""
    if not incoming.attachments:
        return incoming
    files = await asyncio.gather(*(_picture(file) for file in incoming.attachments))
    return replace(incoming, attachments=tuple(files))


async def _picture(file: Attachment) -> Attachment:
    try:
        clean = await asyncio.to_thread(sanitize_image, file.data, max_side=PHOTO_SIDE)
    except ImageRejected as exc:
        return replace(file, data=b"", refused=exc.reason)
    return replace(file, data=clean, mime_type="image/jpeg", size=len(clean))


FILTERS = (heard, cleaned, pictures)


def standard(dispatcher: Dispatcher) -> list[Middleware]:
    """Outermost first: layout sees every reply the inner stages add."""
    from bot.conversation.dispatch import STALE_CHOICE

    return [_LaidOut(dispatcher), _bad_buttons, _Numbers(dispatcher), _Expiry(dispatcher),
            _Interruptions(dispatcher, STALE_CHOICE)]


class _LaidOut:
    """Options fitted to the channel: pages for long lists, numbers where there are no
    buttons. Notes nobody used become a reply of their own."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    async def __call__(self, ctx: Context, call_next: Next) -> None:
        await call_next(ctx)
        if ctx.notes:
            ctx.replies.append(Reply("\n\n".join(ctx.notes)))
            ctx.notes.clear()
        capabilities = self.dispatcher.capabilities(ctx.incoming.channel)
        keyring = ctx.services.keyring
        replies = [await menus.paged(ctx.conn, keyring, reply, capabilities.max_options, ctx.now)
                   for reply in ctx.replies]
        if capabilities.numbered:
            replies = await menus.numbered(ctx.conn, keyring, ctx.user.id, replies, ctx.now)
        ctx.replies = replies


async def _bad_buttons(ctx: Context, call_next: Next) -> None:
    """A button that does not unpack (an old keyboard, a forged press) still gets an answer."""
    try:
        await call_next(ctx)
    except BadCallback:
        ctx.replies.clear()
        ctx.notes.clear()
        ctx.reply(_("error.stale_choice"))


class _Numbers:
    """On a numbered channel, a typed number is the option shown with it."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    async def __call__(self, ctx: Context, call_next: Next) -> None:
        text = (ctx.incoming.text or "").strip()
        if (self.dispatcher.capabilities(ctx.incoming.channel).numbered and text.isdigit()
                and len(text) <= _MAX_NUMBER_DIGITS):
            data, count = await menus.chosen(ctx.conn, ctx.services.keyring, ctx.user.id, text,
                                             ctx.now)
            if data is not None:
                ctx.incoming = replace(ctx.incoming, text=None, choice=data)
            elif count:
                ctx.reply(_("menu.no_such_number", number=text, count=count))
                return
        await call_next(ctx)


class _Expiry:
    """A flow that ran out of time says so, rather than the next message being taken for
    something else."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.routes = dispatcher.routes
        self.dispatcher = dispatcher

    async def __call__(self, ctx: Context, call_next: Next) -> None:
        state = ctx.state
        if state is None or not state.expired:
            await call_next(ctx)
            return
        ctx.state = None
        flow = self.routes.flows.get(state.flow)
        if flow is None or flow.label is None:
            await call_next(ctx)
            return
        ttl = flow.ttl or self.dispatcher.ttl
        ctx.note(_("flow.expired", flow=flow.describe(), minutes=int(ttl.total_seconds() // 60)))
        if self.routes.route(ctx.incoming) is None and flow.on_expiry is not None:
            flow.on_expiry(ctx)  # what was typed was meant for the flow that is gone
            return
        await call_next(ctx)


class _Interruptions:
    """A command or a button from outside the active flow suspends or ends it, visibly."""

    def __init__(self, dispatcher: Dispatcher, stale: Route) -> None:
        self.dispatcher = dispatcher
        self.routes = dispatcher.routes
        self.stale = stale

    async def __call__(self, ctx: Context, call_next: Next) -> None:
        state = ctx.state
        route = self.routes.route(ctx.incoming)
        flow = self.routes.flows.get(state.flow) if state is not None else None
        if state is None or flow is None or route is None or route.in_flow:
            await call_next(ctx)
            return
        choice = ctx.incoming.choice
        if choice is not None and prefix_of(choice) in flow.buttons:
            await call_next(ctx)
            return
        if route is self.stale:
            ctx.note(_("error.stale_choice"))
            flow.reprompt(ctx)
            return
        if flow.interrupt is Interrupt.SUSPEND:
            await conversations.suspend(ctx.conn, ctx.user.id, state, ctx.now, flow.kept,
                                        ctx.services.seal)
            ctx.note(_("flow.suspended", flow=flow.describe()))
        elif flow.label is not None:
            ctx.note(_("flow.ended", flow=flow.describe()))
        ctx.state = None
        await call_next(ctx)
