"""What every channel adapter offers the rest of the bot."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from bot.conversation.messages import Reply


class Channel(Protocol):
    """A messaging platform. ``send`` raises a :class:`bot.errors.DeliveryError` subclass
    (``RetryLater``, ``Unreachable``, ``Undeliverable``) when the platform refuses; these are
    the only errors delivery has to understand."""

    name: str

    @property
    def addresses(self) -> Collection[str] | None:
        """The chats this process can reach now, or None for every chat of the platform."""
        ...

    async def send(self, chat_id: str, reply: Reply) -> None: ...
