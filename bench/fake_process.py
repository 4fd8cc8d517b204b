"""The fake Bot API server in a process of its own, as Telegram's servers are not on the bot's
CPU: at a few hundred messages a second the fake's own work would otherwise take turns on the
bot's event loop and slow the very sending it measures.

The parent reads what arrived incrementally over a pipe: each read returns the texts sent with
``sendMessage`` since the last one, with their arrival times on the system-wide monotonic clock
(the same as the parent's ``time.monotonic()``), and the count of 429s so far.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from multiprocessing.connection import Connection
from types import TracebackType

from tests.fakes.telegram_api import FakeTelegramServer, RateLimits

Arrived = list[tuple[str, float]]


def _serve(pipe: Connection, token: str, username: str, rate: int) -> None:
    asyncio.run(_serve_async(pipe, token, username, rate))


async def _serve_async(pipe: Connection, token: str, username: str, rate: int) -> None:
    limits = RateLimits(global_per_second=rate)
    async with FakeTelegramServer(token, username, rate_limits=limits) as server:
        pipe.send((server.base_url, server.base_file_url))
        asked = asyncio.Event()
        asyncio.get_running_loop().add_reader(pipe.fileno(), asked.set)
        read = 0
        while True:
            await asked.wait()
            asked.clear()
            while pipe.poll():
                if pipe.recv() == "stop":
                    pipe.send(time.process_time())
                    return
                sent = server.sent
                pipe.send(([(record.text, record.time) for record in sent[read:]
                            if record.method == "sendMessage" and record.text is not None],
                           server.rate_limit_violations))
                read = len(sent)


class FakeInProcess:
    """``async with FakeInProcess(token, username, rate) as fake``: ``fake.base_url``,
    ``await fake.read()``; ``fake.cpu`` (its process's CPU seconds) once it has stopped."""

    def __init__(self, token: str, username: str, rate: int) -> None:
        spawn = multiprocessing.get_context("spawn")  # no copy of the parent's event loop
        self._pipe, child = spawn.Pipe()
        self._process = spawn.Process(target=_serve, args=(child, token, username, rate),
                                      daemon=True)
        self.base_url = self.base_file_url = ""
        self.violations = 0
        self.cpu = 0.0

    async def __aenter__(self) -> FakeInProcess:
        self._process.start()
        self.base_url, self.base_file_url = await asyncio.to_thread(self._pipe.recv)
        return self

    async def read(self) -> Arrived:
        """What arrived since the last read."""
        def ask() -> tuple[Arrived, int]:
            self._pipe.send("read")
            answer: tuple[Arrived, int] = self._pipe.recv()
            return answer
        arrived, self.violations = await asyncio.to_thread(ask)
        return arrived

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        def stop() -> float:
            self._pipe.send("stop")
            cpu: float = self._pipe.recv()
            return cpu
        self.cpu = await asyncio.to_thread(stop)
        await asyncio.to_thread(self._process.join, 10)
