"""Telegram channel benchmark: updates handled per second and reply latency, end to end.

Run from the repository root: ``python -m bench.telegram`` (``--quick`` for a smoke run). Both
bots talk to the fake Bot API server (``tests/fakes/telegram_api.py``) through
python-telegram-bot's real HTTP stack, in the same process and the same run:

- **pcmt-bot**: the Telegram channel with the dispatcher, the FAQ handler (the workload is
  the held-out FAQ questions of ``bench/data/faq_eval``, typed as free text) and a SQLite store;
- **echo**: a bare PTB ``Application`` with one ``MessageHandler`` that echoes the text, with
  the same number of updates in flight, as the ceiling of PTB plus the fake server;
- **same-reply echo**, a second line to read beside the first: the same bare bot, but it sends
  the very reply pcmt-bot sends (escaped HTML with its inline keyboard), looked up from a table
  made before timing. pcmt-bot against it isolates what the store, the dispatcher and the
  retrieval cost from what PTB and the fake server spend on a longer reply with buttons.

Each of ``--clients`` people has a chat of their own and asks the next question when the
answer to the previous one has arrived (closed loop). Latency runs from the update being
queued at the fake server to the reply being recorded there. The fake's sending limits are
off and pcmt-bot's budgets raised, for every bot alike: with Telegram's limits all would be
capped at 30 messages a second, which would measure the limits, not the bots.

Each line also shows the CPU time the process spent per update (bot, fake server and driver
together, counted alike for every bot): the same comparison as the throughput, less disturbed by
other work on a shared machine, printed as an extra ratio after the throughput ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/telegram.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web
from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bench.faq import load_queries
from bot import logs
from bot.channels.ratelimit import Limit
from bot.channels.telegram import NO_PREVIEW, Budgets, TelegramChannel
from bot.channels.telegram._render import escape, keyboard
from bot.conversation.dispatch import Dispatcher
from bot.knowledge import KnowledgeBase
from bot.services import Services
from bot.settings import Settings
from bot.store import Store
from bot.web import WebServer
from handlers import routers
from handlers.faq import render
from tests.fakes.telegram_api import FakeTelegramServer, SentRecord

TOKEN = "123456:BENCH-token"  # noqa: S105 - the fake server's token
USERNAME = "pcmt_bench_bot"
FIRST_CHAT = 10_000_000
UNLIMITED = Budgets(overall=Limit(10**9, 1.0), per_chat=Limit(10**9, 1.0),
                    per_group=Limit(10**9, 1.0))
MODES = ("polling", "webhook")
BOTS = ("pcmt-bot", "echo", "same-reply echo")


@dataclass(frozen=True, slots=True)
class Figures:
    bot: str
    mode: str
    run: int
    """Which round of the mode: the three bots of a round run back to back."""
    updates: int
    seconds: float
    cpu_seconds: float
    """CPU time of the whole process (bot, fake server, driver) while the run lasted."""
    latencies: tuple[float, ...]

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    @property
    def cpu_per_update(self) -> float:
        """Milliseconds of CPU per update handled."""
        return self.cpu_seconds / self.updates * 1000

    def quantile(self, q: int) -> float:
        """The ``q``-th percentile of the latencies, in milliseconds."""
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1] * 1000


class Replies:
    """Wakes the person waiting in a chat when the fake records the reply that ends an answer
    (the message carrying the keyboard, for pcmt-bot; any message, for the echo bot)."""

    def __init__(self, server: FakeTelegramServer, ends: Callable[[SentRecord], bool]) -> None:
        self.server = server
        self.ends = ends
        self.seen = len(server.sent)
        self.waiting: dict[int, asyncio.Future[None]] = {}
        self.finished = False

    def expect(self, chat_id: int) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        self.waiting[chat_id] = future
        return future

    def _pump(self) -> bool:
        sent = self.server.sent
        while self.seen < len(sent):
            record = sent[self.seen]
            self.seen += 1
            future = self.waiting.get(record.chat_id or 0)
            if future is not None and self.ends(record) and not future.done():
                del self.waiting[record.chat_id or 0]
                future.set_result(None)
        return self.finished

    async def watch(self) -> None:
        await self.server.wait_until(self._pump, timeout=3600)


async def drive(server: FakeTelegramServer, ends: Callable[[SentRecord], bool],
                questions: Sequence[str], clients: int, rounds: int, first_chat: int,
                bot: str, mode: str, run: int) -> Figures:
    replies = Replies(server, ends)
    watcher = asyncio.create_task(replies.watch())
    latencies: list[float] = []

    async def person(chat_id: int, offset: int) -> None:
        for turn in range(rounds):
            answered = replies.expect(chat_id)
            started = time.perf_counter()
            server.send_text(chat_id, questions[(offset + turn) % len(questions)])
            await asyncio.wait_for(answered, 60)
            latencies.append(time.perf_counter() - started)

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(person(first_chat + index, index * rounds)
                           for index in range(clients)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    replies.finished = True
    server.touch()  # wakes the watcher to see that it is finished
    await watcher
    return Figures(bot, mode, run, len(latencies), elapsed, cpu, tuple(latencies))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def pcmt_bot(server: FakeTelegramServer, mode: str, clients: int,
                   data_dir: Path, database_url: str | None = None) -> AsyncIterator[str]:
    """The Telegram channel running (SQLite in ``data_dir`` unless ``database_url``); yields
    its webhook's URL (empty when polling)."""
    port = _free_port()
    settings = Settings(
        _env_file=None, database_url=database_url or f"sqlite+aiosqlite:///{data_dir}/pcmt.db",
        data_dir=data_dir, telegram_token=TOKEN, telegram_base_url=server.base_url,
        telegram_base_file_url=server.base_file_url, telegram_concurrency=clients,
        public_url=f"http://127.0.0.1:{port}" if mode == "webhook" else None,
        web_port=port if mode == "webhook" else None)
    async with AsyncExitStack() as stack:
        store = await Store.open(settings.database_url)
        stack.push_async_callback(store.close)
        dispatcher = Dispatcher(store, Services(settings), routers())
        dispatcher.services.knowledge  # noqa: B018 - loaded before timing, as at start-up
        channel = TelegramChannel(dispatcher, limiter=UNLIMITED.limiter())
        if mode == "webhook":
            server_web = WebServer(store, "127.0.0.1", port)
            channel.install_routes(server_web)
            await server_web.start()
            stack.push_async_callback(server_web.stop)
        await stack.enter_async_context(channel)
        yield channel.webhook_url or ""


Prepared = dict[str, tuple[str, InlineKeyboardMarkup | None]]


def prepared_replies(questions: Sequence[str]) -> Prepared:
    """What pcmt-bot answers to each question, rendered as its Telegram channel sends it."""
    kb = KnowledgeBase.load()
    table: Prepared = {}
    for question in questions:
        reply = render(kb.answer(question))
        table[question] = (escape(reply.text),
                           keyboard(tuple((o.label, o.data) for o in reply.options)))
    return table


@asynccontextmanager
async def echo_bot(server: FakeTelegramServer, mode: str, clients: int,
                   prepared: Prepared | None = None) -> AsyncIterator[None]:
    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.message is None or update.message.text is None:
            return
        if prepared is None:
            await update.message.reply_text(update.message.text)
            return
        text, markup = prepared[update.message.text]
        await update.message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                        link_preview_options=NO_PREVIEW)

    builder = (Application.builder().token(TOKEN).base_url(server.base_url)
               .base_file_url(server.base_file_url).concurrent_updates(clients)
               .connection_pool_size(2 * clients + 8).job_queue(None))
    if mode == "webhook":
        builder = builder.updater(None)
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(application)
        await application.start()
        stack.push_async_callback(application.stop)
        if mode == "polling":
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0.0, timeout=30)
            stack.push_async_callback(application.updater.stop)
        else:
            # PTB's documented custom-webhook pattern: a route that feeds the update queue.
            async def route(request: web.Request) -> web.Response:
                data = json.loads(await request.read())
                await application.update_queue.put(Update.de_json(data, application.bot))
                return web.Response()

            port = _free_port()
            app = web.Application()
            app.router.add_post("/echo", route)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            await web.TCPSite(runner, "127.0.0.1", port).start()
            await application.bot.set_webhook(f"http://127.0.0.1:{port}/echo")
        yield


def _ends_pcmt(record: SentRecord) -> bool:
    return record.reply_markup is not None


async def measure(clients: int, rounds: int, repeats: int) -> list[Figures]:
    questions = [query.text for query in load_queries()]
    prepared = prepared_replies(questions)
    figures: list[Figures] = []
    chat = FIRST_CHAT
    async with FakeTelegramServer(TOKEN, USERNAME, rate_limits=None) as server:
        for mode in MODES:
            for repeat in range(repeats + 1):  # the first round warms up and is not counted
                with tempfile.TemporaryDirectory() as data_dir:
                    async with pcmt_bot(server, mode, clients, Path(data_dir)):
                        ours = await drive(server, _ends_pcmt, questions, clients, rounds, chat,
                                           "pcmt-bot", mode, repeat)
                chat += clients
                async with echo_bot(server, mode, clients):
                    echo = await drive(server, lambda _record: True, questions, clients, rounds,
                                       chat, "echo", mode, repeat)
                chat += clients
                async with echo_bot(server, mode, clients, prepared):
                    same = await drive(server, _ends_pcmt, questions, clients, rounds, chat,
                                       "same-reply echo", mode, repeat)
                chat += clients
                if repeat:
                    figures.extend([ours, echo, same])
    return figures


def _median(figures: list[Figures], bot: str, mode: str) -> Figures:
    runs = sorted((f for f in figures if f.bot == bot and f.mode == mode),
                  key=lambda f: f.per_second)
    return runs[len(runs) // 2]


def _paired(figures: list[Figures], baseline: str, mode: str,
            ratio: Callable[[Figures, Figures], float]) -> float:
    """The median over rounds of ``ratio(pcmt-bot's run, the baseline's run)`` within a round:
    runs made back to back share the machine's other load of the moment, which changes between
    rounds."""
    runs = {(f.bot, f.run): f for f in figures if f.mode == mode}
    return statistics.median(ratio(ours, runs[baseline, run])
                             for (bot, run), ours in runs.items() if bot == "pcmt-bot")


def report(figures: list[Figures], clients: int, rounds: int) -> None:
    print(f"{clients} chats x {rounds} questions each, closed loop; median of "
          f"{len(figures) // (len(MODES) * len(BOTS))} runs per line")
    print(f"{'mode':<8} {'bot':<15} {'updates':>7} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'cpu ms/update':>14}")
    for mode in MODES:
        for bot in BOTS:
            run = _median(figures, bot, mode)
            print(f"{mode:<8} {bot:<15} {run.updates:>7d} {run.per_second:>10.1f} "
                  f"{run.quantile(50):>8.1f} {run.quantile(99):>8.1f} "
                  f"{run.cpu_per_update:>14.2f}")
    print("ratios: median over rounds of the ratio within each round")
    for baseline in BOTS[1:]:
        for mode in MODES:
            throughput = _paired(figures, baseline, mode,
                                 lambda ours, other: ours.per_second / other.per_second)
            latency = _paired(figures, baseline, mode,
                              lambda ours, other: ours.quantile(50) / other.quantile(50))
            print(f"ratio pcmt-bot/{baseline} ({mode}): throughput {throughput:.2f}, "
                  f"p50 latency {latency:.2f}")
    # The same comparisons in CPU time, which other work on a shared machine disturbs less than
    # wall-clock rates: the baseline's CPU per update over pcmt-bot's.
    for baseline in BOTS[1:]:
        for mode in MODES:
            cpu = _paired(figures, baseline, mode,
                          lambda ours, other: other.cpu_per_update / ours.cpu_per_update)
            print(f"ratio {baseline}/pcmt-bot CPU per update ({mode}): {cpu:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny workload (smoke run)")
    parser.add_argument("--clients", type=int, default=32, help="chats asking at once")
    parser.add_argument("--rounds", type=int, default=20, help="questions per chat")
    parser.add_argument("--repeats", type=int, default=3, help="measured runs per line")
    args = parser.parse_args(argv)
    clients, rounds, repeats = (4, 3, 1) if args.quick else (args.clients, args.rounds,
                                                             args.repeats)
    logs.configure("WARNING")
    report(asyncio.run(measure(clients, rounds, repeats)), clients, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
