"""When a rule is due and when its reminders go out, on the working-day calendar.

Periods are named by their last month, the month the report is due in: ``2026-11`` (a month),
``2026-Q4``, ``2026-H1`` (January to June), ``2026-9M`` (January to September), ``2026`` (the
year). A one-off rule's period is its date; a case's is made when the case is recorded.
"""

from __future__ import annotations

import calendar as months
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bot.clock import VIETNAM, Calendar, QuietHours
from bot.deadlines.rules import Rule

LAST_MONTHS: dict[str, tuple[int, ...]] = {
    "month": tuple(range(1, 13)), "quarter": (3, 6, 9, 12), "six_months": (6,),
    "nine_months": (9,), "year": (12,)}
_KEY = re.compile(r"^(\d{4})(?:-(\d{2})|-Q([1-4])|-(H1)|-(9M))?$")


@dataclass(frozen=True, slots=True)
class Period:
    key: str
    year: int
    month: int
    """The period's last month."""


def period_of(every: str, year: int, month: int) -> Period:
    if every == "month":
        return Period(f"{year}-{month:02d}", year, month)
    suffix = {"quarter": f"-Q{month // 3}", "six_months": "-H1", "nine_months": "-9M",
              "year": ""}[every]
    return Period(f"{year}{suffix}", year, month)


def parse_period(key: str) -> tuple[str, Period] | None:
    """``(every, period)`` for a recurring period key; None for anything else."""
    found = _KEY.match(key)
    if not found:
        return None
    year, month, quarter, half, nine = found.groups()
    if month is not None:
        return ("month", Period(key, int(year), int(month))) if 1 <= int(month) <= 12 else None
    if quarter is not None:
        return "quarter", Period(key, int(year), int(quarter) * 3)
    if half is not None:
        return "six_months", Period(key, int(year), 6)
    if nine is not None:
        return "nine_months", Period(key, int(year), 9)
    return "year", Period(key, int(year), 12)


def due_date(rule: Rule, period: Period, days: Calendar) -> date:
    """The working day a recurring rule is due for ``period``."""
    if rule.after_window is not None:
        closes = date(period.year, period.month, rule.window_closes)
        return days.add_working_days(closes, rule.after_window)
    assert rule.due_day is not None
    last = months.monthrange(period.year, period.month)[1]
    return on_working_day(rule, date(period.year, period.month, min(rule.due_day, last)), days)


def on_working_day(rule: Rule, day: date, days: Calendar) -> date:
    return days.nearest_working_day(day, earlier=rule.day_off == "earlier")


def periods_due_between(rule: Rule, first: date, last: date,
                        days: Calendar) -> Iterator[tuple[Period, date]]:
    """The periods of a recurring or one-off rule due from ``first`` to ``last``, in order."""
    if rule.kind == "once":
        assert rule.day is not None
        due = on_working_day(rule, rule.day, days)
        if first <= due <= last:
            yield Period(rule.day.isoformat(), rule.day.year, rule.day.month), due
        return
    if rule.kind != "recurring":
        return
    assert rule.every is not None
    # A due date moved by a day off, or after_window, stays within weeks of its month.
    for index in range(_month_index(first) - 2, _month_index(last) + 3):
        year, month = index // 12, index % 12 + 1
        if month in LAST_MONTHS[rule.every]:
            period = period_of(rule.every, year, month)
            due = due_date(rule, period, days)
            if first <= due <= last:
                yield period, due


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def next_due(rule: Rule, today: date, days: Calendar) -> tuple[Period, date] | None:
    """The first period of ``rule`` due today or later (None for a past one-off or a case)."""
    horizon = today + timedelta(days=800)  # a yearly rule's next due date is within two years
    return next(periods_due_between(rule, today, horizon, days), None)


@dataclass(frozen=True, slots=True)
class Timing:
    """How reminders of one deadline spread over the calendar."""

    offsets: Sequence[int]
    """Working days before the due date on which officers are reminded (0: the due day)."""
    follow_up_days: int
    """Calendar days after the due date during which the overdue keep being reminded."""
    at: time
    """Local time of day the reminders and digests go out."""
    quiet: QuietHours = field(default_factory=QuietHours)

    def reminder_days(self, due: date, days: Calendar) -> list[date]:
        return sorted({days.add_working_days(due, -offset) for offset in self.offsets})

    def overdue_days(self, due: date, days: Calendar) -> list[date]:
        """The working days after ``due`` on which the late are reminded and digests go up."""
        found: list[date] = []
        day = due
        while True:
            day = days.add_working_days(day, 1)
            if day > due + timedelta(days=self.follow_up_days):
                return found
            found.append(day)

    def first_reminder(self, due: date, days: Calendar) -> date:
        return days.add_working_days(due, -max(self.offsets, default=0))

    def moment(self, day: date) -> datetime:
        """When the round of ``day`` goes out: at ``at``, or, when that is in the quiet hours,
        as they end that morning (a round belongs to its day: the next one has its own)."""
        wanted = datetime.combine(day, self.at, tzinfo=VIETNAM)
        allowed = self.quiet.next_allowed(wanted)
        if allowed.date() == day:
            return allowed
        return datetime.combine(day, self.quiet.end, tzinfo=VIETNAM)
