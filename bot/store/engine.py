"""Opening the database: engine options per backend, migrations, transactions."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.errors import StoreError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 0x70636D74  # "pcmt": serialises replicas that upgrade at the same time


class Store:
    """The database behind the bot. ``async with store.transaction() as conn`` for any work."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # SQLite has one writer at a time and every transaction here writes (BEGIN IMMEDIATE).
        # Connections of this process queue on an asyncio lock instead of the file lock, whose
        # busy handler sleeps in steps of up to 100 ms and lets a burst of updates form a convoy.
        self._writer: AbstractAsyncContextManager[object] = (
            asyncio.Lock() if self.dialect == "sqlite" else nullcontext())

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True, **engine_options: Any) -> Store:
        try:
            engine = _create_engine(url, **engine_options)
        except OSError as exc:  # the folder or file cannot be made: no engine to close
            raise StoreError(f"cannot open the database: {type(exc).__name__}: {exc}") from exc
        store = cls(engine)
        try:
            if migrate:
                await store.upgrade()
            else:
                async with store.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            await store.close()
            raise StoreError(f"cannot open the database: {type(exc).__name__}: {exc}") from exc
        return store

    async def upgrade(self, revision: str = "head") -> None:
        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": _MIGRATION_LOCK})
            await conn.run_sync(_run_alembic, revision)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self._writer, self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def advisory_lock(self, key: int) -> AsyncIterator[None]:
        """Hold PostgreSQL's session lock ``key`` (waiting for another process to let go) for
        work that must not run in two processes at once but calls out over the network, so no
        transaction stays open meanwhile. On SQLite, one process owns the file: nothing to do."""
        if self.dialect != "postgresql":
            yield
            return
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                await conn.commit()

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _run_alembic(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


class _RunNow:
    """Stands in for the queue of aiosqlite's worker thread: runs each call at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except Exception as exc:
            if future is None:
                raise
            future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class _InlineSqlite(aiosqlite.Connection):
    """aiosqlite's interface, run on the event loop's own thread.

    A statement on a local SQLite file takes microseconds; handing it to aiosqlite's worker
    thread and back costs more (a hand-over of the GIL and a turn of the loop each way, four
    times a statement through SQLAlchemy), and under load each turn waits behind every other
    task. The transactions of this process take turns on the store's asyncio lock, so SQLite
    itself only ever waits for another process (a CLI command) holding the write lock, for at
    most ``busy_timeout``.
    """

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no worker thread to start


def _create_private(database: Path) -> None:
    """The database file (and its folder, if missing) readable by the owner only, from the
    start: SQLite would create it by the umask, and gives its WAL files the file's mode."""
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))


def _create_engine(url: str, **options: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, **options)
    database = parsed.database or ":memory:"
    if database != ":memory:":
        _create_private(Path(database))

    async def connect() -> aiosqlite.Connection:
        return await _InlineSqlite(partial(sqlite3.connect, database))

    engine = create_async_engine(url, async_creator=connect, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000",
                       "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: read-then-write transactions never deadlock.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine

