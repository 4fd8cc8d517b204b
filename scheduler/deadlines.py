"""Reporting deadlines on the clock: each tick plans the rounds of reminders and digests that
are due (see :mod:`bot.deadlines.planner`).

One transaction a tick, claimed round by round, so two replicas ticking together queue each
message once, and a tick that dies before committing is planned again by the next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot import logs
from bot.clock import local
from bot.deadlines.planner import Claimed, Owed, Planned, plan
from bot.services import Services
from bot.store import Store, deadlines

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 60.0


class Deadlines:
    def __init__(self, store: Store, services: Services, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.services = services
        self.clock = clock
        self.claimed: Claimed = set()
        self.owed = Owed()

    async def tick(self) -> Planned:
        now = self.clock()
        async with self.store.transaction() as conn:
            await deadlines.replannable(conn)
            planned = await plan(conn, self.services, now, self.claimed, self.owed)
        # Only once committed: a round rolled back must be planned again by the next tick.
        today = local(now).date()
        self.claimed = {key for key in self.claimed | planned.claimed if key[2] == today}
        if planned.rounds:
            logs.event(log, "deadlines.planned", rounds=len(planned.rounds),
                       reminders=planned.reminders, digests=planned.digests)
        return planned
