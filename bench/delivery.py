"""Outbox delivery at the platform's limits: the share of the allowed rate, 429s, queue latency.

Run from the repository root: ``python -m bench.delivery`` (``--quick`` for a short run of every
configuration; ``--messages`` and ``--chats`` for the size). Messages go to the fake Bot API
server (``tests/fakes/telegram_api.py``, in a process of its own: :mod:`bench.fake_process`),
which enforces Telegram's limits scaled up so a run is short (``--rate`` messages a second
overall, 1 a second a chat; the ratio is what counts), through python-telegram-bot's real HTTP
stack, in one run:

- **pcmt-bot** on SQLite and on PostgreSQL: the rows queued in the outbox beforehand (as a
  round of reminders is), then the long-lived sender of :mod:`scheduler.sender` started;
- **pcmt-bot, two replicas** on one PostgreSQL database: two stores, two Telegram channels,
  two deliveries; one holds the token and sends, the other stands by;
- **python-telegram-bot's AIORateLimiter** (overall and per-group budgets, no per-chat budget,
  retries on 429) with every message handed to ``send_message`` at once.

Message ``i`` goes to chat ``i % chats``. Queue latency runs from the start (every message due)
to its arrival at the fake server; the ideal at the limit is message ``k`` arriving at
``k / rate``. The share of the allowed rate is the ideal duration over the achieved one. A third
of the way through, one alert is queued behind the rest (pcmt-bot only): its latency is shown.
CPU per message is the bot's process (the sender and the driver; PostgreSQL's own is not
counted), with the fake server's apart. Each configuration ends with one line for scripts::

    delivery: SHARE of the allowed rate, N x 429, L lost, D duplicates (CONFIG)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/delivery.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bench.fake_process import FakeInProcess
from bot.channels.telegram import TelegramChannel
from bot.conversation.dispatch import Dispatcher, utc_now
from bot.conversation.messages import Reply
from bot.conversation.proactive import Queued, push_many
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, outbox
from scheduler.delivery import Delivery

TOKEN = "123456:BENCH-token"  # noqa: S105 - the fake server's token
USERNAME = "pcmt_bench_bot"
FIRST_CHAT = 10_000_000
ALERT = "alert"
POSTGRES = os.environ.get("PCMT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True, slots=True)
class Run:
    config: str
    messages: int
    rate: float
    arrivals: dict[str, float]  # first arrival of each text, seconds from the start
    copies: int  # arrivals of the expected texts, duplicates included
    violations: int
    cpu: float
    fake_cpu: float
    alert: float | None = None
    note: str = ""

    def report(self) -> str:
        times = sorted(time for text, time in self.arrivals.items() if text != ALERT)
        delivered = len(times)
        lost = self.messages - delivered
        duplicates = self.copies - delivered
        ideal = (self.messages - 1) / self.rate
        share = ideal / times[-1] if times and times[-1] > 0 else 0.0
        lines = [f"{self.config}: {delivered:,} of {self.messages:,} messages in "
                 f"{times[-1] if times else 0:.1f} s (ideal at the limit {ideal:.1f} s), "
                 f"{delivered / times[-1] if times else 0:.1f} messages/s",
                 f"  queue latency p50 {_quantile(times, 0.5):.1f} s / p99 "
                 f"{_quantile(times, 0.99):.1f} s, ideal {0.5 * ideal:.1f} s / "
                 f"{0.99 * ideal:.1f} s",
                 f"  CPU per message {1000 * self.cpu / max(1, delivered):.2f} ms in the bot's "
                 f"process ({1000 * self.fake_cpu / max(1, delivered):.2f} ms in the fake "
                 f"server's)"]
        if self.alert is not None:
            lines.append(f"  an alert queued behind {self.messages * 2 // 3:,} messages: sent "
                         f"{self.alert:.2f} s later")
        if self.note:
            lines.append(f"  {self.note}")
        lines.append(f"delivery: {share:.2f} of the allowed rate, {self.violations} x 429, "
                     f"{lost} lost, {duplicates} duplicates ({self.config})")
        return "\n".join(lines)


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(q * len(values)))]


def _text(number: int) -> str:
    return f"m{number}"


def _chat(number: int, chats: int) -> int:
    return FIRST_CHAT + number % chats


class Arrivals:
    """First arrivals at the fake server, read incrementally."""

    def __init__(self, fake: FakeInProcess, start: float) -> None:
        self.fake, self.start = fake, start
        self.first: dict[str, float] = {}
        self.copies = 0

    async def update(self) -> int:
        for text, at in await self.fake.read():
            self.copies += 1
            self.first.setdefault(text, at - self.start)
        return len(self.first)


async def _wait(arrivals: Arrivals, expected: int, patience: float,
                on_progress: Callable[[int], object] = lambda _count: None) -> None:
    """Until every message arrived, or nothing new arrived for ``patience`` seconds."""
    last, quiet_since = -1, time.monotonic()
    while (count := await arrivals.update()) < expected:
        on_progress(count)
        if count != last:
            last, quiet_since = count, time.monotonic()
        elif time.monotonic() - quiet_since > patience:
            return
        await asyncio.sleep(0.05)


# --- pcmt-bot ------------------------------------------------------------------------------------


def _settings(server: FakeInProcess, url: str, data_dir: Path, rate: float) -> Settings:
    return Settings(_env_file=None, database_url=url, data_dir=data_dir, telegram_token=TOKEN,
                    telegram_base_url=server.base_url, telegram_base_file_url=server.base_file_url,
                    telegram_messages_per_second=int(rate), delivery_leader_seconds=5.0)


async def pcmt_bot(config: str, urls: list[str], messages: int, chats: int, rate: float,
                   data_dir: Path) -> Run:
    server = FakeInProcess(TOKEN, USERNAME, int(rate))
    async with server, AsyncExitStack() as stack:
        replicas = []
        for url in urls:
            settings = _settings(server, url, data_dir, rate)
            store = await Store.open(url)
            stack.push_async_callback(store.close)
            channel = TelegramChannel(Dispatcher(store, Services(settings), []))
            await channel.initialize()  # sends only: no polling
            stack.push_async_callback(channel.stop)
            replicas.append((store, channel, settings))
        store, _channel, settings = replicas[0]
        services = Services(settings)
        async with store.transaction() as conn:
            await push_many(conn, services.keyring, (
                Queued("telegram", str(_chat(number, chats)), Reply(_text(number)), _text(number))
                for number in range(messages)), now=utc_now())
        deliveries = [Delivery(replica, {"telegram": channel}, settings, utc_now,
                               services.keyring) for replica, channel, settings in replicas]
        alert_at: list[float] = []

        async def alert_when_a_third_is_out(count: int) -> None:
            if not alert_at and count >= messages // 3:
                alert_at.append(time.monotonic() - start)
                async with store.transaction() as conn:
                    await outbox.enqueue(conn, channel="telegram", chat_id=str(FIRST_CHAT - 1),
                                         payload=Reply(ALERT).to_json(), dedupe_key=ALERT,
                                         due_at=utc_now(), now=utc_now(),
                                         priority=outbox.URGENT)

        start, cpu = time.monotonic(), time.process_time()
        arrivals = Arrivals(server, start)
        pending: set[asyncio.Task[None]] = set()
        for delivery in deliveries:
            await delivery.start()
        try:
            await _wait(arrivals, messages + 1, patience=30, on_progress=lambda count: (
                pending.add(asyncio.create_task(alert_when_a_third_is_out(count)))))
        finally:
            for delivery in deliveries:
                await delivery.stop()
            await asyncio.gather(*pending)
        cpu = time.process_time() - cpu
        await arrivals.update()
        sent_by = [delivery.senders["telegram"].delivered for delivery in deliveries]
        outcomes = sum((delivery.outcomes for delivery in deliveries), Counter[str]())
        retried = ", ".join(f"{count:,} {kind}" for kind, count in outcomes.most_common())
        alert = arrivals.first.get(ALERT)
    return Run(config, messages, rate, arrivals.first, arrivals.copies - (ALERT in
               arrivals.first), server.violations, cpu, server.cpu,
               alert=None if alert is None or not alert_at else alert - alert_at[0],
               note=(f"not sent at the first attempt: {retried or 'none'}" + (
                   "; sent by each replica: " + " / ".join(f"{n:,}" for n in sent_by)
                   if len(deliveries) > 1 else "")))


# --- python-telegram-bot's AIORateLimiter ----------------------------------------------------


async def ptb_rate_limiter(messages: int, chats: int, rate: float) -> Run:
    server = FakeInProcess(TOKEN, USERNAME, int(rate))
    async with server:
        # 32 connections: its best of those tried (256 spent most of its CPU in httpcore's pool)
        request = HTTPXRequest(connection_pool_size=32, pool_timeout=600.0, read_timeout=30.0,
                               write_timeout=30.0, connect_timeout=30.0)
        limiter: AIORateLimiter = AIORateLimiter(
            overall_max_rate=rate, overall_time_period=1.0, group_max_rate=20,
            group_time_period=60.0, max_retries=10)
        bot: ExtBot[int] = ExtBot(TOKEN, base_url=server.base_url,
                                   base_file_url=server.base_file_url, request=request,
                                   rate_limiter=limiter)
        async with bot:
            start, cpu = time.monotonic(), time.process_time()
            results = await asyncio.gather(*(
                bot.send_message(_chat(number, chats), _text(number))
                for number in range(messages)), return_exceptions=True)
            cpu = time.process_time() - cpu
        arrivals = Arrivals(server, start)
        await arrivals.update()
        failed = sum(isinstance(result, BaseException) for result in results)
    return Run("python-telegram-bot AIORateLimiter", messages, rate, arrivals.first,
               arrivals.copies, server.violations, cpu, server.cpu,
               note=f"sends that raised after its retries: {failed:,}")


# --- PostgreSQL ---------------------------------------------------------------------------------


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str | None]:
    """A fresh database for the run (dropped after), or None when the server is not there."""
    name = f"pcmt_bench_delivery_{os.getpid()}"
    try:
        admin = await asyncpg.connect(POSTGRES, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL at {POSTGRES} not reachable ({type(exc).__name__}): skipped")
        yield None
        return
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main_async(messages: int, chats: int, rate: float) -> None:
    print(f"{messages:,} messages to {chats:,} chats; the fake server allows {rate:g}/s "
          f"overall and 1/s a chat")
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        runs = [("pcmt-bot, SQLite", [f"sqlite+aiosqlite:///{data_dir}/pcmt.db"])]
        async with postgres_database() as postgres:
            if postgres is not None:
                runs += [("pcmt-bot, PostgreSQL", [postgres]),
                         ("pcmt-bot, PostgreSQL, two replicas", [postgres, postgres])]
            for number, (config, urls) in enumerate(runs):
                if number == 2:  # the one-replica run left its rows sent: start afresh
                    await _empty_outbox(urls[0])
                print((await pcmt_bot(config, urls, messages, chats, rate, data_dir)).report(),
                      flush=True)
        print((await ptb_rate_limiter(messages, chats, rate)).report(), flush=True)


async def _empty_outbox(url: str) -> None:
    store = await Store.open(url)
    async with store.transaction() as conn:
        await outbox.purge(conn, utc_now())
    await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,500 messages to 300 chats")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--chats", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=300.0,
                        help="the fake server's overall limit, messages a second")
    args = parser.parse_args()
    messages, chats = (1_500, 300) if args.quick else (args.messages, args.chats)
    logging.basicConfig(level=logging.CRITICAL)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(messages, chats, args.rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
