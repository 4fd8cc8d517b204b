"""The outbox: every proactive message, written in the transaction that caused it.

Delivery claims due rows with a lease (``claimed_until``) in the name of its sender
(``lease_owner``), highest priority first, in a short transaction of its own; it sends them with
no transaction open and records the result only while it still holds the lease, so a row a
second replica took over after the lease ran out is never marked by the first. A process that
dies mid-send leaves a lease that runs out, and another sender sends the row again: delivery is
at-least-once and nothing is lost. On PostgreSQL the claim skips rows another replica is
claiming (``FOR UPDATE SKIP LOCKED``).

A row ends ``sent``; ``sent_unconfirmed`` when the platform took the request but its answer
could not be read (never resent on its own: it may have arrived); ``failed`` when the platform
refused it for good; ``dead`` when it kept failing for passing reasons until the attempts ran
out. The last three stay for ``pcmt-bot admin outbox``; sent rows go after the retention period.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    ARRAY,
    Integer,
    Text,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from bot.clock import hour_of
from bot.store._upsert import insert_ignore
from bot.store.schema import outbox, outbox_payloads
from bot.store.types import UTCDateTime

PENDING, SENT, FAILED, DEAD, HELD = "pending", "sent", "failed", "dead", "held"
UNCONFIRMED = "sent_unconfirmed"
ENDED = (SENT, UNCONFIRMED)
"""Statuses whose rows are purged after the retention period."""
STUCK = (DEAD, FAILED, UNCONFIRMED)
"""Statuses an operator can list and send again."""

URGENT, ROUTED, ROUTINE = 0, 1, 2
"""Priorities, claimed lowest first: crisis and check-in alerts and replies a person is waiting
for; routed reports and notices to the police; check-ins, reminders and other planned rounds."""


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    channel: str
    chat_id: str
    payload: str
    dedupe_key: str
    attempts: int
    priority: int = ROUTINE


async def enqueue(conn: AsyncConnection, *, channel: str, chat_id: str, payload: str,
                  dedupe_key: str, due_at: datetime, now: datetime, priority: int) -> bool:
    """Queue a serialised reply; a second row with the same ``dedupe_key`` is ignored.

    ``chat_id`` and ``payload`` may be sealed (:func:`bot.security.identity.seal_at_rest`); delivery
    opens them just before sending. True if queued. ``created_at`` keeps only the hour: for a
    police card it would otherwise be the second the report was sent.
    """
    statement = insert_ignore(conn, outbox).values(
        channel=channel, chat_id=chat_id, payload=payload, dedupe_key=dedupe_key,
        due_at=due_at, status=PENDING, attempts=0, created_at=hour_of(now), priority=priority,
    ).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = await conn.execute(statement)
    return bool(result.rowcount)


async def enqueue_many(conn: AsyncConnection, rows: Sequence[tuple[str, str, str, str]], *,
                       due_at: datetime, now: datetime, priority: int) -> None:
    """Queue many rows (``channel``, ``chat_id``, ``payload``, ``dedupe_key``) at once; rows
    whose ``dedupe_key`` was queued before are skipped. A payload several rows carry is
    stored once, in ``outbox_payloads``, and those rows name it.

    A year of deadline rounds is about 600,000 rows saying some 400 different things:
    SQLAlchemy's per-row parameter handling would cost more than the database, so the rows
    go to the driver as they are (one array per column on PostgreSQL, one prepared statement
    on SQLite).
    """
    if not rows:
        return
    shared = await _share(conn, [row[2] for row in rows], now)
    bulk = [(channel, chat_id, None if (number := shared.get(payload)) else payload, number,
             dedupe_key) for channel, chat_id, payload, dedupe_key in rows]
    if conn.dialect.name == "postgresql":
        columns = [list(column) for column in zip(*bulk, strict=True)]
        await conn.execute(_BULK_POSTGRES, {
            **dict(zip(("channel", "chat_id", "payload", "payload_id", "dedupe_key"), columns,
                       strict=True)),
            "due_at": due_at, "now": now, "priority": priority})
        return
    fixed = (_sqlite_text(due_at), _sqlite_text(now), priority)
    await conn.exec_driver_sql(_BULK_SQLITE, [(*row, *fixed) for row in bulk])


async def _share(conn: AsyncConnection, payloads: Sequence[str], now: datetime) -> dict[str, int]:
    """The ``outbox_payloads`` row of each payload given more than once."""
    repeated = [payload for payload, count in Counter(payloads).items() if count > 1]
    shared = {}
    for payload in repeated:  # a round has a few, one per language and set of deadlines
        shared[payload] = (await conn.execute(
            insert(outbox_payloads).values(payload=payload, created_at=hour_of(now))
            .returning(outbox_payloads.c.id))).scalar_one()
    return shared


_BULK_SQLITE = (
    "INSERT INTO outbox (channel, chat_id, payload, payload_id, dedupe_key, due_at, status,"
    " attempts, created_at, priority) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)"
    " ON CONFLICT (dedupe_key) DO NOTHING")
_BULK_POSTGRES = text(
    "INSERT INTO outbox (channel, chat_id, payload, payload_id, dedupe_key, due_at, status,"
    " attempts, created_at, priority) SELECT r.channel, r.chat_id, r.payload, r.payload_id,"
    " r.dedupe_key, :due_at, 'pending', 0, :now, CAST(:priority AS SMALLINT)"
    " FROM unnest(:channel, :chat_id, :payload, :payload_id, :dedupe_key)"
    " AS r(channel, chat_id, payload, payload_id, dedupe_key) ON CONFLICT (dedupe_key) DO NOTHING",
).bindparams(*(bindparam(name, type_=ARRAY(Text))
               for name in ("channel", "chat_id", "payload", "dedupe_key")),
             bindparam("payload_id", type_=ARRAY(Integer)),
             bindparam("due_at", type_=UTCDateTime), bindparam("now", type_=UTCDateTime))


def _sqlite_text(moment: datetime) -> str:
    """What :class:`~bot.store.types.UTCDateTime` stores on SQLite (naive UTC in SQLAlchemy's
    format), written once for a batch rather than adapted row by row."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _claimable(now: datetime) -> list[object]:
    return [
        outbox.c.status == PENDING,
        outbox.c.due_at <= now,
        or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
    ]


def _held(item_id: int, owner: str) -> ColumnElement[bool]:
    return and_(outbox.c.id == item_id, outbox.c.lease_owner == owner,
                outbox.c.status == PENDING)


async def claim(conn: AsyncConnection, *, channels: Collection[str], owner: str, now: datetime,
                lease: timedelta, limit: int, below: int | None = None) -> list[OutboxItem]:
    """Lease up to ``limit`` due rows to ``owner``, the most urgent first, oldest first within
    a priority; with ``below``, only rows more urgent than that. Commit at once: the lease is
    what keeps other senders off the rows."""
    conditions = [*_claimable(now), outbox.c.channel.in_(list(channels))]
    if below is not None:
        conditions.append(outbox.c.priority < below)
    due = (
        select(outbox.c.id)
        .where(and_(*conditions))  # type: ignore[arg-type]
        .order_by(outbox.c.priority, outbox.c.due_at, outbox.c.id).limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (await conn.execute(
        update(outbox).where(outbox.c.id.in_(due.scalar_subquery()))
        .values(claimed_until=now + lease, lease_owner=owner, attempts=outbox.c.attempts + 1)
        .returning(outbox.c.id, outbox.c.channel, outbox.c.chat_id, outbox.c.payload,
                   outbox.c.payload_id, outbox.c.dedupe_key, outbox.c.attempts,
                   outbox.c.priority)
    )).all()
    wanted = {row.payload_id for row in rows if row.payload is None}
    shared: dict[int, str] = dict((await conn.execute(
        select(outbox_payloads.c.id, outbox_payloads.c.payload)
        .where(outbox_payloads.c.id.in_(wanted)))).tuples().all()) if wanted else {}
    items = [
        OutboxItem(row.id, row.channel, row.chat_id,
                   row.payload if row.payload is not None else shared[row.payload_id],
                   row.dedupe_key, row.attempts, row.priority)
        for row in rows
    ]
    return sorted(items, key=lambda item: (item.priority, item.id))


async def extend(conn: AsyncConnection, item_ids: Collection[int], owner: str,
                 until: datetime) -> int:
    """Prolong the leases ``owner`` holds on these rows: rows waiting their turn behind a
    chat's or a group's budget stay its own however long that takes. How many it still holds."""
    if not item_ids:
        return 0
    result = await conn.execute(update(outbox).where(
        outbox.c.id.in_(list(item_ids)), outbox.c.lease_owner == owner,
        outbox.c.status == PENDING).values(claimed_until=until))
    return int(result.rowcount)


async def mark_sent(conn: AsyncConnection, item_ids: Collection[int], owner: str,
                    now: datetime) -> int:
    """Record sends; rows whose lease ``owner`` lost meanwhile are left to their new holder.
    How many were recorded."""
    if not item_ids:
        return 0
    result = await conn.execute(update(outbox).where(
        outbox.c.id.in_(list(item_ids)), outbox.c.lease_owner == owner,
        outbox.c.status == PENDING).values(
        status=SENT, sent_at=now, claimed_until=None, lease_owner=None, last_error=None))
    return int(result.rowcount)


async def mark_unconfirmed(conn: AsyncConnection, item_id: int, owner: str, now: datetime,
                           error: str) -> bool:
    """The platform took the request but its answer could not be read: the message may well
    have arrived, so it is not sent again unless an operator says so."""
    result = await conn.execute(update(outbox).where(_held(item_id, owner)).values(
        status=UNCONFIRMED, sent_at=now, claimed_until=None, lease_owner=None,
        last_error=error[:200]))
    return bool(result.rowcount)


async def retry_at(conn: AsyncConnection, item_id: int, owner: str, due_at: datetime,
                   error: str) -> bool:
    result = await conn.execute(update(outbox).where(_held(item_id, owner)).values(
        due_at=due_at, claimed_until=None, lease_owner=None, last_error=error[:200]))
    return bool(result.rowcount)


async def give_up(conn: AsyncConnection, item_id: int, owner: str, error: str, *,
                  status: str = FAILED) -> bool:
    """``failed`` (refused for good) or ``dead`` (out of attempts)."""
    result = await conn.execute(update(outbox).where(_held(item_id, owner)).values(
        status=status, claimed_until=None, lease_owner=None, last_error=error[:200]))
    return bool(result.rowcount)


async def hold(conn: AsyncConnection, item_id: int, owner: str, held_for: str,
               error: str) -> bool:
    """Keep a message the platform will not take until its recipient writes again (a closed
    messaging window); ``held_for`` is the alias that :func:`release_held` is called with."""
    result = await conn.execute(update(outbox).where(_held(item_id, owner)).values(
        status=HELD, held_for=held_for, claimed_until=None, lease_owner=None,
        last_error=error[:200]))
    return bool(result.rowcount)


async def release_held(conn: AsyncConnection, channel: str, held_for: str,
                       now: datetime) -> int:
    """The recipient wrote again: what was held for them is due now, with its attempts back."""
    result = await conn.execute(update(outbox).where(
        outbox.c.status == HELD, outbox.c.channel == channel, outbox.c.held_for == held_for,
    ).values(status=PENDING, held_for=None, due_at=now, attempts=0))
    return int(result.rowcount)


async def release(conn: AsyncConnection, item_ids: Collection[int], owner: str) -> None:
    """Hand claimed rows back unsent; the attempt they were charged is refunded."""
    if item_ids:
        await conn.execute(update(outbox).where(
            outbox.c.id.in_(list(item_ids)), outbox.c.lease_owner == owner,
            outbox.c.status == PENDING).values(
            claimed_until=None, lease_owner=None, attempts=outbox.c.attempts - 1))


async def counts(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
    return {status: count for status, count in rows.tuples()}


# --- for operators --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Stuck:
    """A row that will not go out on its own; no address or content, which may be sealed."""

    id: int
    channel: str
    status: str
    priority: int
    attempts: int
    due_at: datetime
    last_error: str | None


async def stuck(conn: AsyncConnection, limit: int) -> list[Stuck]:
    rows = await conn.execute(
        select(outbox.c.id, outbox.c.channel, outbox.c.status, outbox.c.priority,
               outbox.c.attempts, outbox.c.due_at, outbox.c.last_error)
        .where(outbox.c.status.in_(STUCK)).order_by(outbox.c.id).limit(limit))
    return [Stuck(*row) for row in rows]


async def send_again(conn: AsyncConnection, item_id: int, now: datetime) -> bool:
    """Put a dead, failed or unconfirmed row back in the queue with fresh attempts."""
    result = await conn.execute(update(outbox).where(
        outbox.c.id == item_id, outbox.c.status.in_(STUCK)).values(
        status=PENDING, attempts=0, due_at=now, claimed_until=None, lease_owner=None,
        sent_at=None))
    return bool(result.rowcount)


async def purge(conn: AsyncConnection, sent_before: datetime) -> int:
    """Delete rows that went out before ``sent_before``: their sealed addresses and contents
    are kept no longer than the retention period. How many were deleted."""
    result = await conn.execute(delete(outbox).where(
        outbox.c.status.in_(ENDED), outbox.c.sent_at < sent_before))
    named = select(outbox.c.payload_id).where(outbox.c.payload_id.is_not(None))
    await conn.execute(delete(outbox_payloads).where(
        outbox_payloads.c.created_at < sent_before, outbox_payloads.c.id.not_in(named)))
    return int(result.rowcount)
