"""The check-in calendar, kept in the database and worked by a short tick.

Each tick, in short transactions: plan the enrolments that are due (claimed with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two schedulers never plan one slot), put planned
check-ins in front of people who are not busy in another flow, remind once after
``PCMT_CHECKIN_REMINDER_HOURS``, and send alerts nobody acknowledged to the province. A
check-in still open when the next slot comes is missed; two missed in a row alert the officers.
Every message goes through the outbox with a dedupe key per person and slot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot import logs
from bot.checkins import (
    CHECKIN_TTL,
    address_of,
    alert,
    escalate,
    reasons_of,
    schedule_of,
    tell_officers,
)
from bot.checkins.buttons import CheckinButton
from bot.clock import QuietHours
from bot.conversation.flows import Flow
from bot.conversation.i18n import gettext as _
from bot.conversation.i18n import use_language
from bot.conversation.messages import Option, Reply
from bot.conversation.proactive import open_flow, push
from bot.services import Services
from bot.store import Store, checkins, conversations, outbox, users
from bot.store.checkins import Checkin, Enrolment

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 30.0
BATCH = 500
MISSES_TO_ALERT = 2
"""Two check-ins missed in a row bring a call (Lucht et al., Addiction 2021)."""


class CheckinTick:
    def __init__(self, store: Store, services: Services, flow: Flow,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.services = services
        self.flow = flow
        self.clock = clock
        self.quiet = QuietHours()

    async def tick(self) -> dict[str, int]:
        """What this tick did, by step; every step reads the clock afresh."""
        done = {"planned": await self.plan(),
                "sent": await self._batches(self._send),
                "reminded": await self._batches(self._remind),
                "escalated": await self._batches(self._escalate)}
        if any(done.values()):
            logs.event(log, "checkins.tick", **done)
        return done

    async def _batches(self, step: Callable[[AsyncConnection, datetime], Awaitable[int]]) -> int:
        total = 0
        while True:
            async with self.store.transaction() as conn:
                count = await step(conn, self.clock())
            total += count
            if count < BATCH:
                return total

    # --- planning ---------------------------------------------------------------------------

    async def plan(self) -> int:
        """Plan every enrolment due, batch after batch, each claim starting after the last
        row claimed: on PostgreSQL the rows planned earlier in the tick leave dead entries at
        the head of the due-time index, which a claim from the start walks again every batch
        (planning 250,000 took 166 s that way)."""
        last: list[tuple[datetime, int]] = []

        async def step(conn: AsyncConnection, now: datetime) -> int:
            due = await checkins.claim_due(conn, now, BATCH, last[-1] if last else None)
            if due:
                assert due[-1].next_due_at is not None
                last.append((due[-1].next_due_at, due[-1].id))
            return await self._plan(conn, due, now)

        return await self._batches(step)

    async def _plan(self, conn: AsyncConnection, due: list[Enrolment], now: datetime) -> int:
        missed = await checkins.miss_open(conn, [enrolment.id for enrolment in due])
        plans, ended = [], []
        for enrolment in due:
            assert enrolment.next_due_at is not None
            misses = enrolment.misses + missed.get(enrolment.id, 0)
            if enrolment.misses < MISSES_TO_ALERT <= misses:
                await alert(conn, self.services.keyring, self.services.settings, enrolment,
                            reasons=("missed",), now=now)
            slot = enrolment.next_due_at
            following = schedule_of(enrolment).next_slot(max(slot, now))
            plans.append(checkins.Plan(enrolment.id, slot, following, misses))
            if following is None:
                ended.append(enrolment)
        await checkins.planned(conn, plans)
        for enrolment in ended:
            await self._end(conn, enrolment, now)
        return len(due)

    async def _end(self, conn: AsyncConnection, enrolment: Enrolment, now: datetime) -> None:
        """The management period is over: a last word to the person, a notice to officers."""
        await checkins.set_status(conn, enrolment.id, checkins.ENDED)
        address = address_of(self.services.keyring, enrolment)
        if address is not None:
            with use_language(address.language):
                reply = Reply(_("checkin.ended"))
            await push(conn, self.services.keyring, channel=address.channel,
                       chat_id=address.chat_id, reply=reply,
                       dedupe_key=f"enrolment:{enrolment.id}:ended", due_at=now, now=now,
                       private=True, priority=outbox.ROUTINE)
        await tell_officers(conn, self.services.keyring, self.services.settings, enrolment,
                            "checkin.officer_ended", dedupe="ended", now=now)

    # --- putting check-ins in front of people -----------------------------------------------

    async def _send(self, conn: AsyncConnection, now: datetime) -> int:
        waiting = await checkins.unsent(conn, now, BATCH)
        for checkin in waiting:
            await self._send_one(conn, checkin, now)
        return len(waiting)

    async def _send_one(self, conn: AsyncConnection, checkin: Checkin, now: datetime) -> None:
        enrolment = await checkins.by_id(conn, checkin.enrolment_id)
        user = (await users.get(conn, enrolment.user_id)
                if enrolment is not None and enrolment.user_id is not None else None)
        address = address_of(self.services.keyring, enrolment) if enrolment is not None else None
        if enrolment is None or user is None or address is None \
                or enrolment.status != checkins.ACTIVE:
            # nobody to ask any more: closed, so that later ticks do not pick it up again
            await checkins.mark_missed(conn, [checkin.id])
            return
        busy = await conversations.active_flow(conn, user.id, now)
        if busy is not None and busy != self.flow.name:
            return  # in the middle of something else: this check-in waits its turn
        if user.unreachable:
            await checkins.mark_missed(conn, [checkin.id])
            await tell_officers(conn, self.services.keyring, self.services.settings,
                                enrolment, "checkin.officer_unreachable",
                                dedupe="unreachable", now=now)
            return
        data: dict[str, Any] = {"checkin": checkin.id, "enrolment": enrolment.id}
        if not enrolment.ask_use:
            data["used"] = None
        await open_flow(conn, self.services, self.flow, user=user, channel=address.channel,
                        chat_id=address.chat_id, language=user.language or address.language,
                        dedupe_key=f"checkin:{checkin.id}", now=now, ttl=CHECKIN_TTL,
                        **data)
        await checkins.mark_sent(conn, checkin.id, now)

    async def _remind(self, conn: AsyncConnection, now: datetime) -> int:
        hours = self.services.settings.checkin_reminder_hours
        if self.quiet.next_allowed(now) != now:
            return 0  # a gentle reminder can wait for the morning
        waiting = await checkins.to_remind(conn, now - timedelta(hours=hours), BATCH)
        for checkin in waiting:
            enrolment = await checkins.by_id(conn, checkin.enrolment_id)
            address = (address_of(self.services.keyring, enrolment)
                       if enrolment is not None else None)
            if address is not None:
                with use_language(address.language):
                    reply = Reply(_("checkin.reminder"),
                                  (Option(_("checkin.answer_now"),
                                          CheckinButton("resume").pack()),))
                await push(conn, self.services.keyring, channel=address.channel,
                           chat_id=address.chat_id, reply=reply,
                           dedupe_key=f"checkin:{checkin.id}:reminder", due_at=now, now=now,
                           private=True, priority=outbox.ROUTINE)
            await checkins.mark_reminded(conn, checkin.id)
        return len(waiting)

    async def _escalate(self, conn: AsyncConnection, now: datetime) -> int:
        keyring, settings = self.services.keyring, self.services.settings
        cutoff = now - timedelta(hours=settings.checkin_alert_escalate_hours)
        overdue = await checkins.due_for_escalation(conn, cutoff, BATCH)
        for found in overdue:
            enrolment = await checkins.by_id(conn, found.enrolment_id)
            if enrolment is not None:
                await escalate(conn, keyring, settings, enrolment, found.id,
                               reasons_of(keyring, found), now)
            await checkins.mark_escalated(conn, found.id, now)
        return len(overdue)
