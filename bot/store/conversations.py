"""Conversation state: which flow a user is in, at which step, with what data so far.

Kept in the database so that a restarted process or another replica continues exactly where
the conversation stopped. State past its expiry reads as no state at all. The data may hold
what people typed (a report draft), so the dispatcher stores it sealed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import conversations


@dataclass(slots=True)
class Conversation:
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


Transform = Callable[[str], str]


def _same(text: str) -> str:
    return text


def live(row: Any, now: datetime, decode: Transform) -> Conversation | None:
    """The state in ``row`` (``flow``, ``step``, ``data`` and ``expires_at`` of this table,
    outer-joined to the user's row), or None when there is none or it has expired; ``decode``
    reverses the ``encode`` given to :func:`save`."""
    if row is None or row.flow is None or row.expires_at <= now:
        return None
    return Conversation(row.flow, row.step, json.loads(decode(row.data)))


async def save(conn: AsyncConnection, user_id: int, state: Conversation | None, now: datetime,
               ttl: timedelta, encode: Transform = _same) -> None:
    if state is None:
        await conn.execute(delete(conversations).where(conversations.c.user_id == user_id))
        return
    values = {
        "flow": state.flow,
        "step": state.step,
        "data": encode(json.dumps(state.data, ensure_ascii=False)),
        "expires_at": now + ttl,
        "updated_at": now,
    }
    changed = await conn.execute(
        update(conversations).where(conversations.c.user_id == user_id).values(**values))
    if changed.rowcount == 0:
        await conn.execute(insert(conversations).values(user_id=user_id, **values))
