"""Anonymous reports and everything hanging off them.

No column here holds a reporter's platform id, name or phone. Content, attachments and
follow-up messages are sealed (AES-GCM) by the caller before they reach these functions; the
reply handle lives in its own table and is deleted when the report closes or expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import hour_of
from bot.security.identity import SEALED
from bot.store._upsert import insert_ignore
from bot.store.schema import (
    outbox,
    reply_handles,
    report_attachments,
    report_messages,
    report_sources,
    reports,
    slowed_reporters,
)

OPEN_STATUSES = ("new", "acknowledged", "verifying")
CLOSED_STATUSES = ("handled", "unfounded", "spam")


@dataclass(frozen=True, slots=True)
class Report:
    id: int
    ticket: str
    commune_code: str
    province_code: str
    category: str
    status: str
    follow_up: bool
    content: bytes
    received_day: date
    received_part: str
    received_hour: datetime
    routed_level: str | None
    acknowledged_at: datetime | None
    escalated_at: datetime | None
    closed_at: datetime | None
    passphrase_hash: str | None


@dataclass(frozen=True, slots=True)
class ReportMessage:
    id: int
    kind: str  # question (police -> reporter), answer, info (reporter -> police), note
    author: str | None
    body: bytes
    answered: bool
    created_at: datetime


def _report(row: object) -> Report:
    return Report(*(getattr(row, name) for name in Report.__slots__))


async def create(conn: AsyncConnection, *, ticket: str, commune_code: str, province_code: str,
                 category: str, follow_up: bool, content: bytes, received_day: date,
                 received_part: str, received_hour: datetime, passphrase_hash: str) -> int:
    return int((await conn.execute(insert(reports).values(
        ticket=ticket, commune_code=commune_code, province_code=province_code,
        category=category, status="new", follow_up=follow_up, content=content,
        received_day=received_day, received_part=received_part, received_hour=received_hour,
        passphrase_hash=passphrase_hash,
    ).returning(reports.c.id))).scalar_one())


async def by_ticket(conn: AsyncConnection, ticket: str) -> Report | None:
    row = (await conn.execute(select(reports).where(reports.c.ticket == ticket))).first()
    return _report(row) if row else None


async def by_id(conn: AsyncConnection, report_id: int) -> Report | None:
    row = (await conn.execute(select(reports).where(reports.c.id == report_id))).first()
    return _report(row) if row else None


async def open_in_scope(conn: AsyncConnection, *, commune_code: str | None,
                        province_code: str | None, limit: int = 20) -> list[Report]:
    """Open reports of a commune, of a province, or (neither given) of every commune."""
    query = select(reports).where(reports.c.status.in_(OPEN_STATUSES))
    if province_code is not None:
        query = query.where(reports.c.province_code == province_code)
    if commune_code is not None:
        query = query.where(reports.c.commune_code == commune_code)
    rows = await conn.execute(query.order_by(reports.c.id.desc()).limit(limit))
    return [_report(row) for row in rows]


async def awaiting_route(conn: AsyncConnection, *, commune_code: str | None,
                         province_code: str | None) -> list[Report]:
    """Open reports not yet in front of anyone at this level or a better one."""
    query = select(reports).where(reports.c.status.in_(OPEN_STATUSES))
    if commune_code is not None:
        query = query.where(reports.c.commune_code == commune_code,
                            func.coalesce(reports.c.routed_level, "") != "commune")
    elif province_code is not None:
        query = query.where(reports.c.province_code == province_code,
                            func.coalesce(reports.c.routed_level, "").in_(["", "admin"]))
    else:
        query = query.where(reports.c.routed_level.is_(None))
    return [_report(row) for row in await conn.execute(query.order_by(reports.c.id))]


def card_prefix(report_id: int) -> str:
    return f"report:{report_id}:card:"


def card_key(report_id: int, channel: str, chat_id: str) -> str:
    """The outbox dedupe key of a report's card to one police chat."""
    return f"{card_prefix(report_id)}{channel}:{chat_id}"


def card_report_id(dedupe_key: str, channel: str, chat_id: str) -> int | None:
    """The report whose card to this chat ``dedupe_key`` is; None for any other message."""
    head, suffix = "report:", f":card:{channel}:{chat_id}"
    if not (dedupe_key.startswith(head) and dedupe_key.endswith(suffix)):
        return None
    middle = dedupe_key[len(head):len(dedupe_key) - len(suffix)]
    return int(middle) if middle.isdigit() else None


async def unroute(conn: AsyncConnection, report_id: int) -> bool:
    """Put an open report back among those waiting for a route; False when it is closed."""
    result = await conn.execute(update(reports).where(
        reports.c.id == report_id, reports.c.status.in_(OPEN_STATUSES)).values(routed_level=None))
    return bool(result.rowcount)


async def set_routed(conn: AsyncConnection, report_id: int, level: str | None) -> None:
    await conn.execute(update(reports).where(reports.c.id == report_id)
                       .values(routed_level=level))


async def set_status(conn: AsyncConnection, report_id: int, status: str, now: datetime) -> None:
    values: dict[str, object] = {"status": status}
    if status in CLOSED_STATUSES:
        values["closed_at"] = now
    if status != "new":
        values["acknowledged_at"] = func.coalesce(reports.c.acknowledged_at, now)
    await conn.execute(update(reports).where(reports.c.id == report_id).values(**values))


async def due_for_escalation(conn: AsyncConnection, received_before: datetime) -> list[Report]:
    rows = await conn.execute(select(reports).where(
        reports.c.status == "new", reports.c.escalated_at.is_(None),
        reports.c.received_hour <= received_before).order_by(reports.c.id))
    return [_report(row) for row in rows]


async def mark_escalated(conn: AsyncConnection, report_id: int, now: datetime) -> None:
    await conn.execute(update(reports).where(reports.c.id == report_id)
                       .values(escalated_at=now))


async def add_attachment(conn: AsyncConnection, report_id: int, image: bytes) -> None:
    await conn.execute(insert(report_attachments).values(report_id=report_id, image=image))


async def attachments(conn: AsyncConnection, report_id: int) -> list[bytes]:
    rows = await conn.execute(select(report_attachments.c.image).where(
        report_attachments.c.report_id == report_id).order_by(report_attachments.c.id))
    return [bytes(row.image) for row in rows]


async def attachment_count(conn: AsyncConnection, report_id: int) -> int:
    return int((await conn.execute(select(func.count()).where(
        report_attachments.c.report_id == report_id))).scalar_one())


async def add_message(conn: AsyncConnection, report_id: int, *, kind: str, author: str | None,
                      body: bytes, now: datetime) -> int:
    return int((await conn.execute(insert(report_messages).values(
        report_id=report_id, kind=kind, author=author, body=body, answered=False,
        created_at=hour_of(now),
    ).returning(report_messages.c.id))).scalar_one())


async def messages(conn: AsyncConnection, report_id: int) -> list[ReportMessage]:
    rows = await conn.execute(select(report_messages).where(
        report_messages.c.report_id == report_id).order_by(report_messages.c.id))
    return [ReportMessage(row.id, row.kind, row.author, bytes(row.body), row.answered,
                          row.created_at) for row in rows]


async def mark_questions_answered(conn: AsyncConnection, report_id: int) -> None:
    await conn.execute(update(report_messages).where(
        report_messages.c.report_id == report_id, report_messages.c.kind == "question"
    ).values(answered=True))


async def save_handle(conn: AsyncConnection, report_id: int, handle: bytes,
                      expires_at: datetime) -> None:
    await conn.execute(insert(reply_handles).values(
        report_id=report_id, handle=handle, expires_at=expires_at))


async def handle_of(conn: AsyncConnection, report_id: int, now: datetime) -> bytes | None:
    row = (await conn.execute(select(reply_handles.c.handle).where(
        reply_handles.c.report_id == report_id, reply_handles.c.expires_at > now))).first()
    return bytes(row.handle) if row else None


async def forget_reporter(conn: AsyncConnection, report_id: int) -> None:
    """A closed report keeps no way back to its reporter."""
    await conn.execute(delete(reply_handles).where(reply_handles.c.report_id == report_id))
    await conn.execute(delete(report_sources).where(report_sources.c.report_id == report_id))


async def purge_expired_handles(conn: AsyncConnection, now: datetime) -> int:
    """Delete the reply handles that ran out, and with each the messages still queued to
    that reporter (their sealed address must not outlive the handle). How many handles."""
    expired = (await conn.execute(select(reply_handles.c.report_id).where(
        reply_handles.c.expires_at <= now))).scalars().all()
    for report_id in expired:
        await conn.execute(delete(outbox).where(
            outbox.c.dedupe_key.startswith(f"report:{report_id}:"),
            outbox.c.chat_id.startswith(SEALED)))
    result = await conn.execute(delete(reply_handles).where(reply_handles.c.expires_at <= now))
    return int(result.rowcount)


async def record_source(conn: AsyncConnection, report_id: int, *, alias: str, text_digest: str,
                        day: date) -> None:
    await conn.execute(insert(report_sources).values(
        report_id=report_id, alias=alias, text_digest=text_digest, received_day=day))


async def reports_today(conn: AsyncConnection, alias: str, day: date) -> int:
    return int((await conn.execute(select(func.count()).where(
        report_sources.c.alias == alias, report_sources.c.received_day == day))).scalar_one())


async def same_text_today(conn: AsyncConnection, text_digest: str, day: date) -> str | None:
    """The ticket of a report with the same text from the same reporter today, if any."""
    row = (await conn.execute(
        select(reports.c.ticket).join(report_sources, report_sources.c.report_id == reports.c.id)
        .where(report_sources.c.text_digest == text_digest,
               report_sources.c.received_day == day))).first()
    return str(row.ticket) if row else None


async def alias_of(conn: AsyncConnection, report_id: int) -> str | None:
    row = (await conn.execute(select(report_sources.c.alias).where(
        report_sources.c.report_id == report_id))).first()
    return str(row.alias) if row else None


async def slow_down(conn: AsyncConnection, alias: str, until: datetime) -> None:
    statement = insert_ignore(conn, slowed_reporters).values(alias=alias, until=until)
    await conn.execute(statement.on_conflict_do_update(
        index_elements=["alias"], set_={"until": until}))


async def slowed_until(conn: AsyncConnection, alias: str, now: datetime) -> datetime | None:
    row = (await conn.execute(select(slowed_reporters.c.until).where(
        slowed_reporters.c.alias == alias, slowed_reporters.c.until > now))).first()
    return row.until if row else None
