"""Fixtures shared by every tier: a fake clock, and a store on SQLite and on PostgreSQL.

PostgreSQL tests use ``PCMT_TEST_POSTGRES_URL`` (default: the local server) and a fresh schema
per test. Where the server is absent they skip, unless ``PCMT_REQUIRE_POSTGRES=1`` (CI) turns the
skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest

from bot.geo import Commune, Province, load_communes
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, communes

if TYPE_CHECKING:
    from tests.world import World

POSTGRES_URL = os.environ.get(
    "PCMT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("PCMT_REQUIRE_POSTGRES") == "1"
# Police cards wait a random while in production; tests that follow a report to police see it
# at once, and those about the wait ask for it (an argument overrides the environment).
os.environ["PCMT_REPORT_CARD_DELAY_MINUTES"] = "0"


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 20, 2, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@cache
def commune_list() -> tuple[list[Province], list[Commune]]:
    return load_communes()


def _raw_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A fresh schema on the test server, dropped afterwards."""
    try:
        admin = await asyncpg.connect(_raw_dsn(POSTGRES_URL), timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """The URL of a fresh database on the test server, dropped afterwards: for a ``pcmt-bot``
    process, which takes a URL and nothing else."""
    try:
        admin = await asyncpg.connect(_raw_dsn(POSTGRES_URL), timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    name = f"t_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def postgres_options(schema: str) -> dict[str, object]:
    return {"connect_args": {"server_settings": {"search_path": schema}}}


@dataclass
class StoreFactory:
    """Opens stores on one database, as a restarted process or a second replica would."""

    url: str
    options: dict[str, object]
    opened: list[Store] = field(default_factory=list)

    async def open(self) -> Store:
        """A store as the app prepares it: migrated, with the official commune list."""
        store = await Store.open(self.url, **self.options)
        self.opened.append(store)
        async with store.transaction() as conn:
            await communes.sync(conn, *commune_list())
        return store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store_factory(request: pytest.FixtureRequest,
                        tmp_path: Path) -> AsyncIterator[StoreFactory]:
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            factory = StoreFactory(f"sqlite+aiosqlite:///{tmp_path}/pcmt.db", {})
        else:
            schema = await stack.enter_async_context(postgres_schema())
            factory = StoreFactory(POSTGRES_URL, postgres_options(schema))
        yield factory
        for store in factory.opened:
            await store.close()


@pytest.fixture
async def store(store_factory: StoreFactory) -> Store:
    return await store_factory.open()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/pcmt.db",
                    data_dir=tmp_path)


@pytest.fixture
def services(settings: Settings) -> Services:
    return Services(settings)


@pytest.fixture
async def world(store: Store, services: Services, clock: FakeClock) -> World:
    """Store, services, clock and dispatcher together (see :mod:`tests.world`)."""
    from tests.world import World

    return await World.build(store, services, clock)
