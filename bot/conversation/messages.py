"""Channel-neutral messages: what handlers receive and what they answer.

A channel adapter turns a platform update into an :class:`Incoming` and renders a
:class:`Reply` the way its platform can (inline keyboards, numbered options, ...).
Handlers never see a platform object.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

MAX_TEXT = 4000
"""Longest user text a handler ever sees; channels cut longer input before dispatch."""


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the user sent. ``data`` is filled by the channel once downloaded, then replaced
    by a clean JPEG before dispatch; ``refused`` says why a file could not be one."""

    kind: str  # "photo" | "document"
    data: bytes = b""
    mime_type: str | None = None
    size: int | None = None
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    channel: str
    chat_id: str
    user_id: str
    chat_kind: ChatKind = ChatKind.PRIVATE
    text: str | None = None
    command: str | None = None
    args: str = ""
    choice: str | None = None
    location: Location | None = None
    attachments: tuple[Attachment, ...] = ()
    locale_hint: str | None = None
    edited: bool = False

    @classmethod
    def from_text(cls, channel: str, chat_id: str, user_id: str, text: str,
                  **extra: Any) -> Incoming:
        """Split a typed line into command and arguments (``/start PAYLOAD``, ``/cmd@bot``)."""
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, _, rest = stripped.partition(" ")
            name = head[1:].split("@", 1)[0].lower()
            if name.isidentifier():
                return cls(channel, chat_id, user_id, text=stripped, command=name,
                           args=rest.strip(), **extra)
        return cls(channel, chat_id, user_id, text=stripped, **extra)


@dataclass(frozen=True, slots=True)
class Option:
    """A choice offered to the user. ``data`` comes back as :attr:`Incoming.choice`."""

    label: str
    data: str
    keep: bool = False
    """Shown on every page when a long list is paged ("choose by province", "menu")."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can show, declared by the channel and honoured by the dispatcher, so
    that handlers never need to know how many buttons a platform allows."""

    buttons: bool = True
    """Options are tappable buttons; without, they are numbered lines to answer with a number."""
    max_options: int = 10
    """Options in one message before a list is paged."""
    payload_bytes: int = 64
    editing: bool = False
    """A reply can replace the message a button was pressed on."""
    photos_in: bool = True
    photos_out: bool = True
    text_limit: int = 4096
    numbers: bool = False
    """Buttons that send back their option's number as typed text (Zalo OA's, whose tap is
    a message): the options are numbered like numbered lines, and a typed number works too."""

    @property
    def numbered(self) -> bool:
        return not self.buttons or self.numbers


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    options: tuple[Option, ...] = ()
    edit: bool = False
    """Replace the message the user pressed a button on, where the platform can."""
    photos: tuple[bytes, ...] = ()
    """Pictures sent with the text (JPEG). Only direct replies carry them: never queued."""
    first_number: int = 1
    """On a numbered channel, the number of the first option (later ones count on)."""

    def to_json(self) -> str:
        payload = {"text": self.text, "options": [asdict(option) for option in self.options],
                   "edit": self.edit}
        return json.dumps(payload, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Reply:
        payload = json.loads(raw)
        return cls(
            text=payload["text"],
            options=tuple(Option(**option) for option in payload.get("options", [])),
            edit=bool(payload.get("edit", False)),
        )
