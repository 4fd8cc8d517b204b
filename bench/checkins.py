"""Check-in planning benchmark: how fast the calendar tick plans enrolments that fall due in
the same hour, on SQLite (a file in a temporary folder) and on PostgreSQL when it answers.

Run from the repository root: ``python -m bench.checkins [--enrolments N] [--runs R]
[--planners P]``; ``--quick`` plans 500 once as a smoke run. It enrols N linked people in bulk
(all due now), then plans them in fresh processes with the tick's own planning step (claim, the
previous slot missed, the new check-in row, the next due time), P planners at once on
PostgreSQL. It prints the wall time to plan all of them, the rate, the planners' CPU, their
resident memory after planning (VmRSS and its peak VmHWM), the check-in and outbox rows more than
one per person and slot, and whether the target (250,000 in under 60 s) is met.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
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
from bot.store.schema import checkins, enrolments, outbox, users
from handlers import routers
from scheduler.checkins import CheckinTick

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TARGET_COUNT, TARGET_SECONDS = 250_000, 60.0
SEED_BATCH = 10_000


async def _fill(store: Store, services: Services, count: int) -> None:
    """The enrolments straight into their tables in large inserts (the product's enrolment
    path, one person at a time with a link code, is not what is measured)."""
    async with store.transaction() as conn:
        await communes.sync(conn, *services.commune_list)
        name = seal_name(services.keyring, "synthetic")
    for start in range(0, count, SEED_BATCH):
        size = min(SEED_BATCH, count - start)
        async with store.transaction() as conn:
            ids = (await conn.execute(insert(users).returning(users.c.id), [
                {"role": "managed", "unreachable": False, "created_at": NOW}] * size)).scalars()
            await conn.execute(insert(enrolments), [{
                "commune_code": "26743", "province_code": "79", "name": name, "kind": "user_1y",
                "starts_on": date(2026, 12, 7), "ends_on": date(2027, 12, 6),
                "cadence": "weekly", "local_time": "09:00", "language": "vi", "ask_use": False,
                "status": "active", "user_id": user_id, "next_due_at": NOW, "misses": 0,
                "created_at": NOW} for user_id in ids])


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def _plan(url: str, options: dict[str, Any], folder: Path) -> dict[str, float]:
    settings = Settings(_env_file=None, database_url=url, data_dir=folder)
    services = Services(settings)
    store = await Store.open(url, migrate=False, **options)
    try:
        tick = CheckinTick(store, services,
                           Dispatcher(store, services, routers()).routes.flows["checkin"],
                           lambda: NOW)
        began, cpu = time.time(), time.process_time()
        planned = await tick.plan()
        return {"planned": planned, "began": began, "ended": time.time(),
                "cpu": time.process_time() - cpu,
                "rss": _status_kb("VmRSS"), "hwm": _status_kb("VmHWM")}
    finally:
        await store.close()


def _planner(url: str, options: dict[str, Any], folder: str, start: Any, results: Any) -> None:
    """One scheduler process: set up, wait for the others, plan until nothing is due."""
    async def run() -> dict[str, float]:
        start.wait()
        return await _plan(url, options, Path(folder))
    results.put(asyncio.run(run()))


def _duplicates_query() -> tuple[Any, Any]:
    per_slot = select(checkins.c.enrolment_id).group_by(
        checkins.c.enrolment_id, checkins.c.slot).having(func.count() > 1).subquery()
    per_key = select(outbox.c.dedupe_key).group_by(outbox.c.dedupe_key).having(
        func.count() > 1).subquery()
    return (select(func.count()).select_from(per_slot),
            select(func.count()).select_from(per_key))


async def one_run(kind: str, count: int, folder: Path, run: int,
                  planners: int) -> dict[str, float]:
    """One run on a database of its own: the planners' figures and the rows counted."""
    url = f"sqlite+aiosqlite:///{folder}/bench-{run}.db"
    options: dict[str, Any] = {}
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = None
    if kind == "postgresql":
        admin = await asyncpg.connect(POSTGRES.replace("+asyncpg", ""), timeout=3)
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        url, options = POSTGRES, {"connect_args": {"server_settings": {"search_path": schema}}}
    services = Services(Settings(_env_file=None, database_url=url, data_dir=folder))
    store = await Store.open(url, **options)
    try:
        await _fill(store, services, count)
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: its own memory
        start, results = context.Barrier(planners), context.Queue()
        processes = [context.Process(target=_planner,
                                     args=(url, options, str(folder), start, results))
                     for _ in range(planners)]
        for process in processes:
            process.start()
        found = [await asyncio.to_thread(results.get) for _ in processes]
        for process in processes:
            process.join()
        slots, keys = _duplicates_query()
        async with store.transaction() as conn:
            rows = (await conn.execute(select(func.count()).select_from(checkins))).scalar_one()
            duplicates = (await conn.execute(slots)).scalar_one()
            outbox_duplicates = (await conn.execute(keys)).scalar_one()
        planned = sum(int(one["planned"]) for one in found)
        wall = max(one["ended"] for one in found) - min(one["began"] for one in found)
        return {"planned": planned, "rows": rows, "duplicates": duplicates,
                "outbox_duplicates": outbox_duplicates, "wall": wall,
                "cpu": sum(one["cpu"] for one in found),
                "rss": max(one["rss"] for one in found), "hwm": max(one["hwm"] for one in found)}
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


def _report(name: str, count: int, planners: int, runs: list[dict[str, float]]) -> None:
    walls = [run["wall"] for run in runs]
    wall = statistics.median(walls)
    rate = count / wall
    cpu = statistics.median(run["cpu"] for run in runs)
    print(f"{name}: {count} enrolments due at once, {planners} planner(s): planned at "
          f"{rate:,.0f}/s median, {wall:.1f} s wall (runs "
          f"{', '.join(f'{w:.1f}' for w in walls)} s), planners' CPU {cpu:.1f} s; "
          f"250,000 would take {TARGET_COUNT / rate:.0f} s")
    rss, peak = max(r["rss"] for r in runs) / 1024, max(r["hwm"] for r in runs) / 1024
    print(f"{name}: planner resident memory after planning {rss:.0f} MiB (peak {peak:.0f} MiB)")
    print(f"{name}: check-ins {sum(int(r['rows']) for r in runs)} for "
          f"{sum(int(r['planned']) for r in runs)} planned; duplicates per person and slot: "
          f"{sum(int(r['duplicates']) for r in runs)} check-in rows, "
          f"{sum(int(r['outbox_duplicates']) for r in runs)} outbox rows")
    if count >= TARGET_COUNT:
        verdict = "met" if wall < TARGET_SECONDS * count / TARGET_COUNT else "missed"
        print(f"{name}: target {TARGET_COUNT:,} in under {TARGET_SECONDS:.0f} s: {verdict}")


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrolments", "--count", dest="count", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--planners", type=int, default=1,
                        help="planner processes at once (PostgreSQL only; SQLite has one)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    count, runs = (500, 1) if args.quick else (args.count, args.runs)
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    if "postgresql" in kinds and not await _reachable():
        print("postgresql: not reachable, skipped")
        kinds.remove("postgresql")
    with tempfile.TemporaryDirectory() as folder:
        for name in kinds:
            planners = args.planners if name == "postgresql" else 1
            found = [await one_run(name, count, Path(folder), run, planners)
                     for run in range(runs)]
            for one in found:
                assert one["planned"] == count == one["rows"], one
            _report(name, count, planners, found)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
