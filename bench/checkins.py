"""Check-in planning benchmark: how fast the calendar tick plans enrolments that fall due in
the same hour, on SQLite (a file in a temporary folder) and on PostgreSQL when it answers.

Run from the repository root: ``python -m bench.checkins [--count N] [--runs R]``; ``--quick``
plans 500 as a smoke run. It enrols N linked people directly in the store (all due now), then
times the tick's planning step alone (claim, the previous slot missed, the new check-in row,
the next due time), R times on fresh data, and prints the median rate and the spread.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from sqlalchemy import func, insert, select

from bot.checkins import seal_name
from bot.conversation.dispatch import Dispatcher
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, communes
from bot.store.schema import checkins, enrolments, users
from handlers import routers
from scheduler.checkins import CheckinTick

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _fill(store: Store, services: Services, count: int) -> None:
    async with store.transaction() as conn:
        await communes.sync(conn, *services.commune_list)
        name = seal_name(services.keyring, "synthetic")
        for start in range(0, count, 5000):
            size = min(5000, count - start)
            ids = (await conn.execute(insert(users).returning(users.c.id), [
                {"role": "managed", "unreachable": False, "created_at": NOW}] * size)).scalars()
            await conn.execute(insert(enrolments), [{
                "commune_code": "26743", "province_code": "79", "name": name, "kind": "user_1y",
                "starts_on": date(2026, 12, 7), "ends_on": date(2027, 12, 6),
                "cadence": "weekly", "local_time": "09:00", "language": "vi", "ask_use": False,
                "status": "active", "user_id": user_id, "next_due_at": NOW, "misses": 0,
                "created_at": NOW} for user_id in ids])


async def one_run(kind: str, count: int, folder: Path, run: int) -> float:
    """Enrolments planned per second in one run, on a database of its own."""
    url = f"sqlite+aiosqlite:///{folder}/bench-{run}.db"
    options: dict[str, Any] = {}
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = None
    if kind == "postgresql":
        admin = await asyncpg.connect(POSTGRES.replace("+asyncpg", ""), timeout=3)
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        url, options = POSTGRES, {"connect_args": {"server_settings": {"search_path": schema}}}
    settings = Settings(_env_file=None, database_url=url, data_dir=folder)
    services = Services(settings)
    store = await Store.open(url, **options)
    try:
        await _fill(store, services, count)
        tick = CheckinTick(store, services,
                           Dispatcher(store, services, routers()).routes.flows["checkin"],
                           lambda: NOW)
        began = time.perf_counter()
        planned = await tick._batches(tick._plan)
        elapsed = time.perf_counter() - began
        async with store.transaction() as conn:
            rows = (await conn.execute(select(func.count()).select_from(checkins))).scalar_one()
        assert planned == count == rows, (planned, count, rows)
        return count / elapsed
    finally:
        await store.close()
        if admin is not None:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await admin.close()


async def _reachable() -> bool:
    try:
        connection = await asyncpg.connect(POSTGRES.replace("+asyncpg", ""), timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    count, runs = (500, 1) if args.quick else (args.count, args.runs)
    kinds = ["sqlite"]
    if await _reachable():
        kinds.append("postgresql")
    else:
        print("postgresql: not reachable, skipped")
    with tempfile.TemporaryDirectory() as folder:
        for name in kinds:
            rates = [await one_run(name, count, Path(folder), run) for run in range(runs)]
            median = statistics.median(rates)
            print(f"{name}: {count} enrolments due at once, planned at {median:,.0f}/s median "
                  f"(runs {', '.join(f'{rate:,.0f}' for rate in rates)}); "
                  f"250,000 would take {250_000 / median:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
