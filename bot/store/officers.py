"""One-time invites for police, and the inboxes (private chats or groups) they link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import reports
from bot.store._upsert import insert_ignore
from bot.store.outbox import FAILED, PENDING, SENT
from bot.store.schema import inboxes, invites, outbox


@dataclass(frozen=True, slots=True)
class Invite:
    role: str
    commune_code: str | None
    province_code: str | None


class Inbox(NamedTuple):
    """A linked police chat. A tuple: a planning tick reads thousands at a time."""

    id: int
    channel: str
    chat_id: str
    role: str
    commune_code: str | None
    province_code: str
    language: str


async def create_invite(conn: AsyncConnection, *, code_hash: str, role: str,
                        commune_code: str | None, province_code: str | None,
                        expires_at: datetime) -> None:
    await conn.execute(insert(invites).values(
        code_hash=code_hash, role=role, commune_code=commune_code, province_code=province_code,
        expires_at=expires_at))


async def redeem_invite(conn: AsyncConnection, code_hash: str, now: datetime) -> Invite | None:
    """Use an invite once; None when unknown, used or expired."""
    row = (await conn.execute(
        update(invites)
        .where(invites.c.code_hash == code_hash, invites.c.used_at.is_(None),
               invites.c.expires_at > now)
        .values(used_at=now)
        .returning(invites.c.role, invites.c.commune_code, invites.c.province_code)
    )).first()
    return Invite(row.role, row.commune_code, row.province_code) if row else None


async def link(conn: AsyncConnection, *, channel: str, chat_id: str, role: str,
               commune_code: str | None, province_code: str, language: str,
               now: datetime) -> None:
    """Make this chat the inbox of a commune (officer) or a province (supervisor)."""
    values = {"role": role, "commune_code": commune_code, "province_code": province_code,
              "language": language, "active": True, "linked_at": now}
    inserted = await conn.execute(
        insert_ignore(conn, inboxes).values(channel=channel, chat_id=chat_id, **values)
        .on_conflict_do_nothing(index_elements=["channel", "chat_id"]))
    if not inserted.rowcount:
        await conn.execute(update(inboxes).where(
            inboxes.c.channel == channel, inboxes.c.chat_id == chat_id).values(**values))


def _inbox(row: object) -> Inbox:
    return Inbox._make(getattr(row, name) for name in Inbox._fields)


async def of_chat(conn: AsyncConnection, channel: str, chat_id: str) -> Inbox | None:
    row = (await conn.execute(select(inboxes).where(
        inboxes.c.channel == channel, inboxes.c.chat_id == chat_id,
        inboxes.c.active.is_(True)))).first()
    return _inbox(row) if row else None


async def by_id(conn: AsyncConnection, inbox_id: int) -> Inbox | None:
    """The inbox ``inbox_id`` while it is active."""
    row = (await conn.execute(select(inboxes).where(
        inboxes.c.id == inbox_id, inboxes.c.active.is_(True)))).first()
    return _inbox(row) if row else None


async def for_commune(conn: AsyncConnection, commune_code: str) -> list[Inbox]:
    rows = await conn.execute(select(inboxes).where(
        inboxes.c.commune_code == commune_code, inboxes.c.role == "officer",
        inboxes.c.active.is_(True)).order_by(inboxes.c.id))
    return [_inbox(row) for row in rows]


async def supervisors(conn: AsyncConnection, province_code: str) -> list[Inbox]:
    rows = await conn.execute(select(inboxes).where(
        inboxes.c.province_code == province_code, inboxes.c.role == "supervisor",
        inboxes.c.active.is_(True)).order_by(inboxes.c.id))
    return [_inbox(row) for row in rows]


async def deactivate(conn: AsyncConnection, channel: str, chat_id: str) -> bool:
    """The chat blocked the bot or removed it from the group. True if it was an inbox."""
    result = await conn.execute(update(inboxes).where(
        inboxes.c.channel == channel, inboxes.c.chat_id == chat_id,
        inboxes.c.active.is_(True)).values(active=False))
    return bool(result.rowcount)


async def lose(conn: AsyncConnection, channel: str, chat_id: str) -> list[int]:
    """The chat removed or blocked the bot: it stops being an inbox, the cards still queued to
    it are dropped, and each open report that no other chat has received or is about to goes
    back to waiting for a route (the escalation tick finds the next one; ``admin unrouted``
    lists it meanwhile). Returns those reports' ids; nothing happens for a chat that was no
    inbox."""
    if not await deactivate(conn, channel, chat_id):
        return []
    unsent = (await conn.execute(select(outbox.c.id, outbox.c.dedupe_key).where(
        outbox.c.channel == channel, outbox.c.chat_id == chat_id,
        outbox.c.status != SENT))).all()
    report_ids = []
    for row in unsent:
        report_id = reports.card_report_id(row.dedupe_key, channel, chat_id)
        if report_id is None:
            continue
        report_ids.append(report_id)
        # a new key frees the old one: a card queued if the chat links again is not a duplicate
        await conn.execute(update(outbox).where(outbox.c.id == row.id).values(
            status=FAILED, claimed_until=None, last_error="inbox lost",
            dedupe_key=f"{row.dedupe_key}:lost:{row.id}"))
    waiting = []
    for report_id in report_ids:
        elsewhere = await conn.execute(select(outbox.c.id).where(
            outbox.c.dedupe_key.startswith(reports.card_prefix(report_id)),
            outbox.c.status.in_([SENT, PENDING])).limit(1))
        if elsewhere.first() is None and await reports.unroute(conn, report_id):
            waiting.append(report_id)
    return waiting
