"""Reporting deadlines: the loaded rules, the calendar's overrides, the periods reminded,
the rounds claimed, submissions and "remind me tomorrow".

A round of reminders (or a digest) is claimed by inserting its ``deadline_runs`` row in the
transaction that queues its messages: a second process inserting the same row waits for the
first to commit and then inserts nothing, and a process that dies before committing leaves
no row, so the round is planned again. Nothing is sent twice and nothing is lost.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ARRAY, Text, bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import _raw
from bot.store._upsert import insert_ignore
from bot.store.officers import Inbox
from bot.store.schema import (
    calendar_overrides,
    deadline_rules,
    deadline_runs,
    deadline_snoozes,
    deadline_submissions,
    deadlines,
    inboxes,
)


@dataclass(frozen=True, slots=True)
class Deadline:
    id: int
    rule_id: str
    period: str
    due_on: date
    commune_code: str | None
    reference: str | None
    """Sealed: the officer's own reference for a case."""


@dataclass(frozen=True, slots=True)
class Submission:
    unit: str
    submitted_at: datetime
    submitted_by: str


# --- rules and the calendar ------------------------------------------------------------------

async def replace_rules(conn: AsyncConnection, bodies: dict[str, str],
                        overrides: dict[date, bool], now: datetime) -> dict[str, int]:
    """Make ``bodies`` the active rules (the others inactive) and ``overrides`` the calendar's
    overrides; returns how many rules were ``added``, ``changed`` and ``retired``."""
    stored = {row.id: (row.body, row.active) for row in await conn.execute(
        select(deadline_rules.c.id, deadline_rules.c.body, deadline_rules.c.active))}
    counts = {"added": 0, "changed": 0, "retired": 0}
    for rule_id, body in bodies.items():
        if rule_id not in stored:
            counts["added"] += 1
            await conn.execute(deadline_rules.insert().values(
                id=rule_id, body=body, active=True, added_at=now, loaded_at=now))
        elif stored[rule_id] != (body, True):
            counts["changed"] += 1
            await conn.execute(update(deadline_rules).where(deadline_rules.c.id == rule_id)
                               .values(body=body, active=True, loaded_at=now))
    retired = [rule_id for rule_id, (_, active) in stored.items()
               if active and rule_id not in bodies]
    if retired:
        counts["retired"] = len(retired)
        await conn.execute(update(deadline_rules).where(deadline_rules.c.id.in_(retired))
                           .values(active=False, loaded_at=now))
    await conn.execute(delete(calendar_overrides))
    if overrides:
        await conn.execute(calendar_overrides.insert(),
                           [{"day": day, "working": working} for day, working in overrides.items()])
    return counts


async def has_rules(conn: AsyncConnection) -> bool:
    """Whether rules were ever loaded (the shipped defaults load on a first start only)."""
    return bool((await conn.execute(select(func.count()).select_from(deadline_rules)))
                .scalar_one())


async def active_rules(conn: AsyncConnection) -> dict[str, tuple[str, datetime]]:
    """Each active rule's body and when it was first loaded."""
    rows = await conn.execute(
        select(deadline_rules.c.id, deadline_rules.c.body, deadline_rules.c.added_at)
        .where(deadline_rules.c.active.is_(True)).order_by(deadline_rules.c.id))
    return {row.id: (row.body, row.added_at) for row in rows}


async def overrides(conn: AsyncConnection) -> dict[date, bool]:
    rows = await conn.execute(select(calendar_overrides.c.day, calendar_overrides.c.working))
    return {row.day: row.working for row in rows}


# --- periods ---------------------------------------------------------------------------------

def _deadline(row: object) -> Deadline:
    return Deadline(*(getattr(row, name) for name in Deadline.__slots__))


async def upsert(conn: AsyncConnection, *, rule_id: str, period: str, due_on: date,
                 now: datetime) -> Deadline:
    """The row of ``rule_id`` for ``period``, made if new; a due date moved by a reloaded
    rule is followed."""
    query = select(deadlines).where(deadlines.c.rule_id == rule_id, deadlines.c.period == period)
    row = (await conn.execute(query)).first()
    if row is None:
        await conn.execute(insert_ignore(conn, deadlines).values(
            rule_id=rule_id, period=period, due_on=due_on, created_at=now,
        ).on_conflict_do_nothing(index_elements=["rule_id", "period"]))
        row = (await conn.execute(query)).one()
    if row.due_on != due_on:
        await conn.execute(update(deadlines).where(deadlines.c.id == row.id)
                           .values(due_on=due_on))
    return Deadline(row.id, rule_id, period, due_on, row.commune_code, row.reference)


async def add_case(conn: AsyncConnection, *, rule_id: str, period: str, due_on: date,
                   commune_code: str, reference: str, now: datetime) -> Deadline:
    result = await conn.execute(deadlines.insert().values(
        rule_id=rule_id, period=period, due_on=due_on, commune_code=commune_code,
        reference=reference, created_at=now).returning(deadlines.c.id))
    return Deadline(result.scalar_one(), rule_id, period, due_on, commune_code, reference)


async def by_id(conn: AsyncConnection, deadline_id: int) -> Deadline | None:
    row = (await conn.execute(select(deadlines).where(deadlines.c.id == deadline_id))).first()
    return _deadline(row) if row else None


async def cases_due_since(conn: AsyncConnection, since: date,
                          commune_code: str | None = None) -> list[Deadline]:
    query = select(deadlines).where(deadlines.c.commune_code.is_not(None),
                                    deadlines.c.due_on >= since)
    if commune_code is not None:
        query = query.where(deadlines.c.commune_code == commune_code)
    return [_deadline(row) for row in await conn.execute(query.order_by(deadlines.c.due_on,
                                                                        deadlines.c.id))]


async def of_period(conn: AsyncConnection, period: str) -> list[Deadline]:
    rows = await conn.execute(select(deadlines).where(deadlines.c.period == period)
                              .order_by(deadlines.c.rule_id))
    return [_deadline(row) for row in rows]


# --- rounds, submissions, snoozes ------------------------------------------------------------

async def replannable(conn: AsyncConnection) -> None:
    """A tick's rounds are planned again when their transaction is lost, so PostgreSQL need
    not wait for its commit to reach the disk: what is lost in a crash is what nobody acted
    on yet (a sender's claim commits durably, and with it everything committed before)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SET LOCAL synchronous_commit TO OFF"))



async def claim_run(conn: AsyncConnection, deadline_id: int, kind: str, day: date,
                    now: datetime) -> bool:
    """True for the one transaction that gets to plan this round."""
    result = await conn.execute(insert_ignore(conn, deadline_runs).values(
        deadline_id=deadline_id, kind=kind, day=day, planned_at=now,
    ).on_conflict_do_nothing(index_elements=["deadline_id", "kind", "day"]))
    return bool(result.rowcount)


async def submit(conn: AsyncConnection, deadline_id: int, unit: str, *, by: str,
                 now: datetime) -> Submission:
    """Record the submission (the first one stands); returns the one recorded."""
    await conn.execute(insert_ignore(conn, deadline_submissions).values(
        deadline_id=deadline_id, unit=unit, submitted_at=now, submitted_by=by,
    ).on_conflict_do_nothing(index_elements=["deadline_id", "unit"]))
    found = await submissions(conn, deadline_id, [unit])
    return found[unit]


async def submissions(conn: AsyncConnection, deadline_id: int,
                      units: Collection[str] | None = None) -> dict[str, Submission]:
    query = select(deadline_submissions).where(deadline_submissions.c.deadline_id == deadline_id)
    if units is not None:
        query = query.where(deadline_submissions.c.unit.in_(list(units)))
    return {row.unit: Submission(row.unit, row.submitted_at, row.submitted_by)
            for row in await conn.execute(query)}


async def submitted_count(conn: AsyncConnection, deadline_id: int) -> int:
    """How many units submitted ``deadline_id``: submissions are only ever added, so an
    unchanged count means unchanged submissions."""
    return int((await conn.execute(select(func.count()).select_from(deadline_submissions).where(
        deadline_submissions.c.deadline_id == deadline_id))).scalar_one())


async def unsubmitted(conn: AsyncConnection, deadline_id: int,
                      owing: Sequence[str]) -> list[str]:
    """The units of ``owing`` (in its order) that have not submitted ``deadline_id``.

    Before the due date a round finds no submission at all (one cheap look); after it, a few
    hundred of some 3,000 units have not submitted, sorted out by the database against its key
    and read straight from the driver, where SQLAlchemy's rows, or every submission sent back
    to compare here, would cost more than the query.
    """
    if not owing:
        return []
    any_in = select(deadline_submissions.c.unit).where(
        deadline_submissions.c.deadline_id == deadline_id).limit(1)
    if not await _raw.rows(conn, any_in):
        return list(owing)
    postgres = conn.dialect.name == "postgresql"
    query = _UNSUBMITTED_POSTGRES if postgres else _UNSUBMITTED_SQLITE
    missing = {unit for unit, in await _raw.rows(conn, query.bindparams(
        deadline=deadline_id, owing=list(owing) if postgres else json.dumps(list(owing))))}
    return [unit for unit in owing if unit in missing]


# NOT IN rather than NOT EXISTS: the submissions are hashed once (PostgreSQL) or indexed once
# (SQLite), where NOT EXISTS probes the key once per owing unit.
_UNSUBMITTED_SQLITE = text(
    "SELECT o.value FROM json_each(:owing) AS o WHERE o.value NOT IN (SELECT s.unit FROM"
    " deadline_submissions AS s WHERE s.deadline_id = :deadline)")
_UNSUBMITTED_POSTGRES = text(
    "SELECT o.unit FROM unnest(:owing) AS o(unit) WHERE o.unit NOT IN"
    " (SELECT s.unit FROM deadline_submissions AS s WHERE s.deadline_id = :deadline)",
).bindparams(bindparam("owing", type_=ARRAY(Text)))


async def submit_many(conn: AsyncConnection, deadline_id: int, units: Iterable[str], *, by: str,
                      now: datetime) -> None:
    """Submissions recorded in bulk (the benchmark's offices answering)."""
    rows = [{"deadline_id": deadline_id, "unit": unit, "submitted_at": now, "submitted_by": by}
            for unit in units]
    if rows:
        await conn.execute(insert_ignore(conn, deadline_submissions).on_conflict_do_nothing(
            index_elements=["deadline_id", "unit"]), rows)


async def snooze(conn: AsyncConnection, deadline_id: int, unit: str, remind_on: date) -> None:
    await conn.execute(delete(deadline_snoozes).where(
        deadline_snoozes.c.deadline_id == deadline_id, deadline_snoozes.c.unit == unit))
    await conn.execute(deadline_snoozes.insert().values(
        deadline_id=deadline_id, unit=unit, remind_on=remind_on, sent=False))


async def take_snoozes(conn: AsyncConnection, day: date) -> list[tuple[int, str]]:
    """The "remind me" of ``day`` still to send, claimed: ``(deadline_id, unit)``."""
    rows = await conn.execute(update(deadline_snoozes).where(
        deadline_snoozes.c.remind_on <= day, deadline_snoozes.c.sent.is_(False),
    ).values(sent=True).returning(deadline_snoozes.c.deadline_id, deadline_snoozes.c.unit))
    return sorted((row.deadline_id, row.unit) for row in rows)


# --- who is reminded -------------------------------------------------------------------------

async def inboxes_by_unit(conn: AsyncConnection, role: str) -> dict[str, list[Inbox]]:
    """Every active inbox of ``role``, by commune (officers) or province (supervisors)."""
    unit = inboxes.c.commune_code if role == "officer" else inboxes.c.province_code
    fields = [inboxes.c[name] for name in Inbox._fields]
    rows = await _raw.rows(conn, select(unit, *fields).where(
        inboxes.c.role == role, inboxes.c.active.is_(True)).order_by(unit, inboxes.c.id))
    found: dict[str, list[Inbox]] = defaultdict(list)
    for code, *values in rows:  # read every planning tick
        found[str(code)].append(Inbox._make(values))
    return found
