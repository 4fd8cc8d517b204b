"""Deadline rules and their calendar: the shipped file, problems reported with their lines,
due dates at month ends, in leap years, around Tết 2027 and on holidays, reminder days."""

from __future__ import annotations

from datetime import date, time
from functools import cache

import pytest

from bot.clock import Calendar
from bot.conversation.i18n import LANGUAGES, catalog
from bot.deadlines import places_of
from bot.deadlines.periods import (
    LAST_MONTHS,
    Period,
    Timing,
    due_date,
    next_due,
    parse_period,
    period_of,
    periods_due_between,
)
from bot.deadlines.rules import DEFAULT_RULES, Places, Rule, load, parse
from bot.errors import DeadlineRulesError
from bot.settings import Settings
from tests.conftest import commune_list

DAYS = Calendar()
TITLE = 'title.vi = "Báo cáo"\ntitle.en = "Report"\n'


@cache
def places() -> Places:
    return places_of(*commune_list())


def rule(**fields: object) -> Rule:
    base: dict[str, object] = {"id": "r", "title": {"vi": "Báo cáo", "en": "Report"},
                               "kind": "recurring", "role": "officer", "every": "month",
                               "due_day": 20}
    base.update(fields)
    return Rule(**base)  # type: ignore[arg-type]


def problems(text: str) -> list[str]:
    with pytest.raises(DeadlineRulesError) as raised:
        parse(text, places(), name="rules.toml")
    return raised.value.problems


# --- the file --------------------------------------------------------------------------------

def test_the_shipped_rules_load_and_are_all_marked_defaults() -> None:
    shipped = load(DEFAULT_RULES, places())
    assert {r.kind for r in shipped.rules} == {"recurring", "case"}
    assert {r.every for r in shipped.rules if r.kind == "recurring"} == set(LAST_MONTHS)
    assert all(r.default and r.basis for r in shipped.rules)
    [case] = [r for r in shipped.rules if r.kind == "case"]
    assert (case.event, case.working_days) == ("positive_test", 3)


def test_every_problem_is_reported_with_its_line_and_nothing_loads() -> None:
    text = ("[[rule]]\n"           # 1
            'id = "monthly"\n'     # 2
            + TITLE +              # 3-4
            'role = "boss"\n'      # 5
            'every = "week"\n'     # 6
            "due_day = 40\n"       # 7
            "\n"
            "[[rule]]\n"           # 9
            'id = "monthly"\n'     # 10
            + TITLE +              # 11-12
            'role = "officer"\n'   # 13
            'scope = ["99999", "26743"]\n'  # 14
            "every = 'month'\n"
            "due_day = 4\n"
            "due_days = 5\n")      # 17
    found = problems(text)
    assert found == [
        "rules.toml:5: rule 'monthly': role must be one of officer, supervisor (not 'boss')",
        "rules.toml:6: rule 'monthly': every must be one of month, quarter, six_months, "
        "nine_months, year (not 'week')",
        "rules.toml:7: rule 'monthly': due_day is a day of the month, 1 to 31 (a short month "
        "uses its last)",
        "rules.toml:10: rule 'monthly': id used twice (first on line 2)",
        "rules.toml:17: rule 'monthly': unknown key 'due_days'",
        "rules.toml:14: rule 'monthly': unknown commune code(s) '99999'",
    ]


@pytest.mark.parametrize(("body", "expected"), [
    ('kind = "once"\nrole = "officer"\n', "rules.toml:1: rule 'x': a one-off rule has date"),
    ('kind = "case"\nrole = "officer"\nevent = "positive_test"\n',
     "rules.toml:1: rule 'x': a case rule has working_days"),
    ('role = "supervisor"\nscope = ["26743"]\nevery = "month"\ndue_day = 3\n',
     "rules.toml:6: rule 'x': a supervisor's rule covers all provinces or one province"),
    ('role = "officer"\nscope = "99"\nevery = "month"\ndue_day = 3\n',
     "rules.toml:6: rule 'x': unknown province code '99'"),
    ('role = "officer"\nevery = "month"\ndue_day = 3\nafter_window = 2\n',
     "rules.toml:7: rule 'x': a recurring rule has due_day or after_window"),
    ('role = "officer"\nevery = "month"\ndue_day = 3\nreminders = [-1]\n',
     "rules.toml:8: rule 'x': reminders is a list of working days"),
])
def test_a_rule_missing_what_its_kind_needs_is_named(body: str, expected: str) -> None:
    [problem] = problems(f'[[rule]]\nid = "x"\n{TITLE}{body}')
    assert problem.startswith(expected), problem


def test_bad_toml_and_an_empty_file_say_so() -> None:
    [syntax] = problems('[[rule]]\nid = "x\n')
    assert syntax.startswith("rules.toml: not valid TOML") and "line 2" in syntax
    [empty] = problems("# nothing yet\n")
    assert "no [[rule]] entries" in empty


def test_the_calendar_overrides_are_checked() -> None:
    text = (f'[calendar]\nworking_days = [2027-02-13]\ndays_off = [2027-02-13]\n\n'
            f'[[rule]]\nid = "x"\n{TITLE}role = "officer"\nevery = "month"\ndue_day = 3\n')
    [both] = problems(text)
    assert both == "rules.toml:1: 2027-02-13 both a working day and a day off"
    fine = parse(text.replace("days_off = [2027-02-13]", "days_off = [2027-02-12]"), places())
    assert fine.extra_working_days == {date(2027, 2, 13)}


def test_a_rule_survives_the_trip_through_the_database_unchanged() -> None:
    for shipped in load(DEFAULT_RULES, places()).rules:
        assert Rule.from_json(shipped.to_json()) == shipped
    listed = rule(scope=("26743", "26740"), reminders=(5, 1, 0), kind="once", every=None,
                  due_day=None, day=date(2026, 12, 15))
    assert Rule.from_json(listed.to_json()) == listed


# --- due dates -------------------------------------------------------------------------------

def test_month_ends_and_leap_years() -> None:
    last = rule(due_day=31)
    assert due_date(last, period_of("month", 2026, 6), DAYS) == date(2026, 6, 30)
    # 30 April is Reunification Day.
    assert due_date(last, period_of("month", 2026, 4), DAYS) == date(2026, 4, 29)
    assert due_date(last, period_of("month", 2028, 2), DAYS) == date(2028, 2, 29)  # Tuesday
    # 28 Feb 2027 is a Sunday: the Friday before.
    assert due_date(last, period_of("month", 2027, 2), DAYS) == date(2027, 2, 26)
    assert due_date(last, period_of("month", 2027, 2), DAYS).weekday() == 4


def test_tet_2027_moves_a_due_date_earlier_or_later() -> None:
    # Tết 2027: 4 to 10 February are days off (from the holidays package).
    february = period_of("month", 2027, 2)
    assert due_date(rule(due_day=5), february, DAYS) == date(2027, 2, 3)
    assert due_date(rule(due_day=5, day_off="later"), february, DAYS) == date(2027, 2, 11)
    plan = Timing(offsets=(3, 1, 0), follow_up_days=30, at=time(8))
    assert plan.reminder_days(date(2027, 2, 11), DAYS) == [
        date(2027, 2, 1), date(2027, 2, 3), date(2027, 2, 11)]
    assert plan.overdue_days(date(2027, 2, 3), DAYS)[:2] == [date(2027, 2, 11),
                                                              date(2027, 2, 12)]


def test_a_rule_on_a_holiday_and_a_swapped_saturday() -> None:
    national_day = rule(kind="once", every=None, due_day=None, day=date(2026, 9, 2))
    assert next_due(national_day, date(2026, 8, 1), DAYS) == (
        Period("2026-09-02", 2026, 9), date(2026, 8, 28))  # 31 Aug - 2 Sep are off
    swapped = Calendar(extra_working_days={date(2026, 8, 29)})
    assert next_due(national_day, date(2026, 8, 1), swapped)[1] == date(2026, 8, 29)  # type: ignore[index]
    assert next_due(national_day, date(2026, 9, 3), DAYS) is None


def test_working_days_after_the_window_closes() -> None:
    after = rule(due_day=None, after_window=3)
    # 14 Feb 2027 is a Sunday after Tết: Monday 15 is the first working day.
    assert due_date(after, period_of("month", 2027, 2), DAYS) == date(2027, 2, 17)
    # 14 Nov 2026 is a Saturday: Monday 16, Tuesday 17, Wednesday 18.
    assert due_date(after, period_of("month", 2026, 11), DAYS) == date(2026, 11, 18)


def test_periods_of_each_kind_in_a_year() -> None:
    for every, months in LAST_MONTHS.items():
        found = list(periods_due_between(rule(every=every), date(2026, 1, 1),
                                         date(2026, 12, 31), DAYS))
        assert [period.month for period, _ in found] == list(months)
        for period, _ in found:
            assert parse_period(period.key) == (every, period)
    assert [p.key for p, _ in periods_due_between(rule(every="quarter"), date(2026, 1, 1),
                                                   date(2026, 12, 31), DAYS)] == [
        "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert parse_period("2026-13") is None and parse_period("Q4") is None


def test_reminders_skip_days_off_and_quiet_hours() -> None:
    plan = Timing(offsets=(3, 1, 0), follow_up_days=30, at=time(8))
    # Due Monday 23 Nov 2026: three working days before is Wednesday 18.
    assert plan.reminder_days(date(2026, 11, 23), DAYS) == [
        date(2026, 11, 18), date(2026, 11, 20), date(2026, 11, 23)]
    assert plan.moment(date(2026, 11, 18)).isoformat() == "2026-11-18T08:00:00+07:00"
    early = Timing(offsets=(0,), follow_up_days=30, at=time(5, 30))
    assert early.moment(date(2026, 11, 18)).isoformat() == "2026-11-18T07:00:00+07:00"
    late = Timing(offsets=(0,), follow_up_days=30, at=time(22, 0))
    assert late.moment(date(2026, 11, 18)).isoformat() == "2026-11-18T07:00:00+07:00"
    assert plan.overdue_days(date(2026, 12, 25), DAYS)[0] == date(2026, 12, 28)


def test_settings_give_the_reminder_days() -> None:
    assert Settings(_env_file=None).deadline_reminder_offsets == (3, 1, 0)
    assert Settings(_env_file=None, deadline_reminder_days="5, 0").deadline_reminder_offsets == (
        5, 0)
    with pytest.raises(ValueError):
        Settings(_env_file=None, deadline_reminder_days="three")


def test_every_weekday_and_period_has_words_in_both_languages() -> None:
    ids = [f"deadlines.weekday.{day}" for day in range(7)]
    ids += [f"deadlines.period.{every}" for every in LAST_MONTHS]
    for language in LANGUAGES:
        assert not [i for i in ids if i not in catalog(language)], language
