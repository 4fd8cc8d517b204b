"""The report status machine: forward only, closed is closed."""

from __future__ import annotations

import pytest

from bot.reports import status


def test_statuses_only_move_forward() -> None:
    assert status.can_move("new", "acknowledged") and status.can_move("new", "spam")
    assert not status.can_move("verifying", "acknowledged")
    assert not status.can_move("verifying", "verifying")
    assert status.choices("acknowledged") == ("verifying", "handled", "unfounded", "spam")


@pytest.mark.parametrize("closed", ["handled", "unfounded", "spam"])
def test_a_closed_report_moves_nowhere(closed: str) -> None:
    assert status.is_closed(closed) and not status.is_open(closed)
    assert status.choices(closed) == ()
    assert not any(status.can_move(closed, target) for target in status.STATUSES)


def test_every_status_is_open_or_closed() -> None:
    assert all(status.is_open(s) != status.is_closed(s) for s in status.STATUSES)
