"""Long texts in parts a platform takes in one message each, cut where a reader would pause.

Platforms count their limits differently (Telegram counts UTF-16 code units of the text once
its HTML is parsed, Zalo a plain character count), so the caller passes its own ``measure``.
"""

from __future__ import annotations

from collections.abc import Callable

# Where a long text may be cut, best first. Each cut keeps the separator's first character
# with the part before (the full stop stays with its sentence).
_SEPARATORS = ("\n\n", "\n", ". ", "! ", "? ", "… ", "; ", ", ", " ")

Measure = Callable[[str], int]


def utf16_units(text: str) -> int:
    """Characters as most platforms count them: an emoji outside the BMP takes two."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _fitting(text: str, limit: int, measure: Measure) -> int:
    """How many leading characters of ``text`` fit ``limit``."""
    if measure(text) <= limit:
        return len(text)  # the usual case: one measure of the whole text
    # A prefix's size grows with its length: the longest that fits is found by halving.
    fits, overflows = 0, len(text)
    while overflows - fits > 1:
        middle = (fits + overflows) // 2
        if measure(text[:middle]) <= limit:
            fits = middle
        else:
            overflows = middle
    return fits


def split_text(text: str, limit: int, measure: Measure = utf16_units) -> list[str]:
    """``text`` in parts that fit one message each (none for blank text), cut at the most
    natural boundary in the second half of a full part: paragraph, line, sentence, clause,
    word, else anywhere."""
    parts: list[str] = []
    rest = text.strip()
    while rest:
        fit = _fitting(rest, limit, measure)
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
