"""Forgetting on time: reply handles older than ``PCMT_REPORT_RETENTION_DAYS`` are deleted,
so an open report that nobody closes still loses its way back to the reporter; messages sent
more than ``PCMT_DELIVERY_RETENTION_DAYS`` ago leave the outbox, sealed addresses with them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot import logs
from bot.settings import Settings
from bot.store import Store, outbox, reports

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 600.0


class Retention:
    def __init__(self, store: Store, clock: Callable[[], datetime], settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.sent_kept = timedelta(days=settings.delivery_retention_days)

    async def tick(self) -> int:
        """Returns how many reply handles and sent messages were deleted. Deleting twice
        deletes nothing more."""
        now = self.clock()
        async with self.store.transaction() as conn:
            handles = await reports.purge_expired_handles(conn, now)
            sent = await outbox.purge(conn, now - self.sent_kept)
        if handles or sent:
            logs.event(log, "retention.purged", handles=handles, sent=sent)
        return handles + sent
