"""The audit log: who looked at or changed what, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import hour_of
from bot.store.schema import audit_log

REPORTER = "reporter"


async def record(conn: AsyncConnection, *, at: datetime, actor: str, action: str,
                 subject: str | None = None, detail: str | None = None) -> None:
    """Officials' and administrators' actions keep their exact time; a reporter's only the
    hour, or the log would date a report finer than police may know it."""
    await conn.execute(insert(audit_log).values(
        at=hour_of(at) if actor == REPORTER else at, actor=actor, action=action,
        subject=subject, detail=detail))


async def count(conn: AsyncConnection, *, actor: str, action: str, since: datetime) -> int:
    """How often ``actor`` did ``action`` since then: abuse limits count audited attempts."""
    return int((await conn.execute(select(func.count()).select_from(audit_log).where(
        audit_log.c.actor == actor, audit_log.c.action == action,
        audit_log.c.at > since))).scalar_one())
