"""The scheduled rounds: reminders to units that have not submitted, and digests to the level
above once a deadline is missed.

On each reminder day (by default three working days before, one before and the due day) and
each working day of the follow-up after it, at ``PCMT_DEADLINE_REMINDER_TIME`` (moved out of
the quiet hours), the round of the day is claimed and queued in one transaction: every chat
linked to a unit that has not submitted gets one message. A round is planned on its own day
only: after a day the process was down, the next round says the right number of days instead
of three stale reminders arriving at once.

From the first working day after the due date the level above gets a digest each working day
while any unit has not submitted: a province's supervisors for its communes (the admin chat
when the province has none), the admin chat for provinces.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot import logs
from bot.clock import local
from bot.conversation.i18n import use_language
from bot.conversation.messages import Reply
from bot.conversation.proactive import Queued, push_many
from bot.deadlines import Book, open_book, open_deadlines, province_of, timing, unit_name, units
from bot.deadlines.notices import Missing, digest, reminder
from bot.deadlines.rules import Rule
from bot.officials import Target, admin_targets, supervisor_targets
from bot.services import Services
from bot.store import deadlines as store
from bot.store.deadlines import Deadline
from bot.store.officers import Inbox

log = logging.getLogger(__name__)

REMIND, ESCALATE = "remind", "escalate"


@dataclass(slots=True)
class Planned:
    reminders: int = 0
    digests: int = 0
    rounds: list[str] = field(default_factory=list)

    def add(self, other: Planned) -> None:
        self.reminders += other.reminders
        self.digests += other.digests
        self.rounds += other.rounds


@dataclass(slots=True)
class _Round:
    """What one transaction plans: a deadline's reminders and digest of one day."""

    conn: AsyncConnection
    services: Services
    book: Book
    today: date
    now: datetime
    inboxes: Mapping[str, Mapping[str, list[Inbox]]]
    queued: list[Queued] = field(default_factory=list)

    def reference(self, deadline: Deadline) -> str | None:
        if deadline.reference is None:
            return None
        return self.services.open(deadline.reference)

    def queue(self, target: Target | Inbox, reply: Reply, key: str) -> None:
        self.queued.append(Queued(target.channel, target.chat_id, reply,
                                  f"{key}:{target.channel}:{target.chat_id}"))


async def plan(conn: AsyncConnection, services: Services, now: datetime) -> Planned:
    """Claim and queue every round due at ``now``; safe to run again and on every replica."""
    today = local(now).date()
    book = await open_book(conn)
    planned = Planned()
    inboxes = {role: await store.inboxes_by_unit(conn, role) for role in ("officer", "supervisor")}
    for rule, deadline in await open_deadlines(conn, book, services.settings, today, now):
        work = _Round(conn, services, book, today, now, inboxes)
        try:
            # One broken rule or case must not hold back every other deadline's round.
            async with conn.begin_nested():
                done = await _deadline_round(work, rule, deadline)
                await push_many(conn, services.keyring, work.queued, now=now)
        except Exception as exc:
            logs.event(log, "deadlines.failed", logging.ERROR, rule=rule.id,
                       period=deadline.period, error=type(exc).__name__)
            continue
        planned.add(done)
    work = _Round(conn, services, book, today, now, inboxes)
    planned.add(Planned(reminders=await _snoozed(work)))
    await push_many(conn, services.keyring, work.queued, now=now)
    return planned


async def _deadline_round(work: _Round, rule: Rule, deadline: Deadline) -> Planned:
    planned = Planned()
    plan_of = timing(work.services.settings, rule)
    days = work.book.calendar
    if work.now < plan_of.moment(work.today):
        return planned
    overdue = work.today in plan_of.overdue_days(deadline.due_on, days)
    if not overdue and work.today not in plan_of.reminder_days(deadline.due_on, days):
        return planned
    owing = units(rule, deadline, work.services.communes)
    done = await store.submissions(work.conn, deadline.id)
    missing = [unit for unit in owing if unit not in done]
    if await store.claim_run(work.conn, deadline.id, REMIND, work.today, work.now):
        planned.reminders += _remind(work, rule, deadline, missing)
        planned.rounds.append(f"{rule.id}:{deadline.period}:{REMIND}")
    if overdue and missing and await store.claim_run(work.conn, deadline.id, ESCALATE,
                                                      work.today, work.now):
        first = work.today == days.add_working_days(deadline.due_on, 1)
        planned.digests += await _escalate(work, rule, deadline, missing, len(owing), first)
        planned.rounds.append(f"{rule.id}:{deadline.period}:{ESCALATE}")
    return planned


def _remind(work: _Round, rule: Rule, deadline: Deadline, missing: Sequence[str]) -> int:
    chats = work.inboxes[rule.role]
    texts: dict[str, Reply] = {}  # the same words for every commune: built once a language
    reference = work.reference(deadline)
    count = 0
    for unit in missing:
        for inbox in chats.get(unit, ()):
            if inbox.language not in texts:
                with use_language(inbox.language):
                    texts[inbox.language] = reminder(rule, deadline, inbox.language, work.today,
                                                     work.book.calendar, reference)
            # One reminder a day per chat, whether from the round or from "remind me".
            work.queue(inbox, texts[inbox.language],
                       f"dl:{deadline.id}:{unit}:{work.today:%Y%m%d}")
            count += 1
    return count


async def _escalate(work: _Round, rule: Rule, deadline: Deadline, missing: Sequence[str],
                    total: int, first: bool) -> int:
    index, settings = work.services.communes, work.services.settings
    above: dict[str, list[str]] = defaultdict(list)
    for unit in missing:
        above[province_of(rule, unit, index) if rule.role == "officer" else ""].append(unit)
    reference = work.reference(deadline)
    count = 0
    for province, owing in sorted(above.items()):
        targets = (await supervisor_targets(work.conn, province, settings) if province
                   else admin_targets(settings))
        linked = work.inboxes[rule.role]
        listed = [Missing(unit_name(rule, unit, index), bool(linked.get(unit))) for unit in owing]
        for target in targets:
            with use_language(target.language):
                pages = digest(rule, deadline, target.language, listed, first=first,
                               total=total, today=work.today, days=work.book.calendar,
                               reference=reference)
            for number, page in enumerate(pages):
                work.queue(target, page, f"dlx:{deadline.id}:{province or '-'}:"
                                         f"{work.today:%Y%m%d}:{number}")
            count += 1
    return count


async def _snoozed(work: _Round) -> int:
    """"Remind me tomorrow" presses whose day has come, at the day's round time."""
    if work.now < timing(work.services.settings).moment(work.today):
        return 0
    count = 0
    for deadline_id, unit in await store.take_snoozes(work.conn, work.today):
        deadline = await store.by_id(work.conn, deadline_id)
        rule = work.book.rules.get(deadline.rule_id) if deadline else None
        if deadline is None or rule is None or deadline.due_on < work.today:
            continue
        if unit in await store.submissions(work.conn, deadline.id, [unit]):
            continue
        count += _remind(work, rule, deadline, [unit])
    return count
