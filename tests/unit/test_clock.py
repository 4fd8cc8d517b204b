"""Vietnam time: buckets, working days with holidays and overrides, quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from bot.clock import VIETNAM, Calendar, QuietHours, time_bucket

# --- time buckets ----------------------------------------------------------------------------

@pytest.mark.parametrize(("utc", "expected"), [
    (datetime(2026, 3, 1, 16, 59, 59, tzinfo=UTC), (date(2026, 3, 1), "evening")),
    (datetime(2026, 3, 1, 17, 0, tzinfo=UTC), (date(2026, 3, 2), "night")),
    (datetime(2026, 3, 1, 22, 59, 59, tzinfo=UTC), (date(2026, 3, 2), "night")),
    (datetime(2026, 3, 1, 23, 0, tzinfo=UTC), (date(2026, 3, 2), "morning")),
    (datetime(2026, 3, 2, 4, 59, 59, tzinfo=UTC), (date(2026, 3, 2), "morning")),
    (datetime(2026, 3, 2, 5, 0, tzinfo=UTC), (date(2026, 3, 2), "afternoon")),
    (datetime(2026, 3, 2, 10, 59, 59, tzinfo=UTC), (date(2026, 3, 2), "afternoon")),
    (datetime(2026, 3, 2, 11, 0, tzinfo=UTC), (date(2026, 3, 2), "evening")),
    (datetime(2025, 12, 31, 17, 30, tzinfo=UTC), (date(2026, 1, 1), "night")),
])
def test_time_bucket_in_vietnam(utc: datetime, expected: tuple[date, str]) -> None:
    assert time_bucket(utc) == expected


def test_time_bucket_converts_any_zone() -> None:
    paris_summer = timezone(timedelta(hours=2))
    assert time_bucket(datetime(2026, 7, 1, 7, 0, tzinfo=paris_summer)) == (date(2026, 7, 1),
                                                                            "afternoon")


def test_time_bucket_refuses_naive_times() -> None:
    with pytest.raises(ValueError):
        time_bucket(datetime(2026, 3, 1, 12, 0))


# --- working days ----------------------------------------------------------------------------

def test_tet_and_weekends_are_not_working_days() -> None:
    calendar = Calendar()
    assert not calendar.is_working_day(date(2026, 2, 17))  # Tết
    assert not calendar.is_working_day(date(2026, 9, 2))  # National Day
    assert not calendar.is_working_day(date(2026, 12, 5))  # a Saturday
    assert calendar.is_working_day(date(2026, 12, 4))


def test_working_days_skip_tet_and_honour_overrides() -> None:
    # Friday 13 Feb 2026 + 1 working day: Tết runs 16-20 Feb, so Monday 23 Feb
    assert Calendar().add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 23)
    swapped = Calendar(extra_working_days={date(2026, 2, 14)},
                       extra_days_off={date(2026, 2, 23)})
    assert swapped.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert swapped.add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert Calendar().add_working_days(date(2026, 2, 23), -1) == date(2026, 2, 13)


def test_a_day_off_moves_to_the_nearest_working_day_either_way() -> None:
    calendar = Calendar()
    assert calendar.nearest_working_day(date(2026, 9, 2), earlier=True) == date(2026, 8, 28)
    assert calendar.nearest_working_day(date(2026, 9, 2), earlier=False) == date(2026, 9, 3)


# --- quiet hours -----------------------------------------------------------------------------

@pytest.mark.parametrize(("local_time", "expected"), [
    (datetime(2026, 3, 2, 20, 59, tzinfo=VIETNAM), datetime(2026, 3, 2, 20, 59, tzinfo=VIETNAM)),
    (datetime(2026, 3, 2, 21, 0, tzinfo=VIETNAM), datetime(2026, 3, 3, 7, 0, tzinfo=VIETNAM)),
    (datetime(2026, 3, 3, 3, 0, tzinfo=VIETNAM), datetime(2026, 3, 3, 7, 0, tzinfo=VIETNAM)),
    (datetime(2026, 3, 3, 7, 0, tzinfo=VIETNAM), datetime(2026, 3, 3, 7, 0, tzinfo=VIETNAM)),
])
def test_quiet_hours_hold_until_morning(local_time: datetime, expected: datetime) -> None:
    assert QuietHours().next_allowed(local_time.astimezone(UTC)) == expected


def test_quiet_hours_within_one_day() -> None:
    lunch = QuietHours(start=time(11, 30), end=time(13, 30))
    assert lunch.next_allowed(datetime(2026, 3, 2, 12, 0, tzinfo=VIETNAM)) == \
        datetime(2026, 3, 2, 13, 30, tzinfo=VIETNAM)
    assert lunch.next_allowed(datetime(2026, 3, 2, 14, 0, tzinfo=VIETNAM)) == \
        datetime(2026, 3, 2, 14, 0, tzinfo=VIETNAM)
