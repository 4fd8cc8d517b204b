"""The weekly digest's clock: from Monday 08:00 (Vietnam time) on, the first tick of the week
outside the quiet hours claims the week in the database and queues every digest in the same
transaction; a process down on Monday sends it when it is back, a second scheduler never sends
it twice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta

from bot import logs
from bot.checkins import digest
from bot.clock import VIETNAM, QuietHours, local
from bot.services import Services
from bot.store import Store, audit, digests

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 600.0
SENT_AT = time(8, 0)
"""Monday morning, local time: the week ahead starts with last week in view."""


def week_of(now: datetime) -> tuple[str, datetime]:
    """The ISO week ``now`` is in and the moment its digest is due."""
    here = local(now)
    year, week, weekday = here.isocalendar()
    monday = here.date() - timedelta(days=weekday - 1)
    return f"{year}-W{week:02d}", datetime.combine(monday, SENT_AT, tzinfo=VIETNAM)


class WeeklyDigest:
    def __init__(self, store: Store, services: Services,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.services = services
        self.clock = clock
        self.quiet = QuietHours()

    async def tick(self) -> dict[str, int]:
        now = self.clock()
        week, due = week_of(now)
        if now < due or self.quiet.next_allowed(now) != now:
            return {"digests": 0}
        async with self.store.transaction() as conn:
            if not await digests.claim(conn, week, now):
                return {"digests": 0}
            # the week the digest looks back on: from the previous digest's time to this one's
            sent = await digest.send(conn, self.services.keyring, self.services.settings, week,
                                     due - timedelta(days=7), now)
            await audit.record(conn, at=now, actor="scheduler", action="digest.sent",
                               subject=week, detail=str(sent))
        logs.event(log, "digest.sent", week=week, chats=sent)
        return {"digests": sent}
