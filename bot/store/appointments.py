"""Appointments of enrolled people: every query of them.

What an appointment is for and where arrives sealed; only its time is readable, for the
calendar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import appointments

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
