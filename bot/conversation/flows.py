"""Flows as declared steps, on conversation state kept in the database.

In the spirit of aiogram's scenes, but stored per user so that a restart or another replica
continues where the person stopped. A flow lists its steps in order; each step can render its
prompt again (to resume after a restart or an interruption, and to re-ask after bad input) and
may check typed input with a shared validator before its handler sees the value. A step that
``fills`` a data key is skipped once that key is set, so :meth:`Flow.advance` always lands on
the first thing still missing, whichever field the person went back to edit.

Each flow has its own time-to-live and an interruption policy: a command or another router's
button either suspends the flow (the draft is kept for ``/resume``) or ends it, and says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.conversation.callbacks import CallbackData
from bot.conversation.i18n import gettext as _
from bot.conversation.validators import Invalid, Validator

if TYPE_CHECKING:
    from bot.conversation.routing import Context

Prompt = Callable[["Context"], None]
ValueHandler = Callable[["Context", Any], Awaitable[None]]
FilesHandler = Callable[["Context"], Awaitable[None]]


class Interrupt(StrEnum):
    SUSPEND = "suspend"
    """Keep the draft aside; ``/resume`` (or starting the flow again) brings it back."""
    END = "end"
    """Drop the flow: what it held is cheap to enter again."""


@dataclass(slots=True)
class Step:
    name: str
    prompt: Prompt
    fills: str | None = None
    validator: Validator | None = None
    on_value: ValueHandler | None = None
    on_files: FilesHandler | None = None


class Flow:
    """``name`` is stored with the state; ``label`` is the message id that names the flow to
    the person ("your report draft"); ``buttons`` are the prefixes that act inside the flow
    (any other button interrupts it); ``ttl`` overrides the default time-to-live; a suspended
    flow is ``kept`` this long; ``on_expiry`` answers text typed for a flow that ran out."""

    def __init__(self, name: str, *, label: str | None = None,
                 buttons: Iterable[str | type[CallbackData]] = (), ttl: timedelta | None = None,
                 interrupt: Interrupt = Interrupt.END, kept: timedelta = timedelta(days=1),
                 on_expiry: Prompt | None = None) -> None:
        self.name = name
        self.label = label
        self.buttons = frozenset(b if isinstance(b, str) else b.prefix for b in buttons)
        self.ttl = ttl
        self.interrupt = interrupt
        self.kept = kept
        self.on_expiry = on_expiry
        self.steps: dict[str, Step] = {}

    # --- declaring --------------------------------------------------------------------------

    def step(self, name: str, *, fills: str | None = None,
             validate: Validator | None = None) -> Callable[[Prompt], Prompt]:
        """Declare step ``name`` (in order) with the function that renders its prompt."""
        def register(prompt: Prompt) -> Prompt:
            if name in self.steps:
                raise ValueError(f"flow {self.name!r} declares step {name!r} twice")
            self.steps[name] = Step(name, prompt, fills, validate)
            return prompt
        return register

    def on_text(self, name: str) -> Callable[[ValueHandler], ValueHandler]:
        """Handle what is typed at step ``name``, after its validator accepted it."""
        def register(handler: ValueHandler) -> ValueHandler:
            self.steps[name].on_value = handler
            return handler
        return register

    def on_files(self, name: str) -> Callable[[FilesHandler], FilesHandler]:
        def register(handler: FilesHandler) -> FilesHandler:
            self.steps[name].on_files = handler
            return handler
        return register

    # --- moving -----------------------------------------------------------------------------

    def begin(self, ctx: Context, **data: Any) -> None:
        ctx.begin(self.name, next(iter(self.steps)), **data)
        self.advance(ctx)

    def ask(self, ctx: Context, name: str) -> None:
        """Go to step ``name`` and show its prompt."""
        ctx.goto(name)
        self.steps[name].prompt(ctx)

    def advance(self, ctx: Context) -> None:
        """Ask the first step whose data is still missing (the last step when none is)."""
        assert ctx.state is not None
        data = ctx.state.data
        for step in self.steps.values():
            if step.fills is None or step.fills not in data:
                self.ask(ctx, step.name)
                return

    def reprompt(self, ctx: Context) -> None:
        """Show the current step's prompt again: after a restart, an interruption, bad input."""
        assert ctx.state is not None
        step = self.steps.get(ctx.state.step)
        if step is None:
            self.advance(ctx)
        else:
            step.prompt(ctx)

    def describe(self) -> str:
        return _(self.label) if self.label else self.name

    # --- the flow's handler -----------------------------------------------------------------

    async def handle(self, ctx: Context) -> None:
        """Typed text and files while the person is in this flow."""
        assert ctx.state is not None
        step = self.steps.get(ctx.state.step)
        if step is None:  # a step this version no longer has
            self.advance(ctx)
            return
        if ctx.incoming.attachments:
            if step.on_files is not None:
                await step.on_files(ctx)
            else:
                ctx.note(_("flow.no_files_here"))
                step.prompt(ctx)
            return
        await self.take(ctx, ctx.incoming.text or "")

    async def take(self, ctx: Context, text: str) -> None:
        """``text`` as the answer to the current step: typed, or a button's value (a forged
        value gets the same "not valid" and the prompt again as a mistyped one)."""
        assert ctx.state is not None
        step = self.steps[ctx.state.step]
        text = text.strip()
        if step.on_value is None or not text:
            ctx.note(_("flow.use_options"))
            step.prompt(ctx)
            return
        try:
            value = step.validator.parse(text) if step.validator is not None else text
        except Invalid as invalid:
            ctx.note(invalid.message)
            step.prompt(ctx)
            return
        await step.on_value(ctx, value)
