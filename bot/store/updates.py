"""Platform updates already handled, and button data kept server side.

A webhook platform delivers an update again when it did not see our answer in time, and with
several replicas behind a load balancer the second delivery may reach another process: the
insert that records an update id is what decides who handles it. Button data longer than a
platform allows is stored here and the button carries only a reference to it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import button_payloads, seen_updates
from bot.store.types import UTCDateTime

# SQLAlchemy compiles its INSERT ... ON CONFLICT constructs again on every run (they take no
# part in its statement cache), and a webhook records every update: this statement reads the
# same on SQLite and PostgreSQL and is compiled once.
_RECORD = text(
    "INSERT INTO seen_updates (channel, update_id, seen_at)"
    " VALUES (:channel, :update_id, :seen_at)"
    " ON CONFLICT (channel, update_id) DO NOTHING"
).bindparams(bindparam("seen_at", type_=UTCDateTime))


async def first_sight(conn: AsyncConnection, channel: str, update_id: int,
                      now: datetime) -> bool:
    """Record ``update_id``; False when this or another replica recorded it before."""
    result = await conn.execute(
        _RECORD, {"channel": channel, "update_id": update_id, "seen_at": now})
    return bool(result.rowcount)


async def forget_updates(conn: AsyncConnection, before: datetime) -> int:
    result = await conn.execute(delete(seen_updates).where(seen_updates.c.seen_at < before))
    return int(result.rowcount)


async def save_payloads(conn: AsyncConnection, payloads: dict[str, str], now: datetime) -> None:
    """Store button data under the given ids (random, so a guessed reference finds nothing)."""
    if payloads:
        await conn.execute(button_payloads.insert(), [
            {"id": payload_id, "data": data, "created_at": now}
            for payload_id, data in payloads.items()
        ])


async def load_payload(conn: AsyncConnection, payload_id: str) -> str | None:
    row = await conn.execute(select(button_payloads.c.data)
                             .where(button_payloads.c.id == payload_id))
    return row.scalar_one_or_none()


async def forget_payloads(conn: AsyncConnection, before: datetime) -> int:
    result = await conn.execute(delete(button_payloads)
                                .where(button_payloads.c.created_at < before))
    return int(result.rowcount)
