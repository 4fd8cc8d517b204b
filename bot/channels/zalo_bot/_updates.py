"""What a Zalo Bot Platform update means for the bot, before anything is downloaded or
dispatched.

:func:`unwrap` finds the update in a webhook body (documented as ``{ok, result: {...}}``,
delivered flat as ``{event_name, message}``: both are taken). :func:`read` sorts any update,
however malformed, into one of three events: something to dispatch (:class:`Received`),
something a person sent that the bot cannot read (:class:`NotUnderstood`: stickers, voice,
and what Zalo withholds from protected accounts such as children's), or nothing to act on
(:class:`Ignored`, with a reason fit for a log line). Zalo groups are in beta and would be
police units: only commands are heard there, and nothing posted in one is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.channels.zalo_shared import platform_id, update_id
from bot.conversation.messages import ChatKind, Incoming
from bot.text import clean_platform_text

CHANNEL = "zalo_bot"

TEXT = "message.text.received"
IMAGE = "message.image.received"
# Events that carry something a person sent on purpose, which the bot has no use for.
_NOT_READ = frozenset({"message.sticker.received", "message.voice.received",
                       "message.unsupported.received"})
_KINDS = {"PRIVATE": ChatKind.PRIVATE, "GROUP": ChatKind.GROUP}


@dataclass(frozen=True, slots=True)
class Received:
    incoming: Incoming
    update_id: int | None
    photo: bool = False
    """A picture came with it; ``photo_url`` is where to fetch it, if Zalo said."""
    photo_url: str | None = None


@dataclass(frozen=True, slots=True)
class NotUnderstood:
    chat_id: str
    user_id: str
    update_id: int | None


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str
    update_id: int | None = None


Event = Received | NotUnderstood | Ignored


def unwrap(body: object) -> dict[str, Any] | None:
    """The update in a webhook body, or None when it holds none."""
    if not isinstance(body, dict):
        return None
    result = body.get("result")
    if "event_name" not in body and isinstance(result, dict):
        body = result
    return body if isinstance(body.get("event_name"), str) else None


def read(update: object) -> Event:
    if not isinstance(update, dict):
        return Ignored("not an object")
    message = update.get("message")
    if not isinstance(message, dict):
        return Ignored("no message")
    chat, sender = message.get("chat"), message.get("from")
    chat_id = platform_id(chat.get("id")) if isinstance(chat, dict) else None
    user_id = platform_id(sender.get("id")) if isinstance(sender, dict) else None
    if chat_id is None or user_id is None:
        return Ignored("no chat or sender")
    assert isinstance(chat, dict) and isinstance(sender, dict)
    message_id = platform_id(message.get("message_id"))
    number = update_id(message_id) if message_id is not None else None
    if sender.get("is_bot") is True:
        return Ignored("from a bot", number)
    chat_type = chat.get("chat_type", "PRIVATE")
    kind = _KINDS.get(chat_type) if isinstance(chat_type, str) else None
    if kind is None:
        return Ignored("unknown chat type", number)
    event = update.get("event_name")
    if event == TEXT:
        text = message.get("text")
        if not isinstance(text, str) or not clean_platform_text(text).strip():
            return Ignored("empty text", number)
        return Received(Incoming.from_text(CHANNEL, chat_id, user_id, clean_platform_text(text),
                                           chat_kind=kind), number)
    if kind is ChatKind.GROUP:
        return Ignored("not a command", number)
    if event == IMAGE:
        caption = message.get("caption")
        text = clean_platform_text(caption).strip() if isinstance(caption, str) else ""
        return Received(Incoming(CHANNEL, chat_id, user_id, chat_kind=kind, text=text or None),
                        number, photo=True, photo_url=_photo_url(message))
    if isinstance(event, str) and event in _NOT_READ:
        return NotUnderstood(chat_id, user_id, number)
    return Ignored("unknown event", number)


def _photo_url(message: dict[str, Any]) -> str | None:
    """Where the picture is: ``photo_url`` in what Zalo delivers, ``photo`` in its docs."""
    for key in ("photo_url", "photo"):
        value = message.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    return None
