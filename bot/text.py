"""Text folding shared by every search in the bot (FAQ, communes).

People type Vietnamese with or without diacritics, so every comparison happens on a folded form:
NFC-normalised, lower case, diacritics removed, "đ" turned into "d", punctuation into spaces.
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Characters that reorder what is shown around them (a ticket or an address could be made to
# read as another) and lone surrogates (halves of a character that no encoder accepts).
_UNSAFE = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def fold(text: str) -> str:
    """Return the search form of ``text``: ``"Ma Túy Đá?"`` becomes ``"ma tuy da"``."""
    lowered = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    stripped = "".join(ch for ch in lowered if unicodedata.category(ch) != "Mn")
    return _NON_WORD.sub(" ", stripped).strip()


def tokens(text: str) -> list[str]:
    """Folded words of ``text``."""
    return fold(text).split()


def clean_platform_text(text: str) -> str:
    """``text`` as a platform handed it over, without what no part of the bot can store or
    show safely: NUL and other control characters, lone surrogates, bidirectional controls.
    Line breaks and tabs stay."""
    return _UNSAFE.sub("", _CONTROL.sub("", text))


def clean_user_text(text: str, limit: int) -> str:
    """NFC-normalise, drop control, bidirectional-control and lone-surrogate characters, and
    cut to ``limit`` characters."""
    return clean_platform_text(unicodedata.normalize("NFC", clean_platform_text(text))
                               ).strip()[:limit]
