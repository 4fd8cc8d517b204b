"""The audit log: who looked at or changed what, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import audit_log


async def record(conn: AsyncConnection, *, at: datetime, actor: str, action: str,
                 subject: str | None = None, detail: str | None = None) -> None:
    await conn.execute(insert(audit_log).values(
        at=at, actor=actor, action=action, subject=subject, detail=detail))

