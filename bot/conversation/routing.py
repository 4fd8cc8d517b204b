"""Routers and the per-message context handlers work with.

A handler is ``async def handler(ctx: Context) -> None``. It reads ``ctx.incoming``, the user,
their conversation state, and answers with ``ctx.reply(...)``. Everything it writes through
``ctx.conn`` (state, outbox rows, audit entries) commits together or not at all.

A router claims commands, button prefixes (plain or a :class:`CallbackData` class) and flows.
Commands and buttons marked ``in_flow`` act inside the active flow (``/cancel``, a language
switch, a page of a long list); any other command or another router's button interrupts it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.conversation.callbacks import CallbackData
from bot.conversation.flows import Flow
from bot.conversation.messages import Incoming, Option, Reply
from bot.services import Services
from bot.store import audit
from bot.store.conversations import Conversation
from bot.store.users import User

Button = TypeVar("Button", bound=CallbackData)


@dataclass(slots=True)
class Context:
    incoming: Incoming
    user: User
    conn: AsyncConnection
    now: datetime
    services: Services
    state: Conversation | None
    language: str
    flows: Mapping[str, Flow] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def reply(self, text: str, options: Iterable[Option] = (), *, edit: bool = False) -> None:
        if self.notes:  # a note reads as part of the next reply, not as a message of its own
            text = "\n\n".join([*self.notes, text])
            self.notes.clear()
        self.replies.append(Reply(text, tuple(options), edit=edit))

    def note(self, text: str) -> None:
        """Say ``text`` at the top of the next reply (why a prompt is shown again)."""
        self.notes.append(text)

    def button(self, kind: type[Button]) -> Button:
        """The pressed button as ``kind``; :class:`bot.errors.BadCallback` when it is not."""
        return kind.unpack(self.incoming.choice)

    def begin(self, flow: str, step: str, **data: Any) -> None:
        self.state = Conversation(flow, step, dict(data))

    def goto(self, step: str, **data: Any) -> None:
        if self.state is None:
            raise RuntimeError("goto() outside a flow")
        self.state.step = step
        self.state.data.update(data)

    def finish(self) -> None:
        self.state = None

    async def audit(self, action: str, subject: str | None = None,
                    detail: str | None = None) -> None:
        await audit.record(self.conn, at=self.now, actor=f"user:{self.user.id}", action=action,
                           subject=subject, detail=detail)


Handler = Callable[[Context], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    in_flow: bool = False
    """Acts inside the active flow instead of interrupting it."""


class Router:
    """Commands, button choices (by prefix) and flows one conversation module handles."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.commands: dict[str, Route] = {}
        self.choices: dict[str, Route] = {}
        self.flows: dict[str, Flow] = {}
        self.text_handler: Handler | None = None

    def command(self, *names: str, in_flow: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for name in names:
                _claim(self.commands, name, Route(handler, in_flow), f"command /{name}")
            return handler
        return register

    def choice(self, prefix: str | type[CallbackData], *,
               in_flow: bool = False) -> Callable[[Handler], Handler]:
        """Handle button data ``prefix`` or ``prefix:...`` (a :class:`CallbackData` class
        stands for its prefix)."""
        name = prefix if isinstance(prefix, str) else prefix.prefix

        def register(handler: Handler) -> Handler:
            _claim(self.choices, name, Route(handler, in_flow), f"button prefix {name!r}")
            return handler
        return register

    def flow(self, flow: Flow) -> Flow:
        """Hand every message to ``flow`` while the person's conversation is in it."""
        _claim(self.flows, flow.name, flow, f"flow {flow.name!r}")
        return flow

    def text(self, handler: Handler) -> Handler:
        """Handle free text outside any flow."""
        self.text_handler = handler
        return handler


_Claimed = TypeVar("_Claimed")


def _claim(table: dict[str, _Claimed], key: str, value: _Claimed, what: str) -> None:
    if key in table:
        raise ValueError(f"{what} registered twice in one router")
    table[key] = value
