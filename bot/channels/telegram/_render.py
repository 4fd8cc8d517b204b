"""How a :class:`bot.conversation.messages.Reply` looks on Telegram: escaped HTML, parts
under the length limit, options as an inline keyboard."""

from __future__ import annotations

import html
from functools import lru_cache

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

MAX_MESSAGE = 4096
"""Telegram's limit, in UTF-16 code units of the visible text."""
MAX_CALLBACK_BYTES = 64
SHORT_LABEL = 14
"""Labels up to this many characters share a keyboard row two by two."""
PAYLOAD_PREFIX = "p:"
"""Button data kept server side travels as ``p:<id>``."""
KEYBOARDS_KEPT = 512
"""Distinct keyboards kept built; the common ones (menus, the buttons under an answer) are few."""

# Where a long text may be cut, best first. Each cut keeps the separator's first character
# with the part before (the full stop stays with its sentence).
_SEPARATORS = ("\n\n", "\n", ". ", "! ", "? ", "… ", "; ", ", ", " ")


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def _escaped_units(text: str) -> int:
    """UTF-16 code units ``text`` takes once escaped (what Telegram counts)."""
    return len(escape(text).encode("utf-16-le", "surrogatepass")) // 2


def _fitting(text: str, limit: int) -> int:
    """How many leading characters of ``text`` fit ``limit`` once escaped."""
    if _escaped_units(text) <= limit:
        return len(text)  # the usual case: one measure of the whole text
    # A prefix's size grows with its length: the longest that fits is found by halving.
    fits, overflows = 0, len(text)
    while overflows - fits > 1:
        middle = (fits + overflows) // 2
        if _escaped_units(text[:middle]) <= limit:
            fits = middle
        else:
            overflows = middle
    return fits


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """``text`` in parts that fit one message each (none for blank text), cut at the most
    natural boundary in the second half of a full part: paragraph, line, sentence, clause,
    word, else anywhere."""
    parts: list[str] = []
    rest = text.strip()
    while rest:
        fit = _fitting(rest, limit)
        if fit == len(rest):
            parts.append(rest)
            break
        window = rest[:fit]
        cut = fit
        for separator in _SEPARATORS:
            found = window.rfind(separator, fit // 2)
            if found > 0:
                cut = found + 1
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return parts


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
