"""What every channel does with what comes in, whatever the platform: the inbox that records
an update before it is acknowledged and takes up what a dead process left, one chat's updates
in turn, the webhook secret and its check, replies
sent in order with those that could not go out queued in the outbox, membership (blocked,
removed, back) recorded, a person's language for what the channel itself says, and the
pruning of recorded update ids.

A channel reads its platform's update into neutral terms and hands the work here; only
sending, and what the platform's errors mean, stay in the channel's own package.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection

from bot import logs
from bot.conversation.dispatch import Dispatcher
from bot.conversation.messages import Reply
from bot.conversation.proactive import push
from bot.errors import RetryLater, Unconfirmed, Undeliverable, Unreachable
from bot.security.identity import open_at_rest, seal_at_rest
from bot.store import inbox, menus, officers, outbox, updates, users

log = logging.getLogger(__name__)

SEEN_UPDATES_KEPT = timedelta(days=1)
BUTTON_DATA_KEPT = timedelta(days=30)
HOUSEKEEPING_INTERVAL = 3600.0
INBOX_KEPT = timedelta(hours=1)
"""How long a handled update's id stays in the inbox, to recognise a platform's replay."""
INBOX_MAX_ATTEMPTS = 5
"""Handlings of one update begun and never finished (each time its process died) before it is
given up: an update that brings the process down must not do so for ever."""
INBOX_CLAIM_BATCH = 100

Work = Callable[[], Awaitable[None]]
Replay = Callable[[int, object], Awaitable[None]]


class Inbox:
    """One channel's updates recorded before they are acknowledged, handled, then marked
    handled (see :mod:`bot.store.inbox`); :meth:`watch` renews the leases of what this process
    holds and takes up what a dead one left."""

    def __init__(self, dispatcher: Dispatcher, channel: str) -> None:
        self.dispatcher = dispatcher
        self.channel = channel
        settings = dispatcher.services.settings
        self.lease = timedelta(seconds=settings.inbox_lease_seconds)
        self._delay = settings.inbox_handle_delay_seconds
        self._held: set[int] = set()

    async def record(self, updates: Sequence[tuple[int | None, object]]) -> list[int | None]:
        """Commit ``updates`` (platform id, the update as parsed JSON), sealed, for they say
        who wrote; each one's row id, or None for one recorded before. Raises when the store
        fails: then nothing may be acknowledged."""
        keyring = self.dispatcher.services.keyring
        sealed = [(update_id, seal_at_rest(keyring, json.dumps(update)))
                  for update_id, update in updates]
        now = self.dispatcher.clock()
        async with self.dispatcher.store.transaction() as conn:
            rows = [await inbox.record(conn, self.channel, update_id, payload, now,
                                       now + self.lease) for update_id, payload in sealed]
        self._held.update(row for row in rows if row is not None)
        return rows

    async def handle(self, row_id: int | None, work: Work) -> None:
        """Run ``work`` for the update recorded as ``row_id``, then mark it handled; an update
        whose handling failed is handled too, as trying again would fail alike. Cancelled (the
        process stopping), it stays for another process."""
        if self._delay:
            await asyncio.sleep(self._delay)
        try:
            await work()
        except Exception:
            await self.done(row_id)
            raise
        await self.done(row_id)

    async def done(self, row_id: int | None) -> None:
        if row_id is None:
            return
        try:
            async with self.dispatcher.store.transaction() as conn:
                await inbox.handled(conn, row_id, self.dispatcher.clock())
        except Exception as exc:  # the lease runs out and the dispatcher's guard drops a replay
            logs.event(log, "inbound.unmarked", logging.WARNING, channel=self.channel,
                       error=type(exc).__name__)
        self._held.discard(row_id)

    async def watch(self, replay: Replay) -> None:
        """At once and then every third of a lease, until cancelled: renew the leases held
        here, and hand ``replay`` (row id, update) each update whose process let its lease
        run out, oldest first."""
        while True:
            try:
                await self._sweep(replay)
            except Exception as exc:  # the database may be briefly away; try next time
                logs.event(log, "inbound.sweep_failed", logging.WARNING, channel=self.channel,
                           error=type(exc).__name__)
            await asyncio.sleep(self.lease.total_seconds() / 3)

    async def _sweep(self, replay: Replay) -> None:
        now = self.dispatcher.clock()
        async with self.dispatcher.store.transaction() as conn:
            await inbox.renew(conn, self._held, now + self.lease)
            left = await inbox.claim_left(conn, self.channel, now, now + self.lease,
                                          INBOX_CLAIM_BATCH)
            for row in left:
                if row.attempts > INBOX_MAX_ATTEMPTS:
                    await inbox.give_up(conn, row.id, now)
        keyring = self.dispatcher.services.keyring
        for row in left:
            if row.attempts > INBOX_MAX_ATTEMPTS:
                logs.event(log, "inbound.given_up", logging.ERROR, channel=self.channel,
                           attempts=row.attempts - 1)
                continue
            self._held.add(row.id)
            logs.event(log, "inbound.recovered", logging.WARNING, channel=self.channel,
                       attempt=row.attempts)
            await replay(row.id, json.loads(open_at_rest(keyring, row.payload)))


class InTurn:
    """Work for one chat runs in order of arrival; different chats run side by side, at most
    ``limit`` at once (a caller waits for a place: back-pressure on the platform)."""

    def __init__(self, limit: int, channel: str) -> None:
        self.channel = channel
        self._slots = asyncio.Semaphore(limit)
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, chat_key: str, work: Callable[[], Awaitable[None]]) -> None:
        await self._slots.acquire()
        task = asyncio.create_task(self._after(self._tails.get(chat_key), work))
        self._tails[chat_key] = task
        self._tasks.add(task)
        task.add_done_callback(partial(self._finished, chat_key))

    async def _after(self, previous: asyncio.Task[None] | None,
                     work: Callable[[], Awaitable[None]]) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        try:
            await work()
        except Exception as exc:  # one update's failure must not stop the chat's next one
            logs.event(log, "inbound.failed", logging.ERROR, channel=self.channel,
                       error=type(exc).__name__)

    def _finished(self, chat_key: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if self._tails.get(chat_key) is task:
            del self._tails[chat_key]

    async def drain(self) -> None:
        """Until everything submitted so far has finished."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def webhook_secret(token: str, channel: str) -> str:
    """The secret a platform echoes on every webhook call: derived from the token, so every
    replica expects the same one and a restart does not need to register it again."""
    return hmac.new(token.encode(), f"pcmt-bot {channel} webhook".encode(),
                    hashlib.sha256).hexdigest()


def secret_matches(given: str, expected: str) -> bool:
    """Whether a webhook call carries the secret, compared in constant time."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


async def first_sight(dispatcher: Dispatcher, channel: str, update_id: int) -> bool:
    """Record an update that does not go to the dispatcher (whose transaction records the
    ones it handles), so one handled again, after its process died before the inbox was told,
    is dropped."""
    async with dispatcher.store.transaction() as conn:
        return await updates.first_sight(conn, channel, update_id, dispatcher.clock())


async def queue_unsent(dispatcher: Dispatcher, channel: str, chat_id: str, update_id: int,
                       replies: Sequence[Reply], first: int, *, reason: str,
                       retry_after: float | None) -> None:
    """Hand ``replies[first:]`` to the outbox: the platform refused them for now."""
    now = dispatcher.clock()
    due = now + timedelta(seconds=retry_after or 0)
    async with dispatcher.store.transaction() as conn:
        for index in range(first, len(replies)):
            await push(conn, dispatcher.services.keyring, channel=channel, chat_id=chat_id,
                       reply=replies[index], dedupe_key=f"{channel}:update:{update_id}:{index}",
                       due_at=due, now=now, private=True, priority=outbox.URGENT)
    logs.event(log, "inbound.reply_queued", logging.WARNING, channel=channel, reason=reason,
               replies=len(replies) - first)


Deliver = Callable[[Reply], Awaitable[None]]


async def answer(dispatcher: Dispatcher, channel: str, chat_id: str, update_id: int,
                 replies: Sequence[Reply], deliver: Deliver) -> None:
    """Send the replies to one update in order. A passing failure queues that reply and the
    ones after it; a chat that is gone is marked so; a reply the platform refuses is logged
    and the next one tried."""
    for index, reply in enumerate(replies):
        try:
            await deliver(reply)
        except RetryLater as exc:
            await queue_unsent(dispatcher, channel, chat_id, update_id, replies, index,
                               reason=exc.reason, retry_after=exc.retry_after)
            return
        except Unreachable:
            await membership(dispatcher, channel, chat_id, reachable=False)
            return
        except (Undeliverable, Unconfirmed) as exc:
            # Unconfirmed: it probably arrived; sent again it could arrive twice.
            logs.event(log, "inbound.reply_failed", logging.ERROR, channel=channel,
                       reason=exc.args[0], error=type(exc).__name__)


async def membership(dispatcher: Dispatcher, channel: str, chat_id: str, *,
                     reachable: bool) -> None:
    """The chat blocked or removed the bot (nothing more is scheduled to it until it writes
    again), or took it back."""
    chat_key = dispatcher.services.pseudonyms.chat(channel, chat_id)
    async with dispatcher.store.transaction() as conn:
        if reachable:
            await users.mark_reachable(conn, channel, chat_key)
        else:
            await users.mark_unreachable(conn, channel, chat_key)
            await officers.lose(conn, channel, chat_id)
    logs.event(log, "inbound.membership", channel=channel, reachable=reachable)


async def language_of(dispatcher: Dispatcher, channel: str, chat_id: str, user_id: str) -> str:
    """The language of the person writing, for a line the channel answers without the
    dispatcher (a message it cannot read)."""
    pseudonyms = dispatcher.services.pseudonyms
    async with dispatcher.store.transaction() as conn:
        user = await users.resolve(conn, channel, pseudonyms.user(channel, user_id),
                                   pseudonyms.chat(channel, chat_id), dispatcher.clock())
    return user.language or dispatcher.services.settings.default_language


async def chat_language(dispatcher: Dispatcher, channel: str, chat_id: str) -> str:
    """The language of whoever is behind ``chat_id`` (the default for a chat never seen),
    for words a channel adds to a reply on its own."""
    async with dispatcher.store.transaction() as conn:
        return await chat_language_in(conn, dispatcher, channel, chat_id)


async def chat_language_in(conn: AsyncConnection, dispatcher: Dispatcher, channel: str,
                           chat_id: str) -> str:
    """:func:`chat_language` within a transaction the caller holds."""
    chat_key = dispatcher.services.pseudonyms.chat(channel, chat_id)
    user_id = await menus.user_of_chat(conn, channel, chat_key)
    user = await users.get(conn, user_id) if user_id is not None else None
    default = dispatcher.services.settings.default_language
    return (user.language if user is not None else None) or default


async def keep_tidy(dispatcher: Dispatcher, channel: str) -> None:
    """Forget recorded update ids, handled inbox rows and stored button data once nothing can
    need them, every hour until cancelled."""
    while True:
        now = dispatcher.clock()
        try:
            async with dispatcher.store.transaction() as conn:
                old_updates = await updates.forget_updates(conn, now - SEEN_UPDATES_KEPT)
                old_buttons = await updates.forget_payloads(conn, now - BUTTON_DATA_KEPT)
                old_inbox = await inbox.purge(conn, now - INBOX_KEPT)
            logs.event(log, "inbound.housekeeping", channel=channel, updates=old_updates,
                       buttons=old_buttons, inbox=old_inbox)
        except Exception as exc:  # the database may be briefly away; try next time
            logs.event(log, "inbound.housekeeping_failed", logging.WARNING, channel=channel,
                       error=type(exc).__name__)
        await asyncio.sleep(HOUSEKEEPING_INTERVAL)
