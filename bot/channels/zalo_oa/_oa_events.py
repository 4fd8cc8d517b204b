"""What a Zalo OA webhook body means for the bot, before anything is downloaded or dispatched.

:func:`read` sorts any body, however malformed, into one of a closed set of events: something
to dispatch (:class:`Received`: text, including a button's tap, which Zalo delivers as the
text the button carried; a photo; a location), a person following or leaving the OA
(:class:`Membership`), something a person sent that the bot cannot read (:class:`NotUnderstood`:
stickers, voice, files) or nothing to act on (:class:`Ignored`, with a reason fit for a log
line: receipts, the OA's own messages). An OA has no groups: every chat is one person's.

:func:`signature` is what ``X-ZEvent-Signature`` must carry: a plain SHA-256 (not an HMAC) of
the app id, the raw body, the body's timestamp and the OA secret key, in that order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bot.channels.zalo_shared import platform_id, update_id
from bot.conversation.messages import Incoming, Location
from bot.text import clean_platform_text

CHANNEL = "zalo_oa"

TEXT, IMAGE, LOCATION = "user_send_text", "user_send_image", "user_send_location"
FOLLOW, UNFOLLOW = "follow", "unfollow"
_NOT_READ = frozenset({"user_send_sticker", "user_send_audio", "user_send_video",
                       "user_send_file", "user_send_gif", "user_send_link",
                       "user_send_business_card"})


@dataclass(frozen=True, slots=True)
class Received:
    incoming: Incoming
    message_id: str
    """What a free reply quotes (Zalo's ``msg_id``)."""
    update_id: int
    photo: bool = False
    """A picture came with it; ``photo_url`` is where to fetch it, if Zalo said."""
    photo_url: str | None = None


@dataclass(frozen=True, slots=True)
class Membership:
    chat_id: str
    following: bool


@dataclass(frozen=True, slots=True)
class NotUnderstood:
    chat_id: str
    message_id: str
    update_id: int


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str
    update_id: int | None = None


Event = Received | Membership | NotUnderstood | Ignored


def signature(app_id: str, raw: bytes, timestamp: str, secret_key: str) -> str:
    return hashlib.sha256(app_id.encode() + raw + timestamp.encode()
                          + secret_key.encode()).hexdigest()


def given_signature(header: str) -> str:
    """The hex digest in an ``X-ZEvent-Signature`` header, written ``mac=<hex>`` or bare."""
    value = header.strip()
    return value[4:].strip() if value[:4].lower() == "mac=" else value


def timestamp_of(body: object) -> str | None:
    """The body's timestamp (milliseconds, a string or a number) as it is signed."""
    value = body.get("timestamp") if isinstance(body, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and value.isascii() and value.isdigit() else None


def read(body: object) -> Event:
    if not isinstance(body, dict):
        return Ignored("not an object")
    event = body.get("event_name")
    if event in (FOLLOW, UNFOLLOW):
        follower = body.get("follower") or body.get("sender")
        chat_id = platform_id(follower.get("id")) if isinstance(follower, dict) else None
        if chat_id is None:
            return Ignored("no follower")
        return Membership(chat_id, event == FOLLOW)
    if not isinstance(event, str) or not event.startswith("user_send_"):
        return Ignored("not a message from a person")
    sender, message = body.get("sender"), body.get("message")
    chat_id = platform_id(sender.get("id")) if isinstance(sender, dict) else None
    message_id = platform_id(message.get("msg_id")) if isinstance(message, dict) else None
    if chat_id is None or message_id is None:
        return Ignored("no sender or message id")
    assert isinstance(message, dict)
    number = update_id(message_id)
    if event == TEXT:
        text = message.get("text")
        if not isinstance(text, str) or not clean_platform_text(text).strip():
            return Ignored("empty text", number)
        return Received(Incoming.from_text(CHANNEL, chat_id, chat_id, clean_platform_text(text)),
                        message_id, number)
    attachment = _first_attachment(message)
    if event == IMAGE:
        caption = message.get("text")
        text = clean_platform_text(caption).strip() if isinstance(caption, str) else ""
        url = attachment.get("url")
        return Received(Incoming(CHANNEL, chat_id, chat_id, text=text or None), message_id,
                        number, photo=True,
                        photo_url=url if isinstance(url, str)
                        and url.startswith(("https://", "http://")) else None)
    if event == LOCATION:
        place = _location(attachment.get("coordinates"))
        if place is None:
            return Ignored("no coordinates", number)
        return Received(Incoming(CHANNEL, chat_id, chat_id, location=place), message_id, number)
    if event in _NOT_READ:
        return NotUnderstood(chat_id, message_id, number)
    return Ignored("unknown event", number)


def _first_attachment(message: dict[str, Any]) -> dict[str, Any]:
    """The payload of the message's first attachment ({} when there is none)."""
    attachments = message.get("attachments")
    first = attachments[0] if isinstance(attachments, list) and attachments else None
    payload = first.get("payload") if isinstance(first, dict) else None
    return payload if isinstance(payload, dict) else {}


def _location(value: object) -> Location | None:
    if not isinstance(value, dict):
        return None
    try:
        latitude, longitude = float(value["latitude"]), float(value["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return Location(latitude, longitude)
