"""The scheduled rounds: reminders to units that have not submitted, and digests to the level
above once a deadline is missed.

On each reminder day (by default three working days before, one before and the due day) and
each working day of the follow-up after it, at ``PCMT_DEADLINE_REMINDER_TIME`` (moved out of
the quiet hours), the round of the day is claimed and queued in one transaction: every chat
linked to a unit that has not submitted is reminded. A chat owing several deadlines that day
gets them in one message (the shipped rules put five on the 15th of some months): one message
a chat a day reads better and queues a sixth of the rows. A round is planned on its own day
only: after a day the process was down, the next round says the right number of days instead
of three stale reminders arriving at once.

From the first working day after the due date the level above gets a digest each working day
while any unit has not submitted: a province's supervisors for its communes (the admin chat
when the province has none), the admin chat for provinces.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot import logs
from bot.clock import local
from bot.conversation.i18n import use_language
from bot.conversation.messages import Reply
from bot.conversation.proactive import Queued, push_many
from bot.deadlines import Book, open_book, open_deadlines, province_of, timing, unit_name, units
from bot.deadlines.notices import Due, Missing, digest, reminders
from bot.deadlines.rules import Rule
from bot.officials import Target, admin_targets, supervisor_targets
from bot.services import Services
from bot.store import deadlines as store
from bot.store.deadlines import Deadline
from bot.store.officers import Inbox

log = logging.getLogger(__name__)

REMIND, ESCALATE = "remind", "escalate"


Claimed = set[tuple[str, str, date]]
"""Rounds (rule, period, day) this process knows are planned, by itself or another replica:
each minute's tick after the first of the day then costs no statement for them."""


class Owed:
    """Who owed each deadline at the last count of its submissions, kept across ticks: a
    missed deadline's daily follow-up then costs one count instead of sorting out some 3,000
    units again, until someone submits. Bounded to the deadlines planned most recently."""

    LIMIT = 256

    def __init__(self) -> None:
        self._known: dict[int, tuple[int, list[str], list[str]]] = {}

    async def missing(self, conn: AsyncConnection, deadline_id: int,
                      owing: list[str]) -> list[str]:
        count = await store.submitted_count(conn, deadline_id)
        known = self._known.pop(deadline_id, None)
        if known is not None and known[0] == count and known[1] == owing:
            missing = known[2]
        else:
            missing = await store.unsubmitted(conn, deadline_id, owing)
        self._known[deadline_id] = (count, owing, missing)
        if len(self._known) > self.LIMIT:
            del self._known[next(iter(self._known))]
        return missing


@dataclass(slots=True)
class Planned:
    reminders: int = 0
    """Deadlines times chats reminded of them."""
    messages: int = 0
    """Reminder messages queued: one a chat, whatever the number of deadlines in it."""
    digests: int = 0
    rounds: list[str] = field(default_factory=list)
    claimed: Claimed = field(default_factory=set)
    """Rounds known planned once this transaction commits (by this process or another)."""

    def add(self, other: Planned) -> None:
        self.reminders += other.reminders
        self.messages += other.messages
        self.digests += other.digests
        self.rounds += other.rounds
        self.claimed |= other.claimed


@dataclass(frozen=True, slots=True)
class _Reminded:
    """One deadline's reminder to the linked units of ``role`` that owe it."""

    role: str
    due: Due
    units: Sequence[str]


Reminders = dict[str, dict[str, list[Due]]]
"""What a tick reminds, by role and unit: every chat of a unit is reminded of the same."""


@dataclass(slots=True)
class _Round:
    """What one transaction plans: a deadline's reminders and digest of one day."""

    conn: AsyncConnection
    services: Services
    book: Book
    today: date
    now: datetime
    inboxes: dict[str, dict[str, list[Inbox]]]
    """Linked chats by role and unit, read once a tick and only when a round is planned."""
    owed: Owed
    above: dict[str, list[Target]]
    """Who hears of a province's missed deadlines, read once a tick per province."""
    queued: list[Queued] = field(default_factory=list)
    """Digests, queued with the round."""
    reminded: list[_Reminded] = field(default_factory=list)
    """Reminders, queued with the day's others to the same unit once every round is planned."""

    async def chats(self, role: str) -> dict[str, list[Inbox]]:
        if role not in self.inboxes:
            self.inboxes[role] = await store.inboxes_by_unit(self.conn, role)
        return self.inboxes[role]

    async def supervisors(self, province: str) -> list[Target]:
        if province not in self.above:
            self.above[province] = (
                await supervisor_targets(self.conn, province, self.services.settings)
                if province else admin_targets(self.services.settings))
        return self.above[province]

    def reference(self, deadline: Deadline) -> str | None:
        if deadline.reference is None:
            return None
        return self.services.open(deadline.reference)

    def queue(self, target: Target | Inbox, reply: Reply, key: str) -> None:
        self.queued.append(Queued(target.channel, target.chat_id, reply,
                                  f"{key}:{target.channel}:{target.chat_id}"))


async def plan(conn: AsyncConnection, services: Services, now: datetime,
               known: Collection[tuple[str, str, date]] = (), owed: Owed | None = None,
               ) -> Planned:
    """Claim and queue every round due at ``now`` (but those ``known`` to be planned); safe
    to run again and on every replica. ``owed`` carries what the last ticks counted."""
    owed = Owed() if owed is None else owed
    today = local(now).date()
    book = await open_book(conn)
    planned = Planned()
    inboxes: dict[str, dict[str, list[Inbox]]] = {}
    above: dict[str, list[Target]] = {}
    reminded: Reminders = {}

    def round_today(rule: Rule, due: date) -> bool:
        return _round_day(services, book, rule, due, today, now) is not None

    for rule, deadline in await open_deadlines(conn, book, services.settings, today, now,
                                               round_today, skip=known):
        work = _Round(conn, services, book, today, now, inboxes, owed, above)
        try:
            # One broken rule or case must not hold back every other deadline's round.
            async with conn.begin_nested():
                done = await _deadline_round(work, rule, deadline)
                await push_many(conn, services.keyring, work.queued, now=now)
        except Exception as exc:
            logs.event(log, "deadlines.failed", logging.ERROR, rule=rule.id,
                       period=deadline.period, error=type(exc).__name__)
            continue
        done.claimed.add((rule.id, deadline.period, today))
        planned.add(done)
        _collect(reminded, work.reminded)
    work = _Round(conn, services, book, today, now, inboxes, owed, above)
    planned.add(Planned(reminders=await _snoozed(work)))
    _collect(reminded, work.reminded)
    queued = _day_messages(reminded, inboxes, today, book)
    planned.messages = len(queued)
    await push_many(conn, services.keyring, queued, now=now)
    return planned


def _collect(reminders: Reminders, planned: Sequence[_Reminded]) -> None:
    """Add a round's reminders (only once its savepoint held) to the tick's."""
    for item in planned:
        by_unit = reminders.setdefault(item.role, {})
        for unit in item.units:
            dues = by_unit.get(unit)
            if dues is None:
                by_unit[unit] = [item.due]
            else:
                dues.append(item.due)


def _day_messages(reminded: Reminders, inboxes: dict[str, dict[str, list[Inbox]]],
                  today: date, book: Book) -> list[Queued]:
    """One message a chat with every deadline it is reminded of today, soonest due first.

    The key names the first deadline's reminder of the unit that day, as a message with
    that deadline alone would: a chat hears of a deadline once a day, whether from its round
    or from "remind me tomorrow".
    """
    texts: dict[tuple[str, tuple[int, ...]], Reply] = {}  # the same words for most communes
    day, queued = f":{today:%Y%m%d}:", []
    for role, by_unit in reminded.items():
        for unit, found in by_unit.items():
            dues = _soonest_first(found)
            ids = tuple(due.deadline.id for due in dues)
            for inbox in inboxes[role][unit]:
                words = (inbox.language, ids)
                text = texts.get(words)
                if text is None:
                    with use_language(inbox.language):
                        text = texts[words] = reminders(dues, inbox.language, today,
                                                        book.calendar)
                queued.append(Queued(inbox.channel, inbox.chat_id, text,
                                     f"dl:{ids[0]}:{unit}{day}{inbox.channel}:{inbox.chat_id}"))
    return queued


def _soonest_first(dues: list[Due]) -> list[Due]:
    """Each deadline once (a round and a "remind me tomorrow" may both name it)."""
    if len(dues) == 1:
        return dues
    unique = {due.deadline.id: due for due in reversed(dues)}
    return sorted(unique.values(), key=lambda due: (due.deadline.due_on, due.deadline.id))


def _round_day(services: Services, book: Book, rule: Rule, due: date, today: date,
               now: datetime) -> str | None:
    """REMIND or ESCALATE when ``today`` has a round of ``rule`` due ``due`` that may go out
    at ``now`` (ESCALATE: after the due date, when the level above hears too); else None."""
    plan_of = timing(services.settings, rule)
    if now < plan_of.moment(today):
        return None
    if today in plan_of.overdue_days(due, book.calendar):
        return ESCALATE
    return REMIND if today in plan_of.reminder_days(due, book.calendar) else None


async def _deadline_round(work: _Round, rule: Rule, deadline: Deadline) -> Planned:
    """The day's round of ``deadline``, if no process claimed it yet: the units that owe it
    are reminded and, past the due date, the level above gets the list."""
    planned = Planned()
    kind = _round_day(work.services, work.book, rule, deadline.due_on, work.today, work.now)
    if kind is None or not await store.claim_run(work.conn, deadline.id, kind, work.today,
                                                  work.now):
        return planned
    owing = units(rule, deadline, work.services.communes)
    missing = await work.owed.missing(work.conn, deadline.id, owing)
    planned.reminders += await _remind(work, rule, deadline, missing)
    planned.rounds.append(f"{rule.id}:{deadline.period}:{kind}")
    if kind == ESCALATE and missing:
        first = work.today == work.book.calendar.add_working_days(deadline.due_on, 1)
        planned.digests += await _escalate(work, rule, deadline, missing, len(owing), first)
    return planned


async def _remind(work: _Round, rule: Rule, deadline: Deadline,
                  missing: Sequence[str]) -> int:
    chats = await work.chats(rule.role)
    linked = [unit for unit in missing if unit in chats]
    if linked:
        work.reminded.append(_Reminded(rule.role, Due(rule, deadline, work.reference(deadline)),
                                       linked))
    return sum(len(chats[unit]) for unit in linked)


async def _escalate(work: _Round, rule: Rule, deadline: Deadline, missing: Sequence[str],
                    total: int, first: bool) -> int:
    index = work.services.communes
    above: dict[str, list[str]] = defaultdict(list)
    for unit in missing:
        above[province_of(rule, unit, index) if rule.role == "officer" else ""].append(unit)
    reference = work.reference(deadline)
    count = 0
    for province, owing in sorted(above.items()):
        targets = await work.supervisors(province)
        linked = await work.chats(rule.role)
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
        count += await _remind(work, rule, deadline, [unit])
    return count
