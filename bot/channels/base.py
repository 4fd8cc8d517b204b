"""The channel contract: what every messaging platform offers the rest of the bot.

A channel declares its :class:`~bot.conversation.messages.Capabilities` (buttons or numbered
options, how many at once, payload bytes, editing, photos, text limit), which the dispatcher
honours so that handlers never know a platform's limits. It has a lifecycle like
python-telegram-bot's: ``initialize`` (check the token, learn its own name), ``start``
(begin receiving), ``stop`` (finish what is in flight), and ``async with`` for all three.
"""

from __future__ import annotations

from collections.abc import Collection
from types import TracebackType
from typing import Protocol, Self

from bot.channels.ratelimit import RateLimiter
from bot.conversation.messages import Capabilities, Reply


class Channel(Protocol):
    """A messaging platform. ``send`` raises a :class:`bot.errors.DeliveryError` subclass
    (``RetryLater``, ``Unreachable``, ``Undeliverable``, ``Unconfirmed``) when the platform
    refuses or its answer cannot be read; these are the only errors delivery has to
    understand."""

    name: str
    capabilities: Capabilities

    @property
    def limiter(self) -> RateLimiter | None:
        """The platform's sending budgets, shared by live replies and the outbox's sender;
        None when the platform sets none the bot keeps."""
        ...

    @property
    def addresses(self) -> Collection[str] | None:
        """The chats this process can reach now, or None for every chat of the platform."""
        ...

    async def initialize(self) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, chat_id: str, reply: Reply) -> None: ...


class Lifecycle:
    """``async with channel:`` initialises and starts it, and stops it on the way out (also
    when starting failed half-way). ``stop`` must be safe in any state and twice."""

    async def initialize(self) -> None:
        """Check what must work before anything starts (a token, a server)."""

    async def start(self) -> None:
        """Begin receiving."""

    async def stop(self) -> None:
        """Finish what is in flight and let go of connections."""

    async def __aenter__(self) -> Self:
        await self.initialize()
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()
