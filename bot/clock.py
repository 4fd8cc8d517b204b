"""Time as Vietnam lives it: the zone, the coarse buckets reports are stamped with, working
days (weekends and public holidays, Tết included, from ``holidays``, with the government's
yearly swaps as overrides) and quiet hours for messages that can wait.

Everything takes the moment or the day it works on, never reads the clock itself, so that
callers pass their injectable clock and tests need no patching.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

PartOfDay = Literal["night", "morning", "afternoon", "evening"]
_PARTS: tuple[PartOfDay, ...] = ("night", "morning", "afternoon", "evening")


def local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is needed")
    return moment.astimezone(VIETNAM)


def time_bucket(moment: datetime, tz: ZoneInfo = VIETNAM) -> tuple[date, PartOfDay]:
    """The local day and the quarter of it (night 0-6h, morning 6-12h, afternoon 12-18h,
    evening 18-24h): all police learn of when a report arrived."""
    if moment.tzinfo is None:
        raise ValueError("time_bucket needs an aware datetime")
    moment = moment.astimezone(tz)
    return moment.date(), _PARTS[moment.hour // 6]


def hour_of(moment: datetime) -> datetime:
    """``moment`` cut to its hour: as fine as any stored time on a report's path needs to be,
    since police see only the day and its quarter."""
    return moment.replace(minute=0, second=0, microsecond=0)


@cache
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year))


@dataclass(frozen=True, slots=True)
class Calendar:
    """Working days: Monday to Friday except public holidays, corrected by the overrides the
    government announces each year (a Saturday worked to bridge a holiday, an extra day off)."""

    extra_days_off: Collection[date] = field(default_factory=frozenset)
    extra_working_days: Collection[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off or day.weekday() >= 5:
            return False
        return day not in _public_holidays(day.year)

    def add_working_days(self, day: date, count: int) -> date:
        """The working day ``count`` working days after ``day`` (before it when negative)."""
        step = timedelta(days=1 if count >= 0 else -1)
        remaining = abs(count)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def nearest_working_day(self, day: date, *, earlier: bool) -> date:
        """``day`` itself when it is a working day, else the one before or after it."""
        step = timedelta(days=-1 if earlier else 1)
        while not self.is_working_day(day):
            day += step
        return day


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local hours in which messages that can wait are held (a reminder at 23:00 helps nobody)."""

    start: time = time(21, 0)
    end: time = time(7, 0)

    def next_allowed(self, moment: datetime) -> datetime:
        """``moment`` itself outside the quiet hours, else the end of them (as aware UTC-able
        time in Vietnam's zone)."""
        here = local(moment)
        now = here.time()
        overnight = self.start > self.end
        quiet = (now >= self.start or now < self.end) if overnight else \
            (self.start <= now < self.end)
        if not quiet:
            return moment
        day = here.date()
        if overnight and now >= self.start:
            day += timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=VIETNAM)
