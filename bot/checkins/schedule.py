"""When check-ins fall due: the management periods, the cadences, and quiet hours.

Pure functions of dates and moments: the scheduler tick asks for the slot after the one it just
planned, so a restart, a replica or a clock moved forward all land on the same slots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bot.clock import VIETNAM, QuietHours, local

KINDS = {"post_rehab_1y": 12, "post_rehab_2y": 24, "user_1y": 12, "custom": None}
"""Management types and their length in months, as the 2021 Law on Drug Prevention and Control
set them; the periods under Law 120/2025 are not confirmed yet, so a custom end date covers
any other."""

CADENCES = {"daily": (0, 1, 2, 3, 4, 5, 6), "twice_weekly": (0, 3), "weekly": (0,)}
"""Days, counted from the weekday of the start date, on which a check-in falls."""


def end_of(kind: str, start: date) -> date | None:
    """The last day of a management of ``kind`` begun on ``start``; None for custom."""
    months = KINDS[kind]
    if months is None:
        return None
    year, month = divmod(start.month - 1 + months, 12)
    day = min(start.day, _days_in(start.year + year, month + 1))
    return date(start.year + year, month + 1, day) - timedelta(days=1)


def _days_in(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


@dataclass(frozen=True, slots=True)
class Schedule:
    starts_on: date
    ends_on: date
    cadence: str
    at: time
    quiet: QuietHours = field(default_factory=QuietHours)

    def next_slot(self, after: datetime) -> datetime | None:
        """The first check-in strictly after ``after``; None once the management has ended.

        A preferred time inside the quiet hours moves to their end, the morning after.
        """
        offsets = CADENCES[self.cadence]
        day = max(self.starts_on, local(after).date() - timedelta(days=1))
        while day <= self.ends_on:
            if (day - self.starts_on).days % 7 in offsets:
                slot = self.quiet.next_allowed(datetime.combine(day, self.at, tzinfo=VIETNAM))
                if slot > after:
                    return slot
            day += timedelta(days=1)
        return None


def parse_time(text: str) -> time:
    """``HH:MM`` in Vietnam time; ValueError otherwise."""
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(text)
    return time(int(hours), int(minutes))
