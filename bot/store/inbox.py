"""The inbox: platform updates recorded before the platform is told they arrived.

A row is written and committed before the webhook answers 200 or the polling offset moves
past the update, so a process killed after the acknowledgement still has it. The process that
recorded it holds a lease on it and renews it while the update waits or is handled; a row whose
lease ran out (its process died) is claimed by whichever replica looks next. The platform's
update id is unique per channel: a second delivery of the same update loses the insert.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import inbound_updates
from bot.store.types import UTCDateTime

RECEIVED, HANDLED, FAILED = "received", "handled", "failed"

# Compiled once (SQLAlchemy's ON CONFLICT constructs skip its statement cache), and the same
# text on SQLite and PostgreSQL. A NULL update id never conflicts: such a row is simply kept.
_RECORD = text(
    "INSERT INTO inbound_updates"
    " (channel, update_id, payload, state, attempts, received_at, lease_until)"
    " VALUES (:channel, :update_id, :payload, 'received', 1, :now, :until)"
    " ON CONFLICT (channel, update_id) DO NOTHING RETURNING id"
).bindparams(bindparam("now", type_=UTCDateTime), bindparam("until", type_=UTCDateTime))

# One statement, so that two replicas never both claim a row: on PostgreSQL the second waits
# for the first's row lock and then finds the lease no longer expired; SQLite has one writer.
_CLAIM = text(
    "UPDATE inbound_updates SET lease_until = :until, attempts = attempts + 1"
    " WHERE id IN (SELECT id FROM inbound_updates WHERE state = 'received'"
    "  AND channel = :channel AND lease_until < :now ORDER BY id LIMIT :limit)"
    " AND state = 'received' AND lease_until < :now"
    " RETURNING id, payload, attempts"
).bindparams(bindparam("now", type_=UTCDateTime), bindparam("until", type_=UTCDateTime))


@dataclass(frozen=True, slots=True)
class Left:
    """A row whose process let its lease run out, now claimed by this one."""

    id: int
    payload: str
    attempts: int


async def record(conn: AsyncConnection, channel: str, update_id: int | None, payload: str,
                 now: datetime, until: datetime) -> int | None:
    """Record an update, leased to the caller until ``until``: its row id, or None when this
    channel's ``update_id`` was recorded before (a platform's second delivery)."""
    result = await conn.execute(_RECORD, {"channel": channel, "update_id": update_id,
                                          "payload": payload, "now": now, "until": until})
    return result.scalar_one_or_none()


async def handled(conn: AsyncConnection, row_id: int, now: datetime) -> None:
    """Mark a row handled and drop its content: only the id stays, to recognise a replay."""
    await conn.execute(update(inbound_updates).where(inbound_updates.c.id == row_id)
                       .values(state=HANDLED, handled_at=now, payload=""))


async def renew(conn: AsyncConnection, row_ids: Collection[int], until: datetime) -> None:
    """Extend the leases this process holds, for rows still waiting or being handled."""
    if row_ids:
        await conn.execute(update(inbound_updates)
                           .where(inbound_updates.c.id.in_(list(row_ids)),
                                  inbound_updates.c.state == RECEIVED)
                           .values(lease_until=until))


async def claim_left(conn: AsyncConnection, channel: str, now: datetime, until: datetime,
                     limit: int) -> list[Left]:
    """Claim up to ``limit`` rows of ``channel`` whose lease has run out, oldest first."""
    result = await conn.execute(_CLAIM, {"channel": channel, "now": now, "until": until,
                                         "limit": limit})
    return sorted((Left(row.id, row.payload, row.attempts) for row in result),
                  key=lambda left: left.id)


async def give_up(conn: AsyncConnection, row_id: int, now: datetime) -> None:
    """An update whose handling never finished however often it was tried (one that brings
    the process down, say): kept as failed, without its content."""
    await conn.execute(update(inbound_updates).where(inbound_updates.c.id == row_id)
                       .values(state=FAILED, handled_at=now, payload=""))


async def purge(conn: AsyncConnection, before: datetime) -> int:
    """Delete rows handled (or given up) before ``before``."""
    result = await conn.execute(delete(inbound_updates)
                                .where(inbound_updates.c.state != RECEIVED,
                                       inbound_updates.c.handled_at < before))
    return int(result.rowcount)
