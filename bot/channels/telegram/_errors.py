"""The one place where python-telegram-bot's errors become the bot's delivery errors."""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.errors import DeliveryError, RetryLater, Unconfirmed, Undeliverable, Unreachable

# Telegram's descriptions that say the chat itself is gone rather than the message being wrong.
_GONE = ("chat not found", "user is deactivated", "bot was blocked", "bot was kicked",
         "have no rights to send", "not enough rights to send")


def is_group(chat_id: str) -> bool:
    """Negative ids are groups, supergroups and channels: the per-group budget applies."""
    return chat_id.startswith("-")


def retry_seconds(exc: RetryAfter) -> float:
    """Telegram's ``retry_after`` in seconds, whichever type this PTB version hands back."""
    with warnings.catch_warnings():
        # 22.x warns that the attribute becomes a timedelta; both forms are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(exc: TelegramError) -> DeliveryError:
    """What delivery should do about ``exc``: retry, forget the chat, or give up on the message.

    The reason never quotes Telegram's description at length: it is stored with outbox rows
    and written to logs, and some descriptions echo what was sent.
    """
    if isinstance(exc, RetryAfter):
        return RetryLater("telegram flood control", retry_after=retry_seconds(exc))
    if isinstance(exc, Forbidden | ChatMigrated):
        return Unreachable(f"telegram: {type(exc).__name__}")
    if isinstance(exc, BadRequest):
        # BadRequest is a NetworkError subclass: it must be tested first.
        if any(marker in exc.message.lower() for marker in _GONE):
            return Unreachable("telegram: chat not found")
        return Undeliverable(f"telegram bad request: {_short(exc.message)}")
    if type(exc) is TelegramError and "invalid server response" in exc.message.lower():
        # PTB's word for a successful answer that is not JSON: the message went out.
        return Unconfirmed("telegram answer unreadable")
    if isinstance(exc, InvalidToken):
        # The token was revoked: nothing sends until an operator fixes it, so keep the rows.
        return RetryLater("telegram rejected the bot token")
    # TimedOut, NetworkError (5xx, connection), Conflict: transient from here
    return RetryLater(f"telegram {type(exc).__name__}")


def unreadable(exc: Exception) -> Unconfirmed:
    """An error PTB raised that is none of its own: reading an answer it did not expect (a
    field of the wrong type, a missing result), after the request went out."""
    return Unconfirmed(f"telegram answer unreadable: {type(exc).__name__}")


def _short(description: str) -> str:
    """The fixed part of a Telegram description (before any offset or echoed detail)."""
    return description.removeprefix("Bad Request: ").split(":", 1)[0][:80]
