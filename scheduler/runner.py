"""APScheduler wiring: the clock that fires short ticks. Who is due lives in the database.
Delivery is no tick: each channel has a long-lived sender (:mod:`scheduler.sender`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler


@dataclass(frozen=True, slots=True)
class Job:
    """A periodic tick (escalation, retention, ...)."""

    name: str
    tick: Callable[[], Awaitable[object]]
    seconds: float


class Scheduler:
    def __init__(self, jobs: Iterable[Job] = ()) -> None:
        self.jobs = list(jobs)
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: set[asyncio.Task[object]] = set()

    async def start(self) -> None:
        for job in self.jobs:
            # the first run at once: what fell due while the process was down goes out now
            self._scheduler.add_job(self._tracked, "interval", args=[job.tick],
                                    seconds=job.seconds, id=job.name, max_instances=1,
                                    coalesce=True, next_run_time=datetime.now(UTC))
        self._scheduler.start()

    async def _tracked(self, tick: Callable[[], Awaitable[object]]) -> object:
        run = asyncio.current_task()
        assert run is not None
        self._running.add(run)
        try:
            return await tick()
        finally:
            self._running.discard(run)

    async def stop(self) -> None:
        """Fire nothing more, and let the ticks under way finish (their transactions are
        short): APScheduler's shutdown would cancel them mid-way, logged as failures."""
        if not self._scheduler.running:
            return
        self._scheduler.pause()
        await asyncio.sleep(0)  # a tick just handed to the loop starts, and is counted
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        self._scheduler.shutdown(wait=False)
