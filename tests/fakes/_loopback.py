"""What every fake platform server shares: an aiohttp app on a free loopback port, waiters
woken on every change, and faults and delays injected per API method.

A subclass adds its routes in ``_routes``, records what the bot sent in ``sent``, calls
``touch()`` whenever something changed and ``await self._interfere(method, gone)`` before
answering an API call.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web


@dataclass
class Fault:
    error: Exception
    remaining: int


class LoopbackServer:
    def __init__(self) -> None:
        self.sent: list[Any] = []
        self._faults: dict[str, list[Fault]] = {}
        self._delays: dict[str, float] = {}
        self._changed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        self._routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._stopping.clear()

    async def stop(self) -> None:
        self._stopping.set()
        self.touch()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # waiting

    def touch(self) -> None:
        """Wake every waiter: each holds the event it saw, so swapping in a new one re-arms."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._changed.wait(), seconds)
        except TimeoutError:
            return False
        return True

    # A timeout argument reads better in tests than a wrapping asyncio.timeout block.
    async def wait_until(self, condition: Callable[[], bool],
                         timeout: float = 5.0) -> None:  # noqa: ASYNC109
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                recent = "\n".join(repr(record) for record in self.sent[-10:])
                raise TimeoutError(f"not met within {timeout}s; last sent:\n{recent}")
            await self._wait_change(remaining)

    # faults

    def _add_fault(self, method: str, error: Exception, count: int) -> None:
        self._faults.setdefault(method.lower(), []).append(Fault(error, count))

    def delay(self, method: str, seconds: float) -> None:
        """Hold every call of ``method`` this long before answering (0 removes it)."""
        if seconds > 0:
            self._delays[method.lower()] = seconds
        else:
            self._delays.pop(method.lower(), None)

    async def _interfere(self, method: str, gone: Exception) -> None:
        """Wait out ``method``'s delay (raising ``gone`` if the server stops meanwhile: it
        went down mid-request, with no side effects), then raise its next fault, if any."""
        key = method.lower()
        if key in self._delays:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._delays[key])
            if self._stopping.is_set():
                raise gone
        faults = self._faults.get(key)
        if faults:
            fault = faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.pop(0)
            raise fault.error
