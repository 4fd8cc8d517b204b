"""Enrolments, their check-ins and the alerts they raise: every query of the check-in side.

Names, answers and alert reasons arrive sealed; nothing here can read them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import (
    ARRAY,
    DateTime,
    Integer,
    and_,
    any_,
    bindparam,
    insert,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store._upsert import insert_ignore
from bot.store.schema import checkin_alerts, checkins, enrolments

INVITED, ACTIVE, PAUSED, DECLINED, ENDED = "invited", "active", "paused", "declined", "ended"
OPEN, ANSWERED, MISSED = "open", "answered", "missed"


@dataclass(frozen=True, slots=True)
class Enrolment:
    id: int
    commune_code: str
    province_code: str
    name: bytes
    case_officer: bytes | None
    kind: str
    starts_on: date
    ends_on: date
    cadence: str
    local_time: str
    language: str
    ask_use: bool
    status: str
    user_id: int | None
    address: bytes | None
    link_hash: str | None
    link_expires_at: datetime | None
    next_due_at: datetime | None
    misses: int
    created_at: datetime
    case_inbox_id: int | None


@dataclass(frozen=True, slots=True)
class Checkin:
    id: int
    enrolment_id: int
    slot: datetime
    status: str
    answers: bytes | None
    sent_at: datetime | None
    reminded: bool
    answered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Plan:
    """One enrolment's slot planned: its check-in, the slot after it, the misses so far."""

    enrolment_id: int
    slot: datetime
    following: datetime | None
    misses: int


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    enrolment_id: int
    reason: bytes
    created_at: datetime
    acknowledged_at: datetime | None
    escalated_at: datetime | None


def _enrolment(row: object) -> Enrolment:
    return Enrolment(*(getattr(row, name) for name in Enrolment.__slots__))


def _checkin(row: object) -> Checkin:
    return Checkin(*(getattr(row, name) for name in Checkin.__slots__))


def _alert(row: object) -> Alert:
    return Alert(*(getattr(row, name) for name in Alert.__slots__))


# --- enrolments -----------------------------------------------------------------------------

async def enrol(conn: AsyncConnection, *, commune_code: str, province_code: str, name: bytes,
                case_officer: bytes | None, kind: str, starts_on: date, ends_on: date,
                cadence: str, local_time: str, language: str, ask_use: bool, link_hash: str,
                link_expires_at: datetime, now: datetime, case_inbox_id: int | None = None,
                ) -> int:
    return int((await conn.execute(insert(enrolments).values(
        commune_code=commune_code, province_code=province_code, name=name,
        case_officer=case_officer, kind=kind, starts_on=starts_on, ends_on=ends_on,
        cadence=cadence, local_time=local_time, language=language, ask_use=ask_use,
        status=INVITED, link_hash=link_hash, link_expires_at=link_expires_at, misses=0,
        created_at=now, case_inbox_id=case_inbox_id,
    ).returning(enrolments.c.id))).scalar_one())


async def by_id(conn: AsyncConnection, enrolment_id: int) -> Enrolment | None:
    row = (await conn.execute(select(enrolments).where(enrolments.c.id == enrolment_id))).first()
    return _enrolment(row) if row else None


async def of_user(conn: AsyncConnection, user_id: int) -> Enrolment | None:
    row = (await conn.execute(select(enrolments).where(enrolments.c.user_id == user_id))).first()
    return _enrolment(row) if row else None


async def by_link(conn: AsyncConnection, link_hash: str, now: datetime) -> Enrolment | None:
    """The invited enrolment this code links, while the code is valid."""
    row = (await conn.execute(select(enrolments).where(
        enrolments.c.link_hash == link_hash, enrolments.c.status == INVITED,
        enrolments.c.link_expires_at > now))).first()
    return _enrolment(row) if row else None


async def link(conn: AsyncConnection, enrolment_id: int, user_id: int, address: bytes,
               next_due_at: datetime | None) -> None:
    """The person consented: the code is spent and check-ins are scheduled."""
    await conn.execute(update(enrolments).where(enrolments.c.user_id == user_id)
                       .values(user_id=None))  # a person linked again under a new enrolment
    await conn.execute(update(enrolments).where(enrolments.c.id == enrolment_id).values(
        user_id=user_id, address=address, status=ACTIVE, link_hash=None,
        link_expires_at=None, next_due_at=next_due_at))


async def set_status(conn: AsyncConnection, enrolment_id: int, status: str, *,
                     next_due_at: datetime | None = None) -> None:
    values: dict[str, object] = {"status": status, "next_due_at": next_due_at}
    if status == DECLINED:
        values.update(link_hash=None, link_expires_at=None)
    await conn.execute(update(enrolments).where(enrolments.c.id == enrolment_id).values(**values))


async def claim_due(conn: AsyncConnection, now: datetime, limit: int,
                    after: tuple[datetime, int] | None = None) -> list[Enrolment]:
    """Active enrolments whose next check-in is due, in (due time, id) order from ``after``
    on; on PostgreSQL rows another scheduler holds are skipped, so two planners never plan the
    same slot."""
    query = select(enrolments).where(enrolments.c.status == ACTIVE,
                                     enrolments.c.next_due_at <= now)
    if after is not None:
        due_at, last_id = after
        query = query.where(tuple_(enrolments.c.next_due_at, enrolments.c.id) > tuple_(
            literal(due_at, DateTime(timezone=True)), literal(last_id, Integer)))
    rows = await conn.execute(
        query.order_by(enrolments.c.next_due_at, enrolments.c.id).limit(limit)
        .with_for_update(skip_locked=True))
    return [_enrolment(row) for row in rows]


async def planned(conn: AsyncConnection, plans: Sequence[Plan]) -> None:
    """Record a batch of planned slots: the check-in rows and each enrolment's next due time
    and run of misses, in two statements whatever the batch's size."""
    if not plans:
        return
    if conn.dialect.name == "postgresql":
        # one array per column: an executemany of UPDATEs is a round trip a row on PostgreSQL
        ids = [plan.enrolment_id for plan in plans]
        await conn.execute(_PLANNED_POSTGRES, {
            "ids": ids, "slots": [plan.slot.astimezone(UTC) for plan in plans]})
        await conn.execute(_ADVANCED_POSTGRES, {
            "ids": ids, "following": [plan.following.astimezone(UTC) if plan.following else None
                                      for plan in plans],
            "misses": [plan.misses for plan in plans]})
        return
    await conn.execute(insert_ignore(conn, checkins).on_conflict_do_nothing(
        index_elements=["enrolment_id", "slot"]), [
        {"enrolment_id": plan.enrolment_id, "slot": plan.slot, "status": OPEN,
         "reminded": False} for plan in plans])
    await conn.execute(
        update(enrolments).where(enrolments.c.id == bindparam("planned_id"))
        .values(next_due_at=bindparam("following"), misses=bindparam("run_of_misses")),
        [{"planned_id": plan.enrolment_id, "following": plan.following,
          "run_of_misses": plan.misses} for plan in plans])


_PLANNED_POSTGRES = text(
    "INSERT INTO checkins (enrolment_id, slot, status, reminded)"
    " SELECT p.id, p.slot, 'open', false FROM unnest(:ids, :slots) AS p(id, slot)"
    " ON CONFLICT (enrolment_id, slot) DO NOTHING",
).bindparams(bindparam("ids", type_=ARRAY(Integer)),
             bindparam("slots", type_=ARRAY(DateTime(timezone=True))))
_ADVANCED_POSTGRES = text(
    "UPDATE enrolments SET next_due_at = p.following, misses = p.misses"
    " FROM unnest(:ids, :following, :misses) AS p(id, following, misses)"
    " WHERE enrolments.id = p.id",
).bindparams(bindparam("ids", type_=ARRAY(Integer)),
             bindparam("following", type_=ARRAY(DateTime(timezone=True))),
             bindparam("misses", type_=ARRAY(Integer)))


async def in_area(conn: AsyncConnection, *, commune_code: str | None,
                  province_code: str) -> list[Enrolment]:
    query = select(enrolments).where(enrolments.c.province_code == province_code)
    if commune_code is not None:
        query = query.where(enrolments.c.commune_code == commune_code)
    rows = await conn.execute(query.order_by(enrolments.c.id))
    return [_enrolment(row) for row in rows]


async def followed(conn: AsyncConnection) -> list[Enrolment]:
    """Everyone whose check-ins run or are paused: whom the weekly digest is about."""
    rows = await conn.execute(select(enrolments).where(
        enrolments.c.status.in_([ACTIVE, PAUSED])).order_by(enrolments.c.id))
    return [_enrolment(row) for row in rows]


# --- check-ins ------------------------------------------------------------------------------

async def miss_open(conn: AsyncConnection, enrolment_ids: Sequence[int]) -> dict[int, int]:
    """Mark the open check-ins of these enrolments missed (a new slot has come); how many
    each had."""
    if not enrolment_ids:
        return {}
    ids = list(enrolment_ids)
    # PostgreSQL: one array, not a parameter an id (a statement planned afresh each batch)
    among = checkins.c.enrolment_id == any_(bindparam("ids", ids, type_=ARRAY(Integer))) \
        if conn.dialect.name == "postgresql" else checkins.c.enrolment_id.in_(ids)
    rows = await conn.execute(update(checkins).where(among, checkins.c.status == OPEN)
                              .values(status=MISSED).returning(checkins.c.enrolment_id))
    return dict(Counter(rows.scalars()))


async def checkin(conn: AsyncConnection, checkin_id: int) -> Checkin | None:
    row = (await conn.execute(select(checkins).where(checkins.c.id == checkin_id))).first()
    return _checkin(row) if row else None


async def mark_missed(conn: AsyncConnection, checkin_ids: Sequence[int]) -> None:
    if checkin_ids:
        await conn.execute(update(checkins).where(checkins.c.id.in_(list(checkin_ids)))
                           .values(status=MISSED))


async def answer(conn: AsyncConnection, checkin_id: int, answers: bytes, now: datetime) -> bool:
    """Record the answers of an open check-in and end the run of misses; False when it was
    missed or answered before."""
    row = (await conn.execute(update(checkins).where(
        checkins.c.id == checkin_id, checkins.c.status == OPEN).values(
        status=ANSWERED, answers=answers, answered_at=now)
        .returning(checkins.c.enrolment_id))).first()
    if row is None:
        return False
    await conn.execute(update(enrolments).where(enrolments.c.id == row.enrolment_id)
                       .values(misses=0))
    return True


async def unsent(conn: AsyncConnection, now: datetime, limit: int) -> list[Checkin]:
    """Open check-ins planned but not yet put in front of the person (they were busy)."""
    rows = await conn.execute(select(checkins).where(
        checkins.c.status == OPEN, checkins.c.sent_at.is_(None), checkins.c.slot <= now)
        .order_by(checkins.c.slot).limit(limit).with_for_update(skip_locked=True))
    return [_checkin(row) for row in rows]


async def mark_sent(conn: AsyncConnection, checkin_id: int, now: datetime) -> None:
    await conn.execute(update(checkins).where(checkins.c.id == checkin_id).values(sent_at=now))


async def to_remind(conn: AsyncConnection, sent_before: datetime, limit: int) -> list[Checkin]:
    rows = await conn.execute(select(checkins).where(
        checkins.c.status == OPEN, checkins.c.reminded.is_(False),
        checkins.c.sent_at <= sent_before)
        .order_by(checkins.c.sent_at).limit(limit).with_for_update(skip_locked=True))
    return [_checkin(row) for row in rows]


async def mark_reminded(conn: AsyncConnection, checkin_id: int) -> None:
    await conn.execute(update(checkins).where(checkins.c.id == checkin_id).values(reminded=True))


async def last_answered(conn: AsyncConnection, enrolment_id: int) -> datetime | None:
    row = (await conn.execute(select(checkins.c.answered_at).where(
        checkins.c.enrolment_id == enrolment_id, checkins.c.status == ANSWERED)
        .order_by(checkins.c.answered_at.desc()).limit(1))).first()
    return row.answered_at if row else None


# --- alerts ---------------------------------------------------------------------------------

async def add_alert(conn: AsyncConnection, enrolment_id: int, reason: bytes,
                    now: datetime) -> int:
    return int((await conn.execute(insert(checkin_alerts).values(
        enrolment_id=enrolment_id, reason=reason, created_at=now,
    ).returning(checkin_alerts.c.id))).scalar_one())


async def alert(conn: AsyncConnection, alert_id: int) -> Alert | None:
    row = (await conn.execute(select(checkin_alerts).where(
        checkin_alerts.c.id == alert_id))).first()
    return _alert(row) if row else None


async def acknowledge(conn: AsyncConnection, alert_id: int, now: datetime) -> bool:
    result = await conn.execute(update(checkin_alerts).where(
        checkin_alerts.c.id == alert_id, checkin_alerts.c.acknowledged_at.is_(None))
        .values(acknowledged_at=now))
    return bool(result.rowcount)


async def open_alerts(conn: AsyncConnection, enrolment_id: int) -> int:
    rows = await conn.execute(select(checkin_alerts.c.id).where(
        checkin_alerts.c.enrolment_id == enrolment_id,
        checkin_alerts.c.acknowledged_at.is_(None)))
    return len(rows.all())


async def due_for_escalation(conn: AsyncConnection, created_before: datetime,
                             limit: int) -> list[Alert]:
    rows = await conn.execute(select(checkin_alerts).where(and_(
        checkin_alerts.c.acknowledged_at.is_(None), checkin_alerts.c.escalated_at.is_(None),
        checkin_alerts.c.created_at <= created_before))
        .order_by(checkin_alerts.c.id).limit(limit).with_for_update(skip_locked=True))
    return [_alert(row) for row in rows]


async def mark_escalated(conn: AsyncConnection, alert_id: int, now: datetime) -> None:
    await conn.execute(update(checkin_alerts).where(checkin_alerts.c.id == alert_id)
                       .values(escalated_at=now))

