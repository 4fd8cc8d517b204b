"""Conversation state: which flow a user is in, at which step, with what data so far.

Kept in the database so that a restarted process or another replica continues exactly where
the conversation stopped. State past its expiry is read with ``expired`` set, so the person can
be told their draft ran out instead of having their next message taken for something else. A
flow set aside by an interruption waits in its own table for ``/resume``. The data may hold
what people typed (a report draft), so the dispatcher stores it sealed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import conversations, suspended_conversations


@dataclass(slots=True)
class Conversation:
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    expired: bool = False


Transform = Callable[[str], str]


def _same(text: str) -> str:
    return text


def live(row: Any, now: datetime, decode: Transform) -> Conversation | None:
    """The state in ``row`` (``flow``, ``step``, ``data`` and ``expires_at`` of this table,
    outer-joined to the user's row), or None when there is none; ``decode`` reverses the
    ``encode`` given to :func:`save`. Expired state comes back without its data."""
    if row is None or row.flow is None:
        return None
    if row.expires_at <= now:
        return Conversation(row.flow, row.step, expired=True)
    return Conversation(row.flow, row.step, json.loads(decode(row.data)))


async def save(conn: AsyncConnection, user_id: int, state: Conversation | None, now: datetime,
               ttl: timedelta, encode: Transform = _same) -> None:
    await _put(conn, conversations, user_id, state, now, now + ttl, encode)


async def _put(conn: AsyncConnection, table: Table, user_id: int, state: Conversation | None,
               now: datetime, expires_at: datetime, encode: Transform) -> None:
    if state is None:
        await conn.execute(delete(table).where(table.c.user_id == user_id))
        return
    values = {
        "flow": state.flow,
        "step": state.step,
        "data": encode(json.dumps(state.data, ensure_ascii=False)),
        "expires_at": expires_at,
        "updated_at": now,
    }
    changed = await conn.execute(update(table).where(table.c.user_id == user_id).values(**values))
    if changed.rowcount == 0:
        await conn.execute(insert(table).values(user_id=user_id, **values))


async def suspend(conn: AsyncConnection, user_id: int, state: Conversation, now: datetime,
                  kept: timedelta, encode: Transform = _same) -> None:
    """Set ``state`` aside for :func:`take_suspended`; it replaces one set aside before."""
    await _put(conn, suspended_conversations, user_id, state, now, now + kept, encode)


async def take_suspended(conn: AsyncConnection, user_id: int, now: datetime,
                         decode: Transform = _same) -> Conversation | None:
    """The flow set aside for ``user_id`` (removed from the table), None when none is left."""
    table = suspended_conversations
    row = (await conn.execute(select(table).where(table.c.user_id == user_id))).first()
    if row is None:
        return None
    await conn.execute(delete(table).where(table.c.user_id == user_id))
    if row.expires_at <= now:
        return None
    return Conversation(row.flow, row.step, json.loads(decode(row.data)))


async def suspended_flow(conn: AsyncConnection, user_id: int, now: datetime) -> str | None:
    table = suspended_conversations
    row = await conn.execute(select(table.c.flow).where(
        table.c.user_id == user_id, table.c.expires_at > now))
    return row.scalar_one_or_none()


async def active_flow(conn: AsyncConnection, user_id: int, now: datetime) -> str | None:
    """The flow the person is in now, if any: a job that would open another waits its turn."""
    row = (await conn.execute(select(conversations.c.flow).where(
        conversations.c.user_id == user_id, conversations.c.expires_at > now))).first()
    return row.flow if row else None
