"""The appointment calendar, kept in the database and worked by a short tick: each due
appointment takes its next step (a reminder to the person, or the question to the case officer
whether they came) and is moved to the step after, claimed with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL so that two schedulers never take one step twice; the outbox's dedupe key per
appointment and step holds the rest."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot import logs
from bot.checkins.appointments import OFFICER, before, next_stage, remind, tell_case_officer
from bot.services import Services
from bot.store import Store, appointments, checkins
from bot.store.appointments import Appointment

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 60.0
BATCH = 500


class AppointmentTick:
    def __init__(self, store: Store, services: Services,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.services = services
        self.clock = clock

    async def tick(self) -> dict[str, int]:
        """How many steps this tick took; each batch reads the clock afresh."""
        total = 0
        while True:
            async with self.store.transaction() as conn:
                count = await self._batch(conn, self.clock())
            total += count
            if count < BATCH:
                break
        if total:
            logs.event(log, "appointments.tick", steps=total)
        return {"appointments": total}

    async def _batch(self, conn: AsyncConnection, now: datetime) -> int:
        due = await appointments.claim_due(conn, now, BATCH)
        for appointment in due:
            # late (the scheduler was down): of the steps due by now, only the last is taken
            stage, moment = next_stage(appointment.at, now, before(appointment.stage))
            if moment is not None and moment <= now:
                await self._step(conn, appointment, stage, now)
                stage, moment = next_stage(appointment.at, now, stage)
            await appointments.advance(conn, appointment.id, stage, moment)
        return len(due)

    async def _step(self, conn: AsyncConnection, appointment: Appointment, stage: str,
                    now: datetime) -> None:
        enrolment = await checkins.by_id(conn, appointment.enrolment_id)
        if enrolment is None:
            return
        keyring = self.services.keyring
        if stage == OFFICER:
            await tell_case_officer(conn, keyring, self.services.settings, enrolment,
                                    appointment, "appointment.ask_attended", dedupe="attended",
                                    now=now, options=True)
        else:
            await remind(conn, keyring, enrolment, appointment, stage, now)
