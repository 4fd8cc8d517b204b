"""Sending budgets a messaging platform imposes, kept by waiting rather than by failing.

Each budget is a sliding window ("at most N messages in any P seconds"), kept overall, per
chat and, for group chats, per group. :meth:`RateLimiter.acquire` returns once one more
message fits every window that applies; :meth:`RateLimiter.settle` moves the message's place in
the windows to when the platform answered. The platform counts a message when it arrives,
somewhere between the two: counted from the answer, a message is never closer to the one before
it than the window allows, however the network delays either, so no margin is needed.
:meth:`RateLimiter.delay` tells a sender which chats can take a message now without waiting,
and :meth:`RateLimiter.pause` holds every sender back
when the platform says it was flooded anyway; :func:`backoff` spaces out attempts after
failures where the platform gives no wait of its own. Channel-neutral: Telegram and Zalo use it with
their own numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

SWEEP_EVERY = 1000
"""Idle per-chat windows are dropped every this many acquisitions, so memory stays bounded."""


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``count`` messages in any window of ``period`` seconds."""

    count: int
    period: float


class _Stamp:
    """When a message counts: when it was sent, then when the platform answered."""

    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at


@dataclass(frozen=True, slots=True)
class Slot:
    """A message's place in each window that counted it, for :meth:`RateLimiter.settle`."""

    chat: str
    stamps: tuple[_Stamp, ...]


_PREPAID: ContextVar[Slot | None] = ContextVar("prepaid_slot", default=None)


class _Window:
    __slots__ = ("limit", "times")

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.times: deque[_Stamp] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more message fits (0 when it fits now)."""
        horizon = now - self.limit.period
        # Settled stamps move later, so the oldest may no longer be first: one that is not
        # first stays counted a little longer, which errs on the safe side.
        while self.times and self.times[0].at <= horizon:
            self.times.popleft()
        if len(self.times) < self.limit.count:
            return 0.0
        return self.times[0].at - horizon

    def record(self, now: float) -> _Stamp:
        stamp = _Stamp(now)
        self.times.append(stamp)
        return stamp

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
    """``is_group`` tells group chats (with a budget of their own) from the chat id, where a
    caller does not say."""

    def __init__(self, *, overall: Limit, per_chat: Limit, per_group: Limit | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 is_group: Callable[[str], bool] = lambda _chat: False) -> None:
        self._clock = clock
        self._sleep = sleep
        self._is_group = is_group
        self._overall = _Window(overall)
        self._per_chat = per_chat
        self._per_group = per_group
        self._chats: dict[str, _Window] = {}
        self._groups: dict[str, _Window] = {}
        self._paused_until = 0.0
        self._acquired = 0

    @property
    def overall(self) -> Limit:
        return self._overall.limit

    @property
    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when sending is allowed)."""
        return max(0.0, self._paused_until - self._clock())

    def pause(self, seconds: float) -> None:
        """Hold every sender back for ``seconds`` (a platform's "retry after")."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def sleep(self, seconds: float) -> None:
        """Wait on the budgets' own clock (virtual time in tests, where only this moves it)."""
        await self._sleep(seconds)

    def delay(self, chat: str | None = None) -> float:
        """Seconds until one more message to ``chat`` fits every budget (0: it fits now);
        without a chat, until the overall budget has room."""
        now = self._clock()
        windows = ([self._overall] if chat is None
                   else self._windows(chat, self._is_group(chat)))
        return max(0.0, self._paused_until - now, *(window.wait(now) for window in windows))

    def take(self, chat: str) -> Slot:
        """Count a message to ``chat`` now, without waiting: for a sender that asked
        :meth:`delay` first and will send under :meth:`prepaid`."""
        return self._record(chat, self._windows(chat, self._is_group(chat)), self._clock())

    async def acquire(self, chat: str, *, group: bool | None = None) -> Slot:
        """Wait until one more message to ``chat`` fits every budget, and count it; a slot
        taken beforehand for this chat (:meth:`prepaid`) is used instead."""
        prepaid = _PREPAID.get()
        if prepaid is not None and prepaid.chat == chat:
            _PREPAID.set(None)  # it pays for one message: the next part waits its turn
            return prepaid
        grouped = self._is_group(chat) if group is None else group
        while True:
            # looked up afresh after every sleep: a sweep may have dropped an idle window
            windows = self._windows(chat, grouped)
            now = self._clock()
            wait = max(self._paused_until - now, *(window.wait(now) for window in windows))
            if wait <= 0:
                break
            await self._sleep(wait)
        return self._record(chat, windows, now)

    def settle(self, slot: Slot) -> None:
        """The platform answered the message of ``slot``: it counts from now."""
        now = self._clock()
        for stamp in slot.stamps:
            stamp.at = max(stamp.at, now)

    @staticmethod
    @contextlib.contextmanager
    def prepaid(slot: Slot) -> Iterator[None]:
        """Within this block, the first message to ``slot.chat`` uses ``slot``."""
        token = _PREPAID.set(slot)
        try:
            yield
        finally:
            _PREPAID.reset(token)

    def _record(self, chat: str, windows: list[_Window], now: float) -> Slot:
        slot = Slot(chat, tuple(window.record(now) for window in windows))
        self._acquired += 1
        if self._acquired % SWEEP_EVERY == 0:
            self._sweep(now)
        return slot

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
