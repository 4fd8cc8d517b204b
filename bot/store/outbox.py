"""The outbox: every proactive message, written in the transaction that caused it.

Delivery claims due rows with a lease (``claimed_until``), sends them outside any transaction
and records the result. A process that dies mid-send leaves a lease that runs out, so another
tick sends the row again: delivery is at-least-once and nothing is lost. On PostgreSQL the claim
skips rows another replica holds (``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ARRAY, Text, and_, bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import hour_of
from bot.security.identity import SEALED
from bot.store._upsert import insert_ignore
from bot.store.schema import outbox
from bot.store.types import UTCDateTime

PENDING, SENT, FAILED, HELD = "pending", "sent", "failed", "held"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    channel: str
    chat_id: str
    payload: str
    dedupe_key: str
    attempts: int


async def enqueue(conn: AsyncConnection, *, channel: str, chat_id: str, payload: str,
                  dedupe_key: str, due_at: datetime, now: datetime) -> bool:
    """Queue a serialised reply; a second row with the same ``dedupe_key`` is ignored.

    ``chat_id`` and ``payload`` may be sealed (:func:`bot.security.identity.seal_at_rest`); delivery
    opens them just before sending. True if queued. ``created_at`` keeps only the hour: for a
    police card it would otherwise be the second the report was sent.
    """
    statement = insert_ignore(conn, outbox).values(
        channel=channel, chat_id=chat_id, payload=payload, dedupe_key=dedupe_key,
        due_at=due_at, status=PENDING, attempts=0, created_at=hour_of(now),
    ).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = await conn.execute(statement)
    return bool(result.rowcount)


async def enqueue_many(conn: AsyncConnection, rows: Sequence[tuple[str, str, str, str]], *,
                       due_at: datetime, now: datetime) -> None:
    """Queue many rows (``channel``, ``chat_id``, ``payload``, ``dedupe_key``) at once; rows
    whose ``dedupe_key`` was queued before are skipped.

    A year of deadline rounds is about a million and a half rows: SQLAlchemy's per-row parameter
    handling would cost more than the database, so the rows go to the driver as they are (one
    array per column on PostgreSQL, one prepared statement on SQLite).
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        channel, chat_id, payload, dedupe_key = (list(column) for column in zip(*rows, strict=True))
        await conn.execute(_BULK_POSTGRES, {
            "channel": channel, "chat_id": chat_id, "payload": payload,
            "dedupe_key": dedupe_key, "due_at": due_at, "now": now})
        return
    fixed = (_naive_utc(due_at), _naive_utc(now))
    await conn.exec_driver_sql(_BULK_SQLITE, [(*row, *fixed) for row in rows])


_BULK_SQLITE = (
    "INSERT INTO outbox (channel, chat_id, payload, dedupe_key, due_at, status, attempts,"
    " created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?) ON CONFLICT (dedupe_key) DO NOTHING")
_BULK_POSTGRES = text(
    "INSERT INTO outbox (channel, chat_id, payload, dedupe_key, due_at, status, attempts,"
    " created_at) SELECT r.channel, r.chat_id, r.payload, r.dedupe_key, :due_at, 'pending', 0,"
    " :now FROM unnest(:channel, :chat_id, :payload, :dedupe_key)"
    " AS r(channel, chat_id, payload, dedupe_key) ON CONFLICT (dedupe_key) DO NOTHING",
).bindparams(*(bindparam(name, type_=ARRAY(Text))
               for name in ("channel", "chat_id", "payload", "dedupe_key")),
             bindparam("due_at", type_=UTCDateTime), bindparam("now", type_=UTCDateTime))


def _naive_utc(moment: datetime) -> datetime:
    """What :class:`~bot.store.types.UTCDateTime` stores on SQLite."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def _claimable(now: datetime) -> list[object]:
    return [
        outbox.c.status == PENDING,
        outbox.c.due_at <= now,
        or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
    ]


async def claim(conn: AsyncConnection, *, channels: Collection[str], now: datetime,
                lease: timedelta, limit: int,
                chat_ids: Collection[str] | None = None) -> list[OutboxItem]:
    conditions = [*_claimable(now), outbox.c.channel.in_(list(channels))]
    if chat_ids is not None:
        # A sealed address can't be matched here; the caller opens it and hands back the
        # rows that turn out to be for someone else.
        conditions.append(or_(outbox.c.chat_id.in_(list(chat_ids)),
                              outbox.c.chat_id.startswith(SEALED)))
    due = (
        select(outbox.c.id).where(and_(*conditions))  # type: ignore[arg-type]
        .order_by(outbox.c.due_at, outbox.c.id).limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = await conn.execute(
        update(outbox).where(outbox.c.id.in_(due.scalar_subquery()))
        .values(claimed_until=now + lease, attempts=outbox.c.attempts + 1)
        .returning(outbox.c.id, outbox.c.channel, outbox.c.chat_id, outbox.c.payload,
                   outbox.c.dedupe_key, outbox.c.attempts)
    )
    items = [
        OutboxItem(row.id, row.channel, row.chat_id, row.payload, row.dedupe_key, row.attempts)
        for row in rows
    ]
    return sorted(items, key=lambda item: item.id)


async def mark_sent(conn: AsyncConnection, item_id: int, now: datetime) -> None:
    await conn.execute(update(outbox).where(outbox.c.id == item_id).values(
        status=SENT, sent_at=now, claimed_until=None, last_error=None))


async def retry_at(conn: AsyncConnection, item_id: int, due_at: datetime, error: str) -> None:
    await conn.execute(update(outbox).where(outbox.c.id == item_id).values(
        due_at=due_at, claimed_until=None, last_error=error[:200]))


async def give_up(conn: AsyncConnection, item_id: int, error: str) -> None:
    await conn.execute(update(outbox).where(outbox.c.id == item_id).values(
        status=FAILED, claimed_until=None, last_error=error[:200]))


async def hold(conn: AsyncConnection, item_id: int, held_for: str, error: str) -> None:
    """Keep a message the platform will not take until its recipient writes again (a closed
    messaging window); ``held_for`` is the alias that :func:`release_held` is called with."""
    await conn.execute(update(outbox).where(outbox.c.id == item_id).values(
        status=HELD, held_for=held_for, claimed_until=None, last_error=error[:200]))


async def release_held(conn: AsyncConnection, channel: str, held_for: str,
                       now: datetime) -> int:
    """The recipient wrote again: what was held for them is due now, with its attempts back."""
    result = await conn.execute(update(outbox).where(
        outbox.c.status == HELD, outbox.c.channel == channel, outbox.c.held_for == held_for,
    ).values(status=PENDING, held_for=None, due_at=now, attempts=0))
    return int(result.rowcount)


async def release(conn: AsyncConnection, item_ids: Collection[int]) -> None:
    """Hand claimed rows back at shutdown; the attempt they were charged is refunded."""
    if item_ids:
        await conn.execute(update(outbox).where(outbox.c.id.in_(list(item_ids))).values(
            claimed_until=None, attempts=outbox.c.attempts - 1))


async def counts(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
    return {status: count for status, count in rows.tuples()}
