"""Sending what the outbox holds, through the channel registry, with retries and backoff.

Each tick claims due rows under a lease, sends them with no transaction open, and records
the outcome. The typed channel errors decide what happens next:
``RetryLater`` backs off (or waits the platform's ``retry_after``, pausing the whole channel),
``Unreachable`` marks the recipient so nothing more is scheduled to them, ``Undeliverable``
and exhausted attempts give up with the error recorded. Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot import logs
from bot.channels import ratelimit
from bot.channels.base import Channel
from bot.conversation import menus as numbering
from bot.conversation.messages import Reply
from bot.errors import (
    DeliveryError,
    OutsideWindow,
    PrivacyError,
    RetryLater,
    Undeliverable,
    Unreachable,
)
from bot.reports import reporter_held
from bot.security.identity import SEALED, Pseudonyms, open_at_rest
from bot.security.privacy import Keyring
from bot.settings import Settings
from bot.store import Store, menus, officers, outbox, users
from bot.store.outbox import OutboxItem

log = logging.getLogger(__name__)

BACKOFF_BASE = 5.0
BACKOFF_CAP = 3600.0


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential backoff with jitter: about 5 s, 10 s, 20 s ... capped at an hour."""
    return timedelta(seconds=ratelimit.backoff(attempts, BACKOFF_BASE, BACKOFF_CAP, rng))


class Delivery:
    def __init__(self, store: Store, channels: Mapping[str, Channel], settings: Settings,
                 clock: Callable[[], datetime], keyring: Keyring) -> None:
        self.store = store
        self.settings = settings
        self.keyring = keyring
        self.pseudonyms = Pseudonyms(keyring)
        self.channels = dict(channels)
        self.clock = clock
        self.batch_size = settings.delivery_batch_size
        self.max_attempts = settings.delivery_max_attempts
        self.lease = timedelta(seconds=settings.delivery_lease_seconds)
        self.paused_until: dict[str, datetime] = {}
        self._lock = asyncio.Lock()
        self._stopping = False

    async def tick(self) -> int:
        """Send what is due now; returns how many messages were delivered."""
        if self._stopping or self._lock.locked():
            return 0
        async with self._lock:
            sent = await asyncio.gather(*(
                self._tick_channel(name, channel) for name, channel in self.channels.items()
            ))
            return sum(sent)

    async def drain(self, rounds: int = 10) -> int:
        """Tick until nothing due is left (or ``rounds`` pass): for scripted sessions and tests."""
        total = 0
        for _ in range(rounds):
            sent = await self.tick()
            total += sent
            if not sent:
                break
        return total

    async def stop(self) -> None:
        """Let the tick in flight finish its current send; unsent claims go back to the outbox."""
        self._stopping = True
        async with self._lock:
            pass

    async def _tick_channel(self, name: str, channel: Channel) -> int:
        now = self.clock()
        if self.paused_until.get(name, now) > now:
            return 0
        async with self.store.transaction() as conn:
            items = await outbox.claim(conn, channels=[name], now=now, lease=self.lease,
                                       limit=self.batch_size, chat_ids=channel.addresses)
        delivered = 0
        elsewhere: list[OutboxItem] = []
        for index, item in enumerate(items):
            if self._stopping or self.paused_until.get(name, now) > self.clock():
                await self._release(items[index:])
                break
            try:
                chat_id = open_at_rest(self.keyring, item.chat_id)
            except PrivacyError:
                await self._give_up(name, item, Undeliverable("sealed address unreadable"))
                continue
            if channel.addresses is not None and chat_id not in channel.addresses:
                elsewhere.append(item)  # a sealed address of a chat this process can't reach
                continue
            delivered += await self._send(channel, chat_id, item)
        await self._release(elsewhere)
        return delivered

    async def _numbered(self, channel: Channel, chat_id: str, reply: Reply) -> Reply:
        """On a numbered channel, a pushed message's options count on from those the person
        sees already, so their next number still means what they saw."""
        if not (channel.capabilities.numbered and reply.options):
            return reply
        async with self.store.transaction() as conn:
            now = self.clock()
            user_id = await menus.user_of_chat(conn, channel.name,
                                               self.pseudonyms.chat(channel.name, chat_id))
            if user_id is None:
                return reply
            [reply] = await numbering.numbered(conn, self.keyring, user_id, [reply], now,
                                               pushed=True)
        return reply

    async def _send(self, channel: Channel, chat_id: str, item: OutboxItem) -> int:
        try:
            reply = Reply.from_json(open_at_rest(self.keyring, item.payload))
            await channel.send(chat_id, await self._numbered(channel, chat_id, reply))
        except RetryLater as exc:
            await self._retry(channel.name, item, exc)
            return 0
        except OutsideWindow as exc:
            await self._hold(channel.name, chat_id, item, exc)
            return 0
        except DeliveryError as exc:
            await self._give_up(channel.name, item, exc)
            return 0
        except Exception as exc:  # a bug in an adapter must not lose the message
            await self._retry(channel.name, item, RetryLater(f"unexpected {type(exc).__name__}"))
            return 0
        async with self.store.transaction() as conn:
            await outbox.mark_sent(conn, item.id, self.clock())
        logs.event(log, "outbox.sent", channel=channel.name, outbox_id=item.id,
                   attempts=item.attempts)
        return 1

    async def _retry(self, channel: str, item: OutboxItem, exc: RetryLater) -> None:
        if item.attempts >= self.max_attempts:
            await self._give_up(channel, item, exc)
            return
        now = self.clock()
        if exc.retry_after is not None:
            delay = timedelta(seconds=exc.retry_after)
            self.paused_until[channel] = now + delay  # the platform throttles the whole bot
        else:
            delay = backoff(item.attempts)
        async with self.store.transaction() as conn:
            await outbox.retry_at(conn, item.id, now + delay, exc.reason)
        logs.event(log, "outbox.retry", logging.WARNING, channel=channel, outbox_id=item.id,
                   attempts=item.attempts, reason=exc.reason, delay_s=round(delay.total_seconds()))

    async def _give_up(self, channel: str, item: OutboxItem, exc: DeliveryError) -> None:
        async with self.store.transaction() as conn:
            await outbox.give_up(conn, item.id, f"{type(exc).__name__}: {exc}")
            if isinstance(exc, Unreachable):
                chat_id = open_at_rest(self.keyring, item.chat_id)
                await users.mark_unreachable(conn, channel, self.pseudonyms.chat(channel, chat_id))
                await officers.lose(conn, channel, chat_id)
        logs.event(log, "outbox.failed", logging.ERROR, channel=channel, outbox_id=item.id,
                   attempts=item.attempts, error=type(exc).__name__)

    async def _hold(self, channel: str, chat_id: str, item: OutboxItem,
                    exc: OutsideWindow) -> None:
        """The recipient's window is closed: keep the message for when they write again,
        plan nothing more for them meanwhile, and tell a report's police that its reporter
        cannot be reached for now. A police chat stays an inbox: its cards wait too, and the
        unacknowledged report escalates as any would."""
        now = self.clock()
        async with self.store.transaction() as conn:
            await outbox.hold(conn, item.id, self.pseudonyms.held(channel, chat_id),
                              f"{type(exc).__name__}: {exc}")
            await users.mark_unreachable(conn, channel, self.pseudonyms.chat(channel, chat_id))
            told = item.chat_id.startswith(SEALED) and await reporter_held(
                conn, item.dedupe_key, keyring=self.keyring, settings=self.settings, now=now)
        logs.event(log, "outbox.held", logging.WARNING, channel=channel, outbox_id=item.id,
                   police_told=told)

    async def _release(self, items: list[OutboxItem]) -> None:
        async with self.store.transaction() as conn:
            await outbox.release(conn, [item.id for item in items])
