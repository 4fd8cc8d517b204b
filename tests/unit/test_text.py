"""What text from a platform loses before the bot stores, searches or shows it."""

from __future__ import annotations

import pytest

from bot.text import clean_platform_text, clean_user_text


@pytest.mark.parametrize("odd", ["\ud800", "\udfff", "\x00", "\u202e", "\u202a", "\u2066",
                                 "\u2069", "\u200e", "\u200f"])
def test_surrogates_nul_and_bidirectional_controls_are_dropped(odd: str) -> None:
    text = f"Quán {odd}nước hẻm 12{odd}"
    assert clean_platform_text(text) == "Quán nước hẻm 12"
    cleaned = clean_user_text(text, 100)
    assert cleaned == "Quán nước hẻm 12"
    cleaned.encode("utf-8")  # storable: no lone surrogate left


def test_line_breaks_and_tabs_stay() -> None:
    assert clean_platform_text("a\nb\tc") == "a\nb\tc"
