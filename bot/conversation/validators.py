"""Checks for what people type at a flow step: each turns the text into a value or raises
:class:`Invalid` with the message id that says what was wrong.

Shared by every flow so that "too short", "not a date" and "yes or no?" read the same
everywhere, in both languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Protocol

from bot.conversation.i18n import gettext as _
from bot.text import fold


class Invalid(ValueError):
    """What was typed does not fit the step; ``message`` says why, in the current language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Validator(Protocol):
    def parse(self, text: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class Text:
    min_length: int = 1
    max_length: int = 2000
    min_words: int = 0  # a description of one word tells police nothing to check

    def parse(self, text: str) -> str:
        value = text.strip()
        if len(value) < self.min_length:
            raise Invalid(_("input.too_short", minimum=self.min_length))
        if len(value) > self.max_length:
            raise Invalid(_("input.too_long", limit=self.max_length))
        if len(fold(value).split()) < self.min_words:
            raise Invalid(_("input.too_few_words", minimum=self.min_words))
        return value


_YES = frozenset({"co", "yes", "y", "ok", "okay", "dong y", "u", "uh", "vang", "da", "duoc",
                  "co a", "vang a", "da co", "chac chan", "sure", "yeah", "yep", "agree",
                  "i agree", "toi dong y", "dong y a", "co dong y", "duoc a", "of course"})
_NO = frozenset({"khong", "ko", "k", "no", "n", "nope", "thoi", "khong co", "khong a",
                 "khong can", "khong dong y", "no thanks", "no thank you", "i do not agree",
                 "i don t agree", "dont agree", "khong muon", "thoi khong"})


@dataclass(frozen=True, slots=True)
class YesNo:
    def parse(self, text: str) -> bool:
        folded = fold(text).strip(" .!?")
        if folded in _YES:
            return True
        if folded in _NO:
            return False
        raise Invalid(_("input.yes_no"))


@dataclass(frozen=True, slots=True)
class Number:
    minimum: int
    maximum: int

    def parse(self, text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise Invalid(_("input.number", minimum=self.minimum, maximum=self.maximum)) from None
        if not self.minimum <= value <= self.maximum:
            raise Invalid(_("input.number", minimum=self.minimum, maximum=self.maximum))
        return value


_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class Date:
    def parse(self, text: str) -> date:
        value = text.strip()
        for pattern in _DATE_FORMATS:
            try:
                return datetime.strptime(value, pattern).date()
            except ValueError:
                continue
        raise Invalid(_("input.date"))


@dataclass(frozen=True, slots=True)
class Time:
    """``HH:MM`` (``8:30``, ``08.30`` and ``8h30`` too)."""

    def parse(self, text: str) -> time:
        value = text.strip().lower().replace(".", ":").replace("h", ":")
        hours, _colon, minutes = value.partition(":")
        try:
            return time(int(hours), int(minutes or 0))
        except ValueError:
            raise Invalid(_("input.time")) from None


@dataclass(frozen=True, slots=True)
class Choice:
    """One of a few words (folded, so diacritics and case do not matter) mapped to values."""

    words: Mapping[str, Any] = field(default_factory=dict)

    def parse(self, text: str) -> Any:
        folded = fold(text).strip(" .!?")
        for word, value in self.words.items():
            if fold(word) == folded:
                return value
        raise Invalid(_("input.choice", choices=", ".join(self.words)))
