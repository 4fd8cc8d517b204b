"""Routers and the per-message context handlers work with.

A handler is ``async def handler(ctx: Context) -> None``. It reads ``ctx.incoming``, the user,
their conversation state, and answers with ``ctx.reply(...)``. Everything it writes through
``ctx.conn`` (state, outbox rows, audit entries) commits together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.conversation.messages import Incoming, Option, Reply
from bot.services import Services
from bot.store import audit, outbox
from bot.store.conversations import Conversation
from bot.store.users import User


@dataclass(slots=True)
class Context:
    incoming: Incoming
    user: User
    conn: AsyncConnection
    now: datetime
    services: Services
    state: Conversation | None
    language: str
    replies: list[Reply] = field(default_factory=list)

    def reply(self, text: str, options: Iterable[Option] = (), *, edit: bool = False) -> None:
        self.replies.append(Reply(text, tuple(options), edit=edit))

    def begin(self, flow: str, step: str, **data: Any) -> None:
        self.state = Conversation(flow, step, dict(data))

    def goto(self, step: str, **data: Any) -> None:
        if self.state is None:
            raise RuntimeError("goto() outside a flow")
        self.state.step = step
        self.state.data.update(data)

    def finish(self) -> None:
        self.state = None

    async def enqueue(self, *, channel: str, chat_id: str, reply: Reply, dedupe_key: str,
                      delay: timedelta = timedelta()) -> bool:
        return await outbox.enqueue(self.conn, channel=channel, chat_id=chat_id,
                                    payload=reply.to_json(), dedupe_key=dedupe_key,
                                    due_at=self.now + delay, now=self.now)

    async def audit(self, action: str, subject: str | None = None,
                    detail: str | None = None) -> None:
        await audit.record(self.conn, at=self.now, actor=f"user:{self.user.id}", action=action,
                           subject=subject, detail=detail)


Handler = Callable[[Context], Awaitable[None]]


class Router:
    """Commands, button choices (by prefix) and flows one conversation module handles."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.commands: dict[str, Handler] = {}
        self.choices: dict[str, Handler] = {}
        self.flows: dict[str, Handler] = {}
        self.text_handler: Handler | None = None

    def command(self, *names: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for name in names:
                self.commands[name] = handler
            return handler
        return register

    def choice(self, prefix: str) -> Callable[[Handler], Handler]:
        """Handle button data ``prefix`` or ``prefix:...``."""
        def register(handler: Handler) -> Handler:
            self.choices[prefix] = handler
            return handler
        return register

    def flow(self, name: str) -> Callable[[Handler], Handler]:
        """Handle any message while the user's conversation is in flow ``name``."""
        def register(handler: Handler) -> Handler:
            self.flows[name] = handler
            return handler
        return register

    def text(self, handler: Handler) -> Handler:
        """Handle free text outside any flow."""
        self.text_handler = handler
        return handler
