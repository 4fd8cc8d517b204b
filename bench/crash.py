"""Crash test of outgoing delivery: ``pcmt-bot run`` SIGKILLed while it sends, then restarted.

Run from the repository root: ``python -m bench.crash`` (5,000 messages to 1,000 chats on
SQLite, and on PostgreSQL when the local server answers; ``--quick`` sends 150 to 50,
``--database URL`` picks one database; tests/integration/test_outbox_crash.py runs the
quick size on both). The messages are queued in the outbox first, as a
round of reminders would be; the bot delivers them to the fake Telegram server
(``tests/fakes/telegram_api.py``, enforcing Telegram's limits) and is killed with SIGKILL once
a third of them have arrived. The restarted bot delivers the rest.

What is counted, at the fake server: messages that never arrived (lost), and messages that
arrived more than once (duplicates). A duplicate can only be a message that was in flight at
the kill: sent to Telegram, but not yet recorded as sent in the outbox. That number is known
after the kill: messages the fake accepted, less outbox rows marked sent. Each database ends
with one line:
``crash: N messages, L lost, D duplicates, F in flight at the kill (DATABASE)``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/crash.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from bot.conversation.dispatch import utc_now
from bot.conversation.messages import Reply
from bot.conversation.proactive import Queued, push_many
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, outbox
from tests.fakes.telegram_api import FakeTelegramServer

TOKEN = "123456:CRASH-token"  # noqa: S105 - the fake server's token
USERNAME = "pcmt_crash_bot"
SECRET_KEY = "5eed" * 16  # hex of 32 bytes: a test key
FIRST_CHAT = 20_000_000
PREFIX = "crash message "
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
LEASE_SECONDS = "3"
"""The outbox lease in the bot processes: how long the restarted bot waits for the rows the
killed one had claimed."""


@dataclass(frozen=True, slots=True)
class Figures:
    messages: int
    lost: int
    duplicates: int
    in_flight: int
    """Accepted by the fake before the restart but not marked sent: the most that may come
    twice."""
    killed_after: int
    seconds: float

    def line(self, database: str) -> str:
        return (f"crash: {self.messages} messages, {self.lost} lost, {self.duplicates} "
                f"duplicates, {self.in_flight} in flight at the kill ({database})")


def _sent(server: FakeTelegramServer) -> list[str]:
    return [text for record in server.sent
            if record.method == "sendMessage" and (text := record.text or "").startswith(PREFIX)]


async def _queue(database_url: str, data_dir: Path, messages: int, chats: int) -> None:
    settings = Settings(_env_file=None, database_url=database_url, data_dir=data_dir,
                        secret_key=SECRET_KEY)
    store = await Store.open(database_url)
    try:
        async with store.transaction() as conn:
            await push_many(conn, Services(settings).keyring, [
                Queued("telegram", str(FIRST_CHAT + number % chats), Reply(f"{PREFIX}{number}"),
                       f"crash:{number}") for number in range(messages)], now=utc_now())
    finally:
        await store.close()


async def _marked_sent(database_url: str) -> tuple[int, int]:
    """Rows marked sent, and rows not sent yet."""
    store = await Store.open(database_url, migrate=False)
    try:
        async with store.transaction() as conn:
            counts = await outbox.counts(conn)
    finally:
        await store.close()
    return counts.get(outbox.SENT, 0), counts.get(outbox.PENDING, 0)


async def _start(database_url: str, data_dir: Path,
                 server: FakeTelegramServer) -> asyncio.subprocess.Process:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PCMT_")}
    env.update({"PCMT_DATABASE_URL": database_url, "PCMT_DATA_DIR": str(data_dir),
                "PCMT_SECRET_KEY": SECRET_KEY, "PCMT_TELEGRAM_TOKEN": TOKEN,
                "PCMT_TELEGRAM_BASE_URL": server.base_url,
                "PCMT_TELEGRAM_BASE_FILE_URL": server.base_file_url,
                "PCMT_DELIVERY_LEASE_SECONDS": LEASE_SECONDS, "PCMT_LOG_LEVEL": "WARNING"})
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=data_dir,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)


async def run(database_url: str, data_dir: Path, *, messages: int, chats: int,
              timeout: float) -> Figures:  # noqa: ASYNC109 - a bound on the whole run
    """Queue ``messages``, kill the bot a third of the way, restart it, count at the fake."""
    started = time.perf_counter()
    await _queue(database_url, data_dir, messages, chats)
    kill_after = messages // 3
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(FakeTelegramServer(TOKEN, USERNAME))
        first = await _start(database_url, data_dir, server)
        try:
            await server.wait_until(lambda: len(_sent(server)) >= kill_after, timeout)
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        accepted = len(_sent(server))
        marked, _pending = await _marked_sent(database_url)
        second = await _start(database_url, data_dir, server)
        try:
            for _ in range(int(timeout * 2)):  # until the outbox holds nothing unsent
                if not (await _marked_sent(database_url))[1]:
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(1.0)  # a send the last mark raced with
        finally:
            second.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(second.wait(), 30)
            except TimeoutError:
                second.kill()
                await second.wait()
        counted = Counter(_sent(server))
    expected = {f"{PREFIX}{number}" for number in range(messages)}
    return Figures(messages=messages, lost=len(expected - counted.keys()),
                   duplicates=sum(count - 1 for count in counted.values()),
                   in_flight=accepted - marked, killed_after=accepted,
                   seconds=time.perf_counter() - started)


@asynccontextmanager
async def fresh_database(url: str) -> AsyncIterator[str | None]:
    """A new database beside the one ``url`` names, dropped afterwards (None when the server
    does not answer): the run counts only its own rows, and touches no one else's."""
    server = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    try:
        admin = await asyncpg.connect(server, timeout=3)
    except (OSError, asyncpg.PostgresError):
        yield None
        return
    name = f"pcmt_bench_{os.getpid()}"
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def _main(quick: bool, database: str | None) -> int:
    messages, chats = (150, 50) if quick else (5_000, 1_000)
    failed = False
    for kind in ([database] if database else ["sqlite", "postgresql"]):
        with tempfile.TemporaryDirectory(prefix="pcmt-crash-") as folder:
            data_dir = Path(folder)
            async with AsyncExitStack() as stack:
                if kind == "sqlite":
                    url: str | None = f"sqlite+aiosqlite:///{data_dir}/pcmt.db"
                elif kind == "postgresql":
                    url = await stack.enter_async_context(fresh_database(POSTGRES))
                else:
                    url = kind
                if url is None:
                    print(f"{kind}: not reachable, skipped")
                    continue
                figures = await run(url, data_dir, messages=messages, chats=chats,
                                    timeout=60 + messages / 10)
            name = url.split("+")[0]
            print(f"{name}: killed after {figures.killed_after} of {figures.messages} had "
                  f"arrived; whole run {figures.seconds:.0f} s")
            print(figures.line(name))
            failed |= figures.lost > 0 or figures.duplicates > figures.in_flight
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="150 messages to 50 chats")
    parser.add_argument("--database", help="one database URL (default: SQLite, then the "
                                           "local PostgreSQL if it answers)")
    args = parser.parse_args()
    sys.exit(asyncio.run(_main(args.quick, args.database)))


if __name__ == "__main__":
    main()
