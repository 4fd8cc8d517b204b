"""Reports nobody acts on: route the ones still waiting for an inbox, and remind the commune
and alert the province about the ones still "new" after ``PCMT_REPORT_ACK_HOURS``.

One transaction per tick. Every message goes through the outbox with a dedupe key, so a tick
that runs twice, or on two replicas at once, queues each reminder and alert once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from bot import logs
from bot.reports import notify, place_of, route
from bot.services import Services
from bot.store import Store, officers, reports
from bot.store.reports import Report

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 60.0


class Escalation:
    def __init__(self, store: Store, services: Services, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.services = services
        self.clock = clock

    async def tick(self) -> tuple[int, int]:
        """Returns how many waiting reports were routed and how many were escalated."""
        now = self.clock()
        routed = escalated = 0
        async with self.store.transaction() as conn:
            for report in await reports.awaiting_route(conn, commune_code=None,
                                                       province_code=None):
                routed += await self._guarded(conn, report, self._route, now)
            hours = self.services.settings.report_ack_hours
            for report in await reports.due_for_escalation(conn, now - timedelta(hours=hours)):
                escalated += await self._guarded(conn, report, self._escalate, now)
        if routed or escalated:
            logs.event(log, "escalation.tick", routed=routed, escalated=escalated)
        return routed, escalated

    async def _guarded(self, conn: AsyncConnection, report: Report,
                       step: Callable[[AsyncConnection, Report, datetime], Awaitable[bool]],
                       now: datetime) -> int:
        """Run ``step`` in a savepoint: one unreadable report must not hold back the others."""
        try:
            async with conn.begin_nested():
                done = await step(conn, report, now)
        except Exception as exc:
            logs.event(log, "escalation.failed", logging.ERROR, report_id=report.id,
                       error=type(exc).__name__)
            return 0
        return 1 if done else 0

    async def _route(self, conn: AsyncConnection, report: Report, now: datetime) -> bool:
        services = self.services
        level = await route(conn, report, keyring=services.keyring, settings=services.settings,
                            place=place_of(services.communes, report), now=now)
        return level is not None

    async def _escalate(self, conn: AsyncConnection, report: Report, now: datetime) -> bool:
        keyring, settings = self.services.keyring, self.services.settings
        hours = f"{settings.report_ack_hours:g}"
        if await officers.for_commune(conn, report.commune_code):
            await notify(conn, report, keyring=keyring, settings=settings, now=now,
                         text_id="police.reminder", dedupe="reminder", level="commune",
                         hours=hours)
        place = place_of(self.services.communes, report)
        alerted = await notify(conn, report, keyring=keyring, settings=settings, now=now,
                               text_id="police.escalated", dedupe="escalation",
                               level="province", hours=hours, commune=place.commune)
        # Nobody above the commune to tell yet: try again on a later tick.
        if alerted:
            await reports.mark_escalated(conn, report.id, now)
        return bool(alerted)
