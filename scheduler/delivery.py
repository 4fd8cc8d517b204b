"""Sending what the outbox holds, through the channel registry, with retries and backoff.

``async with Delivery(...)`` runs one :class:`~scheduler.sender.Sender` per channel for the
lifetime of the app; :meth:`Delivery.tick` and :meth:`Delivery.drain` send what is due once,
for scripted sessions and tests. The typed channel errors decide what happens to a row next:
``RetryLater`` backs off (or waits the platform's ``retry_after``, pausing the channel for every
replica), ``Unreachable`` marks the recipient so nothing more is scheduled to them,
``Undeliverable`` gives up, ``Unconfirmed`` (sent, answer unreadable) is recorded as
``sent_unconfirmed`` and not sent again; exhausted attempts make a dead letter. Every outcome is
recorded only while this process still holds the row's lease. Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import TracebackType

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
    Unconfirmed,
    Undeliverable,
    Unreachable,
)
from bot.reports import reporter_held
from bot.security.identity import SEALED, Pseudonyms, open_at_rest
from bot.security.privacy import Keyring
from bot.settings import Settings
from bot.store import Store, menus, officers, outbox, users
from bot.store.outbox import OutboxItem
from scheduler.sender import Sender

log = logging.getLogger(__name__)

BACKOFF_BASE = 5.0
BACKOFF_CAP = 3600.0


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential backoff with jitter: about 5 s, 10 s, 20 s ... capped at an hour."""
    return timedelta(seconds=ratelimit.backoff(attempts, BACKOFF_BASE, BACKOFF_CAP, rng))


def sender_name() -> str:
    """Who holds a lease: the host and process, and a random part for two in one process."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class Delivery:
    def __init__(self, store: Store, channels: Mapping[str, Channel], settings: Settings,
                 clock: Callable[[], datetime], keyring: Keyring, *,
                 owner: str | None = None) -> None:
        self.store = store
        self.settings = settings
        self.keyring = keyring
        self.pseudonyms = Pseudonyms(keyring)
        self.channels = dict(channels)
        self.clock = clock
        self.owner = owner or sender_name()
        self.max_attempts = settings.delivery_max_attempts
        self.senders = {name: Sender(self, channel, settings)
                        for name, channel in self.channels.items()}
        self.outcomes: Counter[str] = Counter()
        """What became of the sends that did not simply go out, by kind and reason."""
        self._running: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """One long-lived sender per channel, until :meth:`stop`."""
        self._running = [asyncio.create_task(sender.run(), name=f"sender-{name}")
                         for name, sender in self.senders.items()]

    async def stop(self) -> None:
        """Let the sends in flight finish; unsent claims go back to the outbox."""
        for sender in self.senders.values():
            sender.stop()
        async with self._lock:
            pass
        if self._running:
            await asyncio.gather(*self._running)
            self._running = []

    async def __aenter__(self) -> Delivery:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    # --- scripted -------------------------------------------------------------------------

    async def tick(self) -> int:
        """Send what is due now; returns how many messages were delivered."""
        if self._lock.locked() or self._running:
            return 0
        async with self._lock:
            sent = await asyncio.gather(*(sender.once() for sender in self.senders.values()))
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

    # --- one row ------------------------------------------------------------------------

    async def attempt(self, sender: Sender, channel: Channel, chat_id: str,
                      item: OutboxItem) -> bool:
        """Send one claimed row and record what became of it, unless sent (the sender records
        those, many at a time). True if it went out."""
        try:
            reply = Reply.from_json(open_at_rest(self.keyring, item.payload))
            await channel.send(chat_id, await self._numbered(channel, chat_id, reply))
        except RetryLater as exc:
            await self._retry(sender, item, exc)
            return False
        except OutsideWindow as exc:
            await self._hold(channel.name, chat_id, item, exc)
            return False
        except Unconfirmed as exc:
            await self._unconfirmed(channel.name, item, exc)
            return False
        except DeliveryError as exc:
            await self.give_up(channel.name, item, exc)
            return False
        except PrivacyError:
            await self.give_up(channel.name, item, Undeliverable("sealed content unreadable"))
            return False
        except Exception as exc:  # an adapter's bug, maybe after the request went out
            await self._unconfirmed(channel.name, item,
                                    Unconfirmed(f"unexpected {type(exc).__name__}"))
            return False
        logs.event(log, "outbox.sent", logging.DEBUG, channel=channel.name, outbox_id=item.id,
                   attempts=item.attempts)
        return True

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

    async def _retry(self, sender: Sender, item: OutboxItem, exc: RetryLater) -> None:
        channel = sender.channel.name
        self.outcomes[f"retry: {exc.reason}"] += 1
        if item.attempts >= self.max_attempts:
            await self.give_up(channel, item, exc, status=outbox.DEAD)
            return
        now = self.clock()
        if exc.retry_after is not None:
            delay = timedelta(seconds=exc.retry_after)
            await sender.pause_everywhere(exc.retry_after)  # the platform throttles the bot
        else:
            delay = backoff(item.attempts)
        async with self.store.transaction() as conn:
            await outbox.retry_at(conn, item.id, self.owner, now + delay, exc.reason)
        logs.event(log, "outbox.retry", logging.WARNING, channel=channel, outbox_id=item.id,
                   attempts=item.attempts, reason=exc.reason, delay_s=round(delay.total_seconds()))

    async def _unconfirmed(self, channel: str, item: OutboxItem, exc: Unconfirmed) -> None:
        self.outcomes["unconfirmed"] += 1
        async with self.store.transaction() as conn:
            await outbox.mark_unconfirmed(conn, item.id, self.owner, self.clock(), str(exc))
        logs.event(log, "outbox.unconfirmed", logging.ERROR, channel=channel,
                   outbox_id=item.id, attempts=item.attempts, reason=str(exc))

    async def give_up(self, channel: str, item: OutboxItem, exc: DeliveryError, *,
                      status: str = outbox.FAILED) -> None:
        self.outcomes[status] += 1
        async with self.store.transaction() as conn:
            await outbox.give_up(conn, item.id, self.owner, f"{type(exc).__name__}: {exc}",
                                 status=status)
            if isinstance(exc, Unreachable):
                chat_id = open_at_rest(self.keyring, item.chat_id)
                await users.mark_unreachable(conn, channel, self.pseudonyms.chat(channel, chat_id))
                await officers.lose(conn, channel, chat_id)
        logs.event(log, "outbox.dead" if status == outbox.DEAD else "outbox.failed",
                   logging.ERROR, channel=channel, outbox_id=item.id, attempts=item.attempts,
                   error=type(exc).__name__)

    async def _hold(self, channel: str, chat_id: str, item: OutboxItem,
                    exc: OutsideWindow) -> None:
        """The recipient's window is closed: keep the message for when they write again,
        plan nothing more for them meanwhile, and tell a report's police that its reporter
        cannot be reached for now. A police chat stays an inbox: its cards wait too, and the
        unacknowledged report escalates as any would."""
        self.outcomes["held"] += 1
        now = self.clock()
        async with self.store.transaction() as conn:
            if not await outbox.hold(conn, item.id, self.owner,
                                     self.pseudonyms.held(channel, chat_id),
                                     f"{type(exc).__name__}: {exc}"):
                return  # the lease ran out: another sender has the row now
            await users.mark_unreachable(conn, channel, self.pseudonyms.chat(channel, chat_id))
            told = item.chat_id.startswith(SEALED) and await reporter_held(
                conn, item.dedupe_key, keyring=self.keyring, settings=self.settings, now=now)
        logs.event(log, "outbox.held", logging.WARNING, channel=channel, outbox_id=item.id,
                   police_told=told)
