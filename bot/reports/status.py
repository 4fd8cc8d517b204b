"""A report's status as one state machine: statuses only move forward, and the three closing
ones end the report (its reply handle is deleted, no more questions reach the reporter).

::

    new -> acknowledged -> verifying -> handled | unfounded | spam
      \\____________________\\___________^  (any later status may be set directly)
"""

from __future__ import annotations

from bot.store.reports import CLOSED_STATUSES, OPEN_STATUSES

STATUSES = ("new", "acknowledged", "verifying", "handled", "unfounded", "spam")
SETTABLE = ("verifying", "handled", "unfounded", "spam")
"""What an officer picks from the status menu (acknowledging has its own button)."""
_RANK = {"new": 0, "acknowledged": 1, "verifying": 2, "handled": 3, "unfounded": 3, "spam": 3}


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES


def is_closed(status: str) -> bool:
    return status in CLOSED_STATUSES


def can_move(current: str, target: str) -> bool:
    """Whether a report in ``current`` may be set to ``target``."""
    return not is_closed(current) and target in _RANK and _RANK[target] > _RANK[current]


def choices(current: str) -> tuple[str, ...]:
    """The statuses an officer may set next, in menu order."""
    return tuple(status for status in SETTABLE if can_move(current, status))
