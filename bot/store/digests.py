"""The weekly digest to case officers: who claims a week, and each followed person's week in a
few grouped queries whatever their number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store._upsert import insert_ignore
from bot.store.checkins import ANSWERED, MISSED
from bot.store.schema import checkin_alerts, checkins, digest_rounds


async def claim(conn: AsyncConnection, week: str, now: datetime) -> bool:
    """True for the one scheduler that starts ``week``'s digest (the others wait for its
    transaction on PostgreSQL, then see the week taken)."""
    result = await conn.execute(insert_ignore(conn, digest_rounds).values(
        week=week, started_at=now).on_conflict_do_nothing(index_elements=["week"]))
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class Week:
    answered: int = 0
    missed: int = 0
    alerts: int = 0
    """Alerts raised in the week."""
    open_alerts: int = 0
    """Alerts nobody has acknowledged yet, whenever raised."""


async def weeks(conn: AsyncConnection, since: datetime) -> dict[int, Week]:
    """By enrolment: check-ins answered and missed among the slots since ``since``, alerts
    raised since then, alerts still open."""
    counted: dict[int, dict[str, int]] = {}
    rows = await conn.execute(
        select(checkins.c.enrolment_id, checkins.c.status, func.count())
        .where(checkins.c.slot >= since, checkins.c.status.in_([ANSWERED, MISSED]))
        .group_by(checkins.c.enrolment_id, checkins.c.status))
    for enrolment_id, status, count in rows:
        counted.setdefault(enrolment_id, {})[status] = int(count)
    raised = func.sum(case((checkin_alerts.c.created_at >= since, 1), else_=0))
    still_open = func.sum(case((checkin_alerts.c.acknowledged_at.is_(None), 1), else_=0))
    rows = await conn.execute(
        select(checkin_alerts.c.enrolment_id, raised, still_open)
        .group_by(checkin_alerts.c.enrolment_id))
    for enrolment_id, raised_count, open_count in rows:
        found = counted.setdefault(enrolment_id, {})
        found.update(alerts=int(raised_count or 0), open=int(open_count or 0))
    return {enrolment_id: Week(found.get(ANSWERED, 0), found.get(MISSED, 0),
                               found.get("alerts", 0), found.get("open", 0))
            for enrolment_id, found in counted.items()}

