"""How a :class:`bot.conversation.messages.Reply` looks on Telegram: escaped HTML, parts
under the length limit, options as an inline keyboard."""

from __future__ import annotations

import html
from functools import lru_cache

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.split import split_text as split
from bot.channels.split import utf16_units

MAX_MESSAGE = 4096
"""Telegram's limit, in UTF-16 code units of the visible text."""
MAX_CALLBACK_BYTES = 64
SHORT_LABEL = 14
"""Labels up to this many characters share a keyboard row two by two."""
PAYLOAD_PREFIX = "p:"
"""Button data kept server side travels as ``p:<id>``."""
KEYBOARDS_KEPT = 512
"""Distinct keyboards kept built; the common ones (menus, the buttons under an answer) are few."""

def escape(text: str) -> str:
    return html.escape(text, quote=False)


def _escaped_units(text: str) -> int:
    """UTF-16 code units ``text`` takes once escaped (what Telegram counts)."""
    return utf16_units(escape(text))


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """``text`` in parts that fit one Telegram message each once escaped."""
    return split(text, limit, _escaped_units)


def needs_reference(data: str) -> bool:
    """Data that must be kept server side: too long for Telegram, or looking like a reference."""
    return len(data.encode()) > MAX_CALLBACK_BYTES or data.startswith(PAYLOAD_PREFIX)


@lru_cache(maxsize=KEYBOARDS_KEPT)
def keyboard(buttons: tuple[tuple[str, str], ...]) -> InlineKeyboardMarkup | None:
    """An inline keyboard from ``(label, callback data)`` pairs: one button a row, two when
    neighbouring labels are both short. The same few keyboards end most replies, and PTB's
    objects are immutable, so each is built once and shared."""
    if not buttons:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    pending: InlineKeyboardButton | None = None
    for label, data in buttons:
        button = InlineKeyboardButton(label, callback_data=data)
        if len(label) > SHORT_LABEL:
            if pending is not None:
                rows.append([pending])
                pending = None
            rows.append([button])
        elif pending is None:
            pending = button
        else:
            rows.append([pending, button])
            pending = None
    if pending is not None:
        rows.append([pending])
    return InlineKeyboardMarkup(rows)
