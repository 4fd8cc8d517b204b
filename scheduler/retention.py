"""Forgetting on time: reply handles older than ``PCMT_REPORT_RETENTION_DAYS`` are deleted,
so an open report that nobody closes still loses its way back to the reporter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot import logs
from bot.store import Store, reports

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 600.0


class Retention:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    async def tick(self) -> int:
        """Returns how many reply handles were deleted. Deleting twice deletes nothing more."""
        async with self.store.transaction() as conn:
            purged = await reports.purge_expired_handles(conn, self.clock())
        if purged:
            logs.event(log, "retention.purged", handles=purged)
        return purged
