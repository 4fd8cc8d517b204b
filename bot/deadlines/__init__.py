"""Reporting deadlines of commune police and provincial supervisors.

Rules are data (:mod:`bot.deadlines.rules`), loaded into the database by the administrator;
the shipped file is loaded on a first start. A rule targets a **unit**: each commune for an
officer's rule, each province for a supervisor's. One period of a rule (or one case) is a
``deadlines`` row; each unit submits it once, whoever presses "Submitted" first.

- :mod:`bot.deadlines.periods`: due dates and reminder days on the working-day calendar;
- :mod:`bot.deadlines.notices`: what reminders and digests say, and their buttons;
- :mod:`bot.deadlines.planner`: the scheduled rounds of reminders and digests;
- this module: the rules in force, units, submitting, "remind me tomorrow", cases and where
  each unit stands.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Calendar, local
from bot.deadlines.periods import Period, Timing, periods_due_between
from bot.deadlines.rules import DEFAULT_RULES, Places, Rule, RuleSet, load
from bot.geo import Commune, CommuneIndex, Province
from bot.officials import ADMIN, Scope
from bot.settings import Settings
from bot.store import deadlines as store
from bot.store.deadlines import Deadline, Submission

CASE_EVENT = "positive_test"


@dataclass(frozen=True, slots=True)
class Book:
    """The rules in force and the working-day calendar they count on."""

    rules: Mapping[str, Rule]
    calendar: Calendar
    since: Mapping[str, date]
    """The day each rule was first loaded: periods due before it are not reminded."""


async def open_book(conn: AsyncConnection) -> Book:
    stored = await store.active_rules(conn)
    overrides = await store.overrides(conn)
    days = Calendar(extra_days_off=frozenset(d for d, working in overrides.items() if not working),
                    extra_working_days=frozenset(d for d, working in overrides.items() if working))
    return Book({rule_id: Rule.from_json(body) for rule_id, (body, _) in stored.items()}, days,
                {rule_id: local(added).date() for rule_id, (_, added) in stored.items()})


def places_of(provinces: Iterable[Province], communes: Iterable[Commune]) -> Places:
    return Places(communes=frozenset(c.code for c in communes),
                  provinces=frozenset(p.code for p in provinces))


async def load_rules(conn: AsyncConnection, rule_set: RuleSet, now: datetime) -> dict[str, int]:
    overrides = {day: True for day in rule_set.extra_working_days}
    overrides.update({day: False for day in rule_set.extra_days_off})
    return await store.replace_rules(conn, {rule.id: rule.to_json() for rule in rule_set.rules},
                                     overrides, now)


async def ensure_defaults(conn: AsyncConnection, places: Places, now: datetime) -> bool:
    """Load the shipped rules into a database that never had any; True if it did."""
    if await store.has_rules(conn):
        return False
    await load_rules(conn, load(DEFAULT_RULES, places), now)
    return True


def timing(settings: Settings, rule: Rule | None = None) -> Timing:
    """When ``rule``'s reminders go out (the settings' days unless the rule names its own)."""
    own = rule.reminders if rule is not None else None
    return Timing(offsets=own or settings.deadline_reminder_offsets,
                  follow_up_days=settings.deadline_follow_up_days,
                  at=settings.deadline_reminder_time)


# --- units -----------------------------------------------------------------------------------

def units(rule: Rule, deadline: Deadline | None, index: CommuneIndex) -> list[str]:
    """The communes (officer's rule) or provinces (supervisor's) that owe ``deadline``."""
    if deadline is not None and deadline.commune_code is not None:
        return [deadline.commune_code]  # a case belongs to the commune that recorded it
    by_province = _communes_by_province(index)
    if rule.role == "supervisor":
        return list(by_province) if rule.scope == "all" else [str(rule.scope)]
    if isinstance(rule.scope, tuple):
        return list(rule.scope)
    if rule.scope == "all":
        return [code for codes in by_province.values() for code in codes]
    return list(by_province.get(rule.scope, ()))


@lru_cache(maxsize=4)
def _communes_by_province(index: CommuneIndex) -> dict[str, tuple[str, ...]]:
    # Sorting a province's communes by name for every round of every rule would cost more
    # than the round itself: the index never changes in a process.
    return {province.code: tuple(c.code for c in index.communes_in(province.code))
            for province in index.provinces()}


def unit_of(rule: Rule, scope: Scope) -> str | None:
    """The unit a police chat answers for under ``rule`` (None: not theirs to submit)."""
    if rule.role == "officer" and scope.role == "officer":
        return scope.commune_code
    if rule.role == "supervisor" and scope.role == "supervisor":
        return scope.province_code
    return None


def province_of(rule: Rule, unit: str, index: CommuneIndex) -> str:
    if rule.role == "supervisor":
        return unit
    commune = index.get(unit)
    return commune.province_code if commune else ""


def unit_name(rule: Rule, unit: str, index: CommuneIndex) -> str:
    return _unit_name(rule.role, unit, index)


@lru_cache(maxsize=8192)
def _unit_name(role: str, unit: str, index: CommuneIndex) -> str:
    # A missed deadline's digest names a few hundred units every day: the index never
    # changes in a process, so neither do their names.
    if role == "supervisor":
        return next((p.name for p in index.provinces() if p.code == unit), unit)
    commune = index.get(unit)
    return f"{commune.name}, {commune.province_name}" if commune else unit


def in_scope(rule: Rule, unit: str, scope: Scope, index: CommuneIndex) -> bool:
    """Whether ``scope`` may see where ``unit`` stands."""
    if scope.role == ADMIN:
        return True
    if scope.role == "officer":
        return rule.role == "officer" and unit == scope.commune_code
    return province_of(rule, unit, index) == scope.province_code


# --- periods open now ------------------------------------------------------------------------

Wanted = Callable[[Rule, date], bool]


async def open_deadlines(conn: AsyncConnection, book: Book, settings: Settings, today: date,
                         now: datetime, wanted: Wanted | None = None,
                         skip: Collection[tuple[str, str, date]] = (),
                         ) -> list[tuple[Rule, Deadline]]:
    """Every period (and case) whose reminders have begun and whose follow-up is not over,
    each with its row (made when new); ``wanted(rule, due)`` picks some, and ``skip`` leaves
    out ``(rule, period, today)``, before any row is read or made."""
    found: list[tuple[Rule, Deadline]] = []
    window = timedelta(days=settings.deadline_follow_up_days)
    for rule in book.rules.values():
        plan = timing(settings, rule)
        for period, due in periods_due_between(rule, today - window, today + timedelta(days=90),
                                               book.calendar):
            if (book.since[rule.id] <= due and plan.first_reminder(due, book.calendar) <= today
                    and (wanted is None or wanted(rule, due))
                    and (rule.id, period.key, today) not in skip):
                found.append((rule, await store.upsert(conn, rule_id=rule.id, period=period.key,
                                                       due_on=due, now=now)))
    for case in await store.cases_due_since(conn, today - window):
        case_rule = book.rules.get(case.rule_id)
        if (case_rule is not None and (wanted is None or wanted(case_rule, case.due_on))
                and (case.rule_id, case.period, today) not in skip):
            found.append((case_rule, case))
    return found


def period_due(rule: Rule, period: Period, book: Book) -> date | None:
    """The due date of ``period`` of a recurring or one-off rule."""
    around = date(period.year, period.month, 1)
    return next((due for found, due in periods_due_between(
        rule, around - timedelta(days=62), around + timedelta(days=93), book.calendar)
        if found.key == period.key), None)


# --- what officers do ------------------------------------------------------------------------

async def submit(conn: AsyncConnection, deadline: Deadline, unit: str, *, by: str,
                 now: datetime) -> tuple[Submission, bool]:
    """Record ``unit``'s submission; the one that stands, and whether it is this one."""
    recorded = await store.submit(conn, deadline.id, unit, by=by, now=now)
    return recorded, recorded.submitted_by == by and recorded.submitted_at == now


async def remind_tomorrow(conn: AsyncConnection, deadline: Deadline, unit: str, today: date,
                          days: Calendar) -> date | None:
    """Ask for a reminder on the next working day, never past the due day; None from the due
    day on (a daily reminder follows anyway)."""
    if today >= deadline.due_on:
        return None
    day = min(days.add_working_days(today, 1), deadline.due_on)
    await store.snooze(conn, deadline.id, unit, day)
    return day


async def record_case(conn: AsyncConnection, book: Book, commune_code: str, province_code: str,
                      *, reference: str, tested_on: date,
                      now: datetime) -> list[tuple[Rule, Deadline]]:
    """The case deadlines a positive test starts for ``commune_code`` (``reference`` sealed
    by the caller); empty when no case rule covers the commune."""
    started = []
    for rule in book.rules.values():
        if rule.kind != "case" or rule.event != CASE_EVENT or rule.role != "officer":
            continue
        if not _covers(rule, commune_code, province_code):
            continue
        assert rule.working_days is not None
        due = book.calendar.add_working_days(tested_on, rule.working_days)
        period = f"{tested_on:%Y%m%d}-{secrets.token_hex(3)}"
        started.append((rule, await store.add_case(
            conn, rule_id=rule.id, period=period, due_on=due, commune_code=commune_code,
            reference=reference, now=now)))
    return started


def _covers(rule: Rule, commune_code: str, province_code: str) -> bool:
    if isinstance(rule.scope, tuple):
        return commune_code in rule.scope
    return rule.scope in ("all", province_code)


# --- where units stand -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Standing:
    rule: Rule
    deadline: Deadline
    units: Sequence[str]
    """The units the viewer may see, in order."""
    submitted: Mapping[str, Submission]

    @property
    def missing(self) -> list[str]:
        return [unit for unit in self.units if unit not in self.submitted]


async def standing(conn: AsyncConnection, rule: Rule, deadline: Deadline, index: CommuneIndex,
                   scope: Scope) -> Standing:
    shown = [unit for unit in units(rule, deadline, index) if in_scope(rule, unit, scope, index)]
    done = await store.submissions(conn, deadline.id)
    return Standing(rule, deadline, shown, {u: s for u, s in done.items() if u in set(shown)})
