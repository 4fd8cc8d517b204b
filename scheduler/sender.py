"""One channel's sender: a long-lived task that keeps the platform's budgets busy.

It claims due rows as the budget can take them (about ``PCMT_DELIVERY_CLAIM_AHEAD_SECONDS`` of
sending at the overall rate, topped up every poll), queues them by chat in memory and sends
concurrently across chats and one at a time within a chat, the most urgent ready chat first,
so a routine message takes at most the one send slot it already had from an alert. Rows
waiting behind a chat's or a group's budget keep their lease by renewal, however long the wait.

On a database several replicas share, only the replica holding the channel's row in
``channel_senders`` claims (:mod:`bot.store.senders`); the others look again every third of the
hold and take over when it has run out. A platform's "retry after" is written to the same row,
so every replica's live replies hold back too.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from bot import logs
from bot.channels.base import Channel
from bot.channels.ratelimit import RateLimiter, Slot
from bot.errors import PrivacyError, Undeliverable
from bot.security.identity import open_at_rest
from bot.settings import Settings
from bot.store import outbox, senders
from bot.store.outbox import OutboxItem

if TYPE_CHECKING:
    from scheduler.delivery import Delivery

log = logging.getLogger(__name__)

FLUSH_EVERY = 0.1
"""Seconds between writes of what was sent: one statement for many rows."""
FLUSH_ROWS = 200
HELD_FACTOR = 20
"""A sender holds at most this many times its claim-ahead amount (rows waiting behind a slow
chat or group included)."""
TRIP_WINDOW = 10.0
"""Seconds over which the shortest round trip of a send is remembered."""
MIN_IN_FLIGHT = 4


class _ShortestTrip:
    """The shortest round trip of a send over the last one or two windows.

    Sends under way beyond the overall rate times the unqueued round trip buy nothing, and
    cost time: their answers queue on the event loop, and a message counts against the
    budgets until its answer is read, so every millisecond an answer waits is a millisecond
    the budget stands idle. The shortest trip is the one that did not queue.
    """

    __slots__ = ("_current", "_ends", "_previous")

    def __init__(self) -> None:
        self._ends = 0.0
        self._current = self._previous = float("inf")

    def add(self, seconds: float, now: float) -> None:
        if now >= self._ends:
            self._previous, self._current = self._current, float("inf")
            self._ends = now + TRIP_WINDOW
        self._current = min(self._current, seconds)

    def shortest(self) -> float:
        return min(self._current, self._previous)


@dataclass(order=True, slots=True)
class _Queued:
    priority: int
    id: int
    item: OutboxItem = field(compare=False)
    chat_id: str = field(compare=False)


class Sender:
    def __init__(self, delivery: Delivery, channel: Channel, settings: Settings,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.delivery = delivery
        self.channel = channel
        self.limiter = channel.limiter
        self.monotonic = monotonic
        self.owner = delivery.owner
        self.poll = settings.delivery_poll_seconds
        self.lease = timedelta(seconds=settings.delivery_lease_seconds)
        self.hold = timedelta(seconds=settings.delivery_leader_seconds)
        self.max_in_flight = settings.delivery_max_in_flight
        self.rate = 0.0
        if self.limiter is not None:
            self.rate = self.limiter.overall.count / self.limiter.overall.period
            self.ahead = max(1, round(self.rate * settings.delivery_claim_ahead_seconds))
        else:
            self.ahead = 2 * self.max_in_flight
        self._trips = _ShortestTrip()
        self._queues: dict[str, deque[_Queued]] = {}
        self._ready: list[_Queued] = []  # the head of each chat that may send
        self._later: list[tuple[float, _Queued]] = []  # heads waiting for their chat's budget
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._held = 0
        self._sent: list[int] = []
        self._lost: list[int] = []  # rows whose outcome could not be recorded
        self._flying: set[int] = set()
        self._paused_until: datetime | None = None  # on the delivery's clock, as in the store
        self._wake = asyncio.Event()
        self._stopping = False
        self.delivered = 0
        self.leading = False

    # --- the long-lived loop ------------------------------------------------------------

    async def run(self) -> None:
        """Send until :meth:`stop`; rows still queued then go back to the outbox."""
        next_hold = next_extend = next_claim = next_flush = 0.0
        try:
            while not self._stopping:
                try:
                    now = self.monotonic()
                    if now >= next_hold:
                        self.leading = await self._lead(self.leading)
                        next_hold = now + self.hold.total_seconds() / 3
                    if not self.leading:
                        await self._nap(next_hold - now)
                        continue
                    if self._held and now >= next_extend:
                        await self._extend()
                        next_extend = now + self.lease.total_seconds() / 3
                    if now >= next_claim:
                        await self._fill()
                        next_claim = now + self.poll
                    if (self._sent or self._lost) and (
                            now >= next_flush or len(self._sent) >= FLUSH_ROWS):
                        await self._flush()
                        next_flush = now + FLUSH_EVERY
                    wait = self._dispatch()
                    deadlines = [next_hold, next_claim]
                    if self._held:
                        deadlines.append(next_extend)
                    if self._sent:
                        deadlines.append(next_flush)
                    await self._nap(min(wait, min(deadlines) - self.monotonic()))
                except Exception as exc:  # the database away for a moment: the loop goes on
                    logs.event(log, "delivery.sender_failed", logging.ERROR,
                               channel=self.channel.name, error=type(exc).__name__)
                    await self._nap(4 * self.poll)
        finally:
            await self._finish()
            if self.leading:
                self.leading = False
                async with self.delivery.store.transaction() as conn:
                    await senders.let_go(conn, self.channel.name, self.owner)

    def stop(self) -> None:
        """Send nothing more; what is in flight finishes."""
        self._stopping = True
        self._wake.set()

    async def once(self) -> int:
        """Claim what is due now and send it, waiting for every chat's budget; for scripted
        sessions and tests (no hold on the channel). How many went out."""
        before = self.delivered
        async with self.delivery.store.transaction() as conn:
            await self._paused(conn)
        if self._pause_left() <= 0:
            await self._fill()
        while (self._queues or self._tasks) and not self._stopping:
            if self._pause_left() > 0:
                break
            wait = self._dispatch()
            if not self._tasks and self.limiter is not None and self._later:
                # only a chat's budget holds the rest back: let the budgets' clock reach it
                await self.limiter.sleep(wait)
            await self._nap(wait)
        await self._finish()
        return self.delivered - before

    async def _nap(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _finish(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._flush()
        unsent = [queued.id for queue in self._queues.values() for queued in queue]
        self._queues.clear()
        self._ready.clear()
        self._later.clear()
        self._held = 0
        if unsent:
            async with self.delivery.store.transaction() as conn:
                await outbox.release(conn, unsent, self.owner)

    # --- holding the channel ------------------------------------------------------------

    async def _lead(self, leading: bool) -> bool:
        now = self.delivery.clock()
        async with self.delivery.store.transaction() as conn:
            held = await senders.hold(conn, self.channel.name, self.owner, now, now + self.hold)
            await self._paused(conn)
        if held != leading:
            logs.event(log, "delivery.sender", channel=self.channel.name,
                       state="sending" if held else "standing by")
        if leading and not held:  # another replica took over: hand back what is held
            await self._finish()
        return held

    async def _paused(self, conn: AsyncConnection) -> None:
        """Take up a pause another replica was told by the platform."""
        until = await senders.paused_until(conn, self.channel.name)
        if until is not None:
            left = (until - self.delivery.clock()).total_seconds()
            if left > 0:
                self._pause(left)

    def _pause(self, seconds: float) -> None:
        if self.limiter is not None:
            self.limiter.pause(seconds)  # live replies hold back too
        until = self.delivery.clock() + timedelta(seconds=seconds)
        if self._paused_until is None or until > self._paused_until:
            self._paused_until = until

    def _pause_left(self) -> float:
        if self._paused_until is None:
            return 0.0
        return max(0.0, (self._paused_until - self.delivery.clock()).total_seconds())

    async def pause_everywhere(self, seconds: float) -> None:
        """The platform said to wait: this replica, and through the database every other."""
        self._pause(seconds)
        async with self.delivery.store.transaction() as conn:
            await senders.pause(conn, self.channel.name,
                                self.delivery.clock() + timedelta(seconds=seconds))

    async def _extend(self) -> None:
        """Renew the rows in hand (queued or being sent): one whose outcome could not be
        recorded is left to run out."""
        held = [queued.id for queue in self._queues.values() for queued in queue]
        async with self.delivery.store.transaction() as conn:
            await outbox.extend(conn, [*held, *self._flying], self.owner,
                                self.delivery.clock() + self.lease)

    # --- claiming ---------------------------------------------------------------------------

    def _soon(self) -> int:
        """About how many held rows can go out within the claim-ahead time: each chat sends
        only so fast, so rows stacked behind one chat do not count."""
        if self.limiter is None:
            return self._held
        return min(self._held, 2 * len(self._queues) + len(self._tasks))

    async def _fill(self) -> None:
        room = self.ahead * HELD_FACTOR - self._held
        want = min(self.ahead - self._soon(), room)
        # With enough in hand, alerts are still claimed every poll: each then takes the next
        # free slot instead of waiting for the routine rows claimed before it to go.
        below = outbox.ROUTED if want <= 0 else None
        if room <= 0 or self._pause_left() > 0:
            return
        now = self.delivery.clock()
        limit = want if below is None else min(self.ahead, room)
        async with self.delivery.store.transaction() as conn:
            items = await outbox.claim(conn, channels=[self.channel.name], owner=self.owner,
                                       now=now, lease=self.lease, limit=limit, below=below)
        elsewhere: list[int] = []
        addresses = self.channel.addresses
        for item in items:
            try:
                chat_id = open_at_rest(self.delivery.keyring, item.chat_id)
            except PrivacyError:
                await self.delivery.give_up(self.channel.name, item,
                                            Undeliverable("sealed address unreadable"))
                continue
            if addresses is not None and chat_id not in addresses:
                elsewhere.append(item.id)  # a chat this process cannot reach (a console's)
                continue
            self._queue(_Queued(item.priority, item.id, item, chat_id))
        if elsewhere:
            async with self.delivery.store.transaction() as conn:
                await outbox.release(conn, elsewhere, self.owner)

    def _queue(self, queued: _Queued) -> None:
        queue = self._queues.setdefault(queued.chat_id, deque())
        head = queue[0] if queue else None
        if head is None or queued.priority >= queue[-1].priority:
            queue.append(queued)
        else:  # a more urgent row for a chat with routine ones waiting: it goes first
            queue.append(queued)
            ordered = sorted(queue)
            queue.clear()
            queue.extend(ordered)
        self._held += 1
        if queue[0] is not head and queued.chat_id not in self._busy:
            heapq.heappush(self._ready, queue[0])

    # --- sending ----------------------------------------------------------------------------

    def _dispatch(self) -> float:
        """Start every send the budgets allow now, most urgent first; seconds until another
        may be possible (a send finishing wakes the loop sooner)."""
        now = self.monotonic()
        while self._later and self._later[0][0] <= now:
            heapq.heappush(self._ready, heapq.heappop(self._later)[1])
        if self._pause_left() > 0:
            return self._pause_left()
        room = self._room()
        while self._ready and len(self._tasks) < room:
            if self.limiter is not None:
                overall = self.limiter.delay()
                if overall > 0:
                    return overall
            queued = self._ready[0]
            queue = self._queues.get(queued.chat_id)
            if not queue or queue[0] is not queued or queued.chat_id in self._busy:
                heapq.heappop(self._ready)  # a head that has moved on
                continue
            slot = None
            if self.limiter is not None:
                wait = self.limiter.delay(queued.chat_id)
                if wait > 0:
                    heapq.heappush(self._later, (now + wait, heapq.heappop(self._ready)))
                    continue
                # counted now, so the next look at the overall budget sees this send
                slot = self.limiter.take(queued.chat_id)
            heapq.heappop(self._ready)
            queue.popleft()
            self._busy.add(queued.chat_id)
            task = asyncio.create_task(self._send(queued, slot))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if self._later:
            return max(0.0, self._later[0][0] - now)
        return self.poll

    def _room(self) -> int:
        """Sends that may be under way: twice the overall rate times the shortest trip, and
        two more, within the setting."""
        shortest = self._trips.shortest()
        if not self.rate or shortest == float("inf"):
            return self.max_in_flight
        wanted = math.ceil(2 * self.rate * shortest) + 2
        return min(self.max_in_flight, max(MIN_IN_FLIGHT, wanted))

    async def _send(self, queued: _Queued, slot: Slot | None) -> None:
        chat_id = queued.chat_id
        self._flying.add(queued.id)
        started = self.monotonic()
        try:
            if slot is None:
                sent = await self.delivery.attempt(self, self.channel, chat_id, queued.item)
            else:
                with RateLimiter.prepaid(slot):
                    sent = await self.delivery.attempt(self, self.channel, chat_id, queued.item)
                self.limiter.settle(slot)  # type: ignore[union-attr] # a slot means a limiter
            if sent:
                now = self.monotonic()
                self._trips.add(now - started, now)
                self._sent.append(queued.id)
                self.delivered += 1
        except Exception as exc:  # recording the outcome failed: the lease brings the row back
            self._lost.append(queued.id)
            logs.event(log, "delivery.record_failed", logging.ERROR, channel=self.channel.name,
                       outbox_id=queued.id, error=type(exc).__name__)
        finally:
            self._flying.discard(queued.id)
            self._held -= 1
            self._busy.discard(chat_id)
            queue = self._queues.get(chat_id)
            if queue:
                heapq.heappush(self._ready, queue[0])
            elif queue is not None:
                del self._queues[chat_id]
            self._wake.set()

    async def _flush(self) -> None:
        if not (self._sent or self._lost):
            return
        sent, self._sent = self._sent, []
        lost, self._lost = self._lost, []
        now = self.delivery.clock()
        try:
            async with self.delivery.store.transaction() as conn:
                recorded = await outbox.mark_sent(conn, sent, self.owner, now)
                for item_id in lost:  # tried again once the lease is over
                    await outbox.retry_at(conn, item_id, self.owner, now + self.lease,
                                          "outcome not recorded")
        except Exception:
            self._sent, self._lost = sent + self._sent, lost + self._lost  # next time
            raise
        if recorded < len(sent):
            # leases that ran out before the send was recorded: another sender may send these
            logs.event(log, "outbox.lease_lost", logging.WARNING, channel=self.channel.name,
                       rows=len(sent) - recorded)

