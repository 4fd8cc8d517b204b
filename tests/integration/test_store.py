"""Schema, identities and conversation state on SQLite and PostgreSQL (one body, both stores)."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, func, inspect, select

from bot.store import Store, conversations, users
from bot.store.conversations import Conversation
from bot.store.schema import identities, metadata
from tests.conftest import FakeClock, StoreFactory


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return list(compare_metadata(context, metadata))


async def test_migrations_from_empty_database_match_the_schema(store: Store) -> None:
    async with store.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
        diff = await conn.run_sync(_schema_diff)
    assert {"users", "identities", "conversations", "outbox", "audit_log"} <= tables
    assert diff == []


async def test_upgrade_twice_is_harmless(store_factory: StoreFactory) -> None:
    first = await store_factory.open()
    async with first.transaction() as conn:
        await users.resolve(conn, "console", "kept", "kept", datetime.now(UTC))
    second = await store_factory.open()
    await second.upgrade()
    async with second.transaction() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        kept = (await conn.execute(select(func.count()).select_from(identities))).scalar_one()
    assert tables >= set(metadata.tables) and kept == 1  # nothing recreated, nothing lost


async def test_identity_resolves_to_the_same_user(store: Store, clock: FakeClock) -> None:
    async with store.transaction() as conn:
        first = await users.resolve(conn, "console", "u1", "u1", clock())
        again = await users.resolve(conn, "console", "u1", "u1", clock())
        other_channel = await users.resolve(conn, "telegram", "u1", "u1", clock())
    assert first.id == again.id
    assert other_channel.id != first.id
    assert first.role == "citizen" and first.language is None


async def test_blocked_user_becomes_reachable_when_writing_again(store: Store,
                                                                 clock: FakeClock) -> None:
    async with store.transaction() as conn:
        user = await users.resolve(conn, "telegram", "77", "chat-77", clock())
        await users.mark_unreachable(conn, "telegram", "chat-77")
        assert (await users.get(conn, user.id)).unreachable  # type: ignore[union-attr]
        back = await users.resolve(conn, "telegram", "77", "chat-77", clock())
    assert not back.unreachable


async def test_conversation_state_round_trip_and_expiry(store: Store, clock: FakeClock) -> None:
    ttl = timedelta(minutes=30)
    async with store.transaction() as conn:
        user = await users.resolve(conn, "console", "u2", "u2", clock())
        await conversations.save(conn, user.id, Conversation("report", "where", {"kind": "dealing",
                                 "note": "Hẻm 5"}), clock(), ttl)

    async def state() -> Conversation | None:
        async with store.transaction() as conn:
            return (await users.resolve_with_state(conn, "console", "u2", "u2", clock(),
                                                   lambda text: text))[1]

    assert await state() == Conversation("report", "where", {"kind": "dealing",
                                                             "note": "Hẻm 5"})
    clock.advance(minutes=31)
    # expired state is read without its data, so the person can be told the draft ran out
    assert await state() == Conversation("report", "where", expired=True)


async def test_sqlite_waits_for_another_process_holding_the_write_lock(
        tmp_path: Path, clock: FakeClock) -> None:
    # A CLI command in another process may hold SQLite's write lock for a moment; the bot's
    # transactions (run on the loop's thread) wait for it and then succeed, losing nothing.
    path = tmp_path / "pcmt.db"
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    try:
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        released = threading.Timer(0.3, other.execute, args=("COMMIT",))
        released.start()
        started = time.monotonic()
        async with store.transaction() as conn:
            user = await users.resolve(conn, "console", "u-key", "c-key", clock())
        assert time.monotonic() - started >= 0.25
        released.join()
        other.close()
        async with store.transaction() as conn:
            again = await users.resolve(conn, "console", "u-key", "c-key", clock())
        assert again.id == user.id
    finally:
        await store.close()
