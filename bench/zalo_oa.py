"""Zalo OA sending benchmark: messages a second through the bot's real client against the
fake OA platform (``tests/fakes/zalo_oa_api.py``) on loopback, in one process.

Run from the repository root: ``python -m bench.zalo_oa`` (``--quick`` for a smoke run).
Two lines, each with ``--concurrency`` sends in flight:

- **client**: ``OaClient.send`` alone, one access token: aiohttp plus the fake server, the
  ceiling for the lines below;
- **channel**: ``ZaloOaChannel.send`` as outbox delivery calls it, to people who wrote within
  48 hours: the person's window read and a free reply counted in SQLite, the token from
  memory, then the same call. The ratio to the first line is what the bot adds per message.

Each run sends ``--messages`` messages; the figures are the median of ``--runs`` runs with
the spread (lowest and highest). Zalo's own sending rate is not modelled (it is not
documented); these are what this process can push, not what Zalo accepts.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/zalo_oa.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import logs
from bot.channels.zalo_oa import CHANNEL, ZaloOaChannel
from bot.conversation.dispatch import Dispatcher
from bot.conversation.messages import Option, Reply
from bot.security.identity import seal_at_rest
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, zalo_oa
from handlers import routers
from tests.fakes.zalo_oa_api import APP_ID, APP_SECRET, SECRET_KEY, FakeZaloOaServer

REPLY = Reply("Lịch hỏi thăm tuần này: bạn thấy thế nào?",
              (Option("Tốt", "a"), Option("Bình thường", "b"), Option("Không tốt", "c")))


async def _rate(count: int, concurrency: int, send: Callable[[int], Awaitable[None]]) -> float:
    """Messages a second for ``count`` sends with ``concurrency`` in flight."""
    numbers = iter(range(count))

    async def worker() -> None:
        for number in numbers:
            await send(number)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def _run(messages: int, concurrency: int, runs: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"client": [], "channel": []}
    with tempfile.TemporaryDirectory() as folder:
        async with FakeZaloOaServer(quota=10**9) as server:
            settings = Settings(
                _env_file=None, database_url=f"sqlite+aiosqlite:///{folder}/bench.db",
                data_dir=Path(folder), zalo_oa_app_id=APP_ID, zalo_oa_app_secret=APP_SECRET,
                zalo_oa_secret_key=SECRET_KEY, zalo_oa_api_url=server.origin,
                zalo_oa_oauth_url=server.origin, zalo_oa_concurrency=concurrency,
                public_url="http://127.0.0.1:1", web_port=1)
            store = await Store.open(settings.database_url)
            services = Services(settings)
            channel = ZaloOaChannel(Dispatcher(store, services, routers()))
            channel.dispatcher.register_channel(CHANNEL, channel.capabilities)
            await channel.client.open()
            try:
                await channel.tokens.connect(server.issue_refresh_token())
                await channel.initialize()
                token = await channel.tokens.access_token()
                people = [str(10**18 + number) for number in range(messages)]
                for _ in range(runs):
                    server.sent.clear()
                    await _heard(store, services, server, people, per_person=1)
                    figures["client"].append(await _rate(messages, concurrency, lambda n: (
                        channel.client.send(token, {"user_id": people[n]},
                                            {"text": REPLY.text}))))
                    figures["channel"].append(await _rate(
                        messages, concurrency, lambda n: channel.send(people[n], REPLY)))
                    assert len(server.sent) == 2 * messages
                    assert all(sent.free for sent in server.sent[messages:])
            finally:
                await channel.stop()
                await store.close()
    return figures


async def _heard(store: Store, services: Services, server: FakeZaloOaServer,
                 people: list[str], per_person: int) -> None:
    """Each person wrote a moment ago, as far as the OA and the bot know."""
    now = server.clock()
    async with store.transaction() as conn:
        for person in people:
            for _ in range(per_person):
                _, message_id = server._heard(person)
                await zalo_oa.heard(conn, services.pseudonyms.window(CHANNEL, person),
                                    services.pseudonyms.message(CHANNEL, message_id),
                                    seal_at_rest(services.keyring, message_id), now)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 100 messages, 2 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.messages, args.runs = 100, 2
    logs.configure("WARNING", "kv")
    figures = asyncio.run(_run(args.messages, args.concurrency, args.runs))
    print(f"zalo_oa: {args.messages} messages a run, {args.concurrency} in flight, "
          f"{args.runs} runs (median, lowest-highest)")
    for name, rates in figures.items():
        print(f"  {name:8} {statistics.median(rates):8,.0f} messages/s "
              f"({min(rates):,.0f}-{max(rates):,.0f})")
    ratio = statistics.median(figures["channel"]) / statistics.median(figures["client"])
    print(f"  channel/client ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
