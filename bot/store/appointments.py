"""Appointments of enrolled people and the weekly digest's rounds: every query of both.

What an appointment is for and where arrives sealed; only its time is readable, for the
calendar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store._upsert import insert_ignore
from bot.store.schema import appointments, checkin_alerts, checkins, digest_rounds

PLANNED, COMING, CANNOT, ATTENDED, ABSENT = "planned", "coming", "cannot", "attended", "absent"
ANSWERS = (COMING, CANNOT)
"""What the person may answer, as often as they change their mind."""
MARKS = (ATTENDED, ABSENT)
"""What the officer records afterwards."""


@dataclass(frozen=True, slots=True)
class Appointment:
    id: int
    enrolment_id: int
    at: datetime
    details: bytes
    status: str
    stage: str
    next_at: datetime | None
    created_at: datetime


def _appointment(row: object) -> Appointment:
    return Appointment(*(getattr(row, name) for name in Appointment.__slots__))


async def add(conn: AsyncConnection, *, enrolment_id: int, at: datetime, details: bytes,
              stage: str, next_at: datetime | None, now: datetime) -> int:
    return int((await conn.execute(insert(appointments).values(
        enrolment_id=enrolment_id, at=at, details=details, status=PLANNED, stage=stage,
        next_at=next_at, created_at=now,
    ).returning(appointments.c.id))).scalar_one())


async def get(conn: AsyncConnection, appointment_id: int) -> Appointment | None:
    row = (await conn.execute(select(appointments).where(
        appointments.c.id == appointment_id))).first()
    return _appointment(row) if row else None


async def claim_due(conn: AsyncConnection, now: datetime, limit: int) -> list[Appointment]:
    """Appointments whose next step is due; on PostgreSQL rows another scheduler holds are
    skipped."""
    rows = await conn.execute(
        select(appointments).where(appointments.c.next_at <= now)
        .order_by(appointments.c.next_at, appointments.c.id).limit(limit)
        .with_for_update(skip_locked=True))
    return [_appointment(row) for row in rows]


async def advance(conn: AsyncConnection, appointment_id: int, stage: str,
                  next_at: datetime | None) -> None:
    await conn.execute(update(appointments).where(appointments.c.id == appointment_id)
                       .values(stage=stage, next_at=next_at))


async def set_status(conn: AsyncConnection, appointment_id: int, status: str,
                     allowed: Sequence[str]) -> bool:
    """Move to ``status`` from one of ``allowed``; False when it was elsewhere."""
    result = await conn.execute(update(appointments).where(
        appointments.c.id == appointment_id, appointments.c.status.in_(list(allowed)))
        .values(status=status))
    return bool(result.rowcount)


# --- the weekly digest ----------------------------------------------------------------------

async def claim_digest(conn: AsyncConnection, week: str, now: datetime) -> bool:
    """True for the one scheduler that starts ``week``'s digest."""
    result = await conn.execute(insert_ignore(conn, digest_rounds).values(
        week=week, started_at=now).on_conflict_do_nothing(index_elements=["week"]))
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class Week:
    """One enrolment's week, as its case officer reads it."""

    answered: int = 0
    missed: int = 0
    alerts: int = 0


async def weeks(conn: AsyncConnection, since: datetime) -> dict[int, Week]:
    """Check-ins answered and missed since ``since`` and alerts raised since then, by
    enrolment, in two grouped queries whatever the number of people."""
    counted: dict[int, dict[str, int]] = {}
    rows = await conn.execute(select(checkins.c.enrolment_id, checkins.c.status, func.count())
                              .where(checkins.c.slot >= since)
                              .group_by(checkins.c.enrolment_id, checkins.c.status))
    for enrolment_id, status, count in rows:
        counted.setdefault(enrolment_id, {})[status] = int(count)
    rows = await conn.execute(select(checkin_alerts.c.enrolment_id, func.count())
                              .where(checkin_alerts.c.created_at >= since)
                              .group_by(checkin_alerts.c.enrolment_id))
    for enrolment_id, count in rows:
        counted.setdefault(enrolment_id, {})["alerts"] = int(count)
    return {enrolment_id: Week(found.get("answered", 0), found.get("missed", 0),
                               found.get("alerts", 0))
            for enrolment_id, found in counted.items()}
