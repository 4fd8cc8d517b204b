"""Text folding shared by every search in the bot (FAQ, communes).

People type Vietnamese with or without diacritics, so every comparison happens on a folded form:
NFC-normalised, lower case, diacritics removed, "đ" turned into "d", punctuation into spaces.
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def fold(text: str) -> str:
    """Return the search form of ``text``: ``"Ma Túy Đá?"`` becomes ``"ma tuy da"``."""
    lowered = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    stripped = "".join(ch for ch in lowered if unicodedata.category(ch) != "Mn")
    return _NON_WORD.sub(" ", stripped).strip()


def tokens(text: str) -> list[str]:
    """Folded words of ``text``."""
    return fold(text).split()


def clean_user_text(text: str, limit: int) -> str:
    """NFC-normalise, drop control characters and cut to ``limit`` characters."""
    normalised = unicodedata.normalize("NFC", text)
    return _CONTROL.sub("", normalised).strip()[:limit]
