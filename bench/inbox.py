"""Webhook acknowledgement latency with the inbox: from a POST of an update to the 200 answer.

Run from the repository root: ``python -m bench.inbox`` (``--quick`` for a smoke run). Every
update the Telegram webhook answers 200 to has been committed to the inbox first, so the
answer waits for one write transaction, behind whatever else the process is writing. Lines:

- **floor**: an aiohttp route that reads the JSON and answers 200 at once, as the webhook
  did before the inbox (the cost of HTTP on loopback and of the web server);
- **pcmt-bot on sqlite** and **on postgresql** (a fresh database on the local server, when it
  answers): the Telegram channel's webhook route, with each update (``/help`` from a chat of
  its own) handled behind the answer and its replies sent to the fake Bot API server
  (``tests/fakes/telegram_api.py``, limits off, as in ``bench.telegram``).

Updates are posted by 1 connection at a time and by 16 (the bot's default
``PCMT_TELEGRAM_CONCURRENCY``, which is how many connections it asks Telegram for), each
connection posting its next update as soon as the last is answered: with 16, a burst that
keeps the process busy, so the answer waits behind the handling of earlier updates. Each
line is the median over the runs, with the lowest and highest p50 of the runs beside it, and
the updates acknowledged per second.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/inbox.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web

from bench.crash import POSTGRES, fresh_database
from bench.telegram import TOKEN, USERNAME, _free_port, pcmt_bot
from bot import logs
from bot.channels.telegram._channel import SECRET_HEADER, webhook_secret
from tests.fakes.telegram_api import FakeTelegramServer

CONCURRENCY = (1, 16)
FIRST_CHAT = 30_000_000
_numbers = itertools.count(1)


def _update() -> dict[str, object]:
    number = next(_numbers)
    chat = FIRST_CHAT + number
    user = {"id": chat, "is_bot": False, "first_name": "Lan", "language_code": "vi"}
    return {"update_id": number, "message": {
        "message_id": 1, "date": 1_790_000_000, "from": user, "text": "/help",
        "chat": {"id": chat, "type": "private", "first_name": "Lan"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}


async def post_all(url: str, updates: int, concurrency: int) -> list[float]:
    """POST ``updates`` updates with ``concurrency`` connections; each one's seconds to 200."""
    headers = {"Content-Type": "application/json", SECRET_HEADER: webhook_secret(TOKEN)}
    bodies: Iterator[str] = (json.dumps(_update()) for _ in range(updates))
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def connection() -> None:
            for body in bodies:  # shared: each connection takes the next update
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as reply:
                    await reply.read()
                    assert reply.status == 200, reply.status
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies


@asynccontextmanager
async def floor() -> AsyncIterator[str]:
    async def route(request: web.Request) -> web.Response:
        json.loads(await request.read())
        return web.Response()

    app = web.Application()
    app.router.add_post("/floor", route)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield f"http://127.0.0.1:{port}/floor"
    finally:
        await runner.cleanup()


def _ms(latencies: list[float], q: int) -> float:
    return statistics.quantiles(latencies, n=100, method="inclusive")[q - 1] * 1000


async def measure(line: str, database: str | None, updates: int, runs: int) -> None:
    for concurrency in CONCURRENCY:
        figures: list[tuple[float, float, float]] = []
        for _ in range(runs + 1):  # the first run warms up and is not counted
            async with AsyncExitStack() as stack:
                if database is None:
                    url = await stack.enter_async_context(floor())
                else:
                    server = await stack.enter_async_context(
                        FakeTelegramServer(TOKEN, USERNAME, rate_limits=None))
                    data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                    database_url = (None if database == "sqlite" else
                                    await stack.enter_async_context(fresh_database(database)))
                    url = await stack.enter_async_context(
                        pcmt_bot(server, "webhook", 16, data_dir, database_url))
                started = time.perf_counter()
                latencies = await post_all(url, updates, concurrency)
                rate = updates / (time.perf_counter() - started)
            figures.append((_ms(latencies, 50), _ms(latencies, 99), rate))
        p50s = sorted(p50 for p50, _, _ in figures[1:])
        p99 = statistics.median(p99 for _, p99, _ in figures[1:])
        rate = statistics.median(rate for _, _, rate in figures[1:])
        print(f"{line:<24} {concurrency:>3} at once: ack p50 {statistics.median(p50s):6.2f} ms "
              f"(runs {p50s[0]:.2f}-{p50s[-1]:.2f}), p99 {p99:6.2f} ms, "
              f"{rate:6.0f} updates/s acknowledged, {updates} updates x {runs} runs")


async def _main(quick: bool, updates: int, runs: int) -> None:
    if quick:
        updates, runs = 100, 1
    logs.configure("WARNING", "kv")
    await measure("floor (answer at once)", None, updates, runs)
    await measure("pcmt-bot on sqlite", "sqlite", updates, runs)
    async with fresh_database(POSTGRES) as probe:
        reachable = probe is not None
    if reachable:
        await measure("pcmt-bot on postgresql", POSTGRES, updates, runs)
    else:
        print("postgresql: not reachable, skipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 updates, one run")
    parser.add_argument("--updates", type=int, default=500, help="updates posted a run")
    parser.add_argument("--runs", type=int, default=3, help="measured runs a line")
    args = parser.parse_args()
    asyncio.run(_main(args.quick, args.updates, args.runs))


if __name__ == "__main__":
    main()
