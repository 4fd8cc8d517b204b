"""Sending budgets a messaging platform imposes, kept by waiting rather than by failing.

Each budget is a sliding window ("at most N messages in any P seconds"), kept overall, per
chat and, for group chats, per group. :meth:`RateLimiter.acquire` returns once one more
message fits every window that applies, and :meth:`RateLimiter.pause` holds every sender back
when the platform says it was flooded anyway; :func:`backoff` spaces out attempts after
failures where the platform gives no wait of its own. Channel-neutral: Telegram and Zalo use it with
their own numbers.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

SWEEP_EVERY = 1000
"""Idle per-chat windows are dropped every this many acquisitions, so memory stays bounded."""


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``count`` messages in any window of ``period`` seconds."""

    count: int
    period: float


class _Window:
    __slots__ = ("limit", "times")

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more message fits (0 when it fits now)."""
        horizon = now - self.limit.period
        while self.times and self.times[0] <= horizon:
            self.times.popleft()
        if len(self.times) < self.limit.count:
            return 0.0
        return self.times[0] - horizon

    def record(self, now: float) -> None:
        self.times.append(now)

    def idle(self, now: float) -> bool:
        self.wait(now)
        return not self.times


def backoff(failures: int, base: float, cap: float,
            rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``failures`` in a row: doubling from ``base`` up to ``cap``, with
    jitter so that senders which failed together do not come back together."""
    delay = min(cap, base * 2.0 ** min(max(0, failures - 1), 64))
    return delay * (0.5 + rng() / 2)


class RateLimiter:
    def __init__(self, *, overall: Limit, per_chat: Limit, per_group: Limit | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._overall = _Window(overall)
        self._per_chat = per_chat
        self._per_group = per_group
        self._chats: dict[str, _Window] = {}
        self._groups: dict[str, _Window] = {}
        self._paused_until = 0.0
        self._acquired = 0

    @property
    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when sending is allowed)."""
        return max(0.0, self._paused_until - self._clock())

    def pause(self, seconds: float) -> None:
        """Hold every sender back for ``seconds`` (a platform's "retry after")."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self, chat: str, *, group: bool = False) -> None:
        """Wait until one more message to ``chat`` fits every budget, and count it."""
        while True:
            # looked up afresh after every sleep: a sweep may have dropped an idle window
            windows = self._windows(chat, group)
            now = self._clock()
            wait = max(self._paused_until - now, *(window.wait(now) for window in windows))
            if wait <= 0:
                break
            await self._sleep(wait)
        for window in windows:
            window.record(now)
        self._acquired += 1
        if self._acquired % SWEEP_EVERY == 0:
            self._sweep(now)

    def _windows(self, chat: str, group: bool) -> list[_Window]:
        windows = [self._overall, _window(self._chats, chat, self._per_chat)]
        if group and self._per_group is not None:
            windows.append(_window(self._groups, chat, self._per_group))
        return windows

    def _sweep(self, now: float) -> None:
        for windows in (self._chats, self._groups):
            for key in [key for key, window in windows.items() if window.idle(now)]:
                del windows[key]


def _window(windows: dict[str, _Window], key: str, limit: Limit) -> _Window:
    window = windows.get(key)
    if window is None:
        window = windows[key] = _Window(limit)
    return window
