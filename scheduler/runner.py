"""APScheduler wiring: the clock that fires short ticks. Who is due lives in the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.settings import Settings
from scheduler.delivery import Delivery


@dataclass(frozen=True, slots=True)
class Job:
    """A periodic tick besides delivery (escalation, retention, ...)."""

    name: str
    tick: Callable[[], Awaitable[object]]
    seconds: float


class Scheduler:
    def __init__(self, delivery: Delivery, settings: Settings, jobs: Iterable[Job] = ()) -> None:
        self.delivery = delivery
        self.interval = settings.delivery_interval_seconds
        self.jobs = list(jobs)
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    async def start(self) -> None:
        self._scheduler.add_job(
            self.delivery.tick, "interval", seconds=self.interval, id="delivery",
            max_instances=1, coalesce=True,
        )
        for job in self.jobs:
            # the first run at once: what fell due while the process was down goes out now
            self._scheduler.add_job(job.tick, "interval", seconds=job.seconds, id=job.name,
                                    max_instances=1, coalesce=True,
                                    next_run_time=datetime.now(UTC))
        self._scheduler.start()

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        await self.delivery.stop()
