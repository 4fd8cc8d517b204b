"""Delivery through the Telegram channel against a fake server that keeps Telegram's limits and
misbehaves: 5% answered 500, 2% too slowly (past the client's timeout), a 429 now and then,
and some sends answered with a body the client cannot read. Every message arrives, alerts
before routine messages; an unreadable answer is recorded as sent-unconfirmed and not resent;
duplicates stay within the sends that timed out."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from bot.conversation.dispatch import utc_now
from bot.conversation.messages import Reply
from bot.conversation.routing import Context, Router
from bot.store import outbox
from bot.store.schema import outbox as outbox_table
from scheduler.delivery import Delivery
from tests.conftest import FakeClock
from tests.fakes.telegram_api import FakeTelegramServer, RandomFaults, RateLimits
from tests.integration._telegram import TOKEN, USERNAME, running_bot

CHATS = 150
KINDS = (("routine", outbox.ROUTINE), ("routed", outbox.ROUTED), ("alert", outbox.URGENT))


async def test_every_message_arrives_through_faults_in_priority_order(
        tmp_path: Path, clock: FakeClock) -> None:
    faults = RandomFaults(server_errors=0.05, slow=0.02, slow_seconds=1.5, throttled=0.01,
                          malformed=0.005)
    limits = RateLimits(global_per_second=100, private_per_second=1, group_per_minute=20)
    async with FakeTelegramServer(TOKEN, USERNAME, rate_limits=limits,
                                  random_faults=faults) as server, running_bot(
            tmp_path, clock, server=server, telegram_messages_per_second=100,
            telegram_timeout_seconds=1.0, delivery_poll_seconds=0.05) as bot:
        async with bot.store.transaction() as conn:
            now = utc_now()
            for text, priority in KINDS:  # the routine ones queued first
                for chat in range(CHATS):
                    await outbox.enqueue(conn, channel="telegram", chat_id=str(1000 + chat),
                                         payload=Reply(f"{text} {chat}").to_json(),
                                         dedupe_key=f"{text}:{chat}", due_at=now, now=now,
                                         priority=priority)
        expected = {f"{text} {chat}" for text, _ in KINDS for chat in range(CHATS)}
        delivery = Delivery(bot.store, {"telegram": bot.channel}, bot.settings, utc_now,
                            bot.channel.services.keyring)
        started = time.monotonic()
        async with delivery:
            await server.wait_until(
                lambda: expected <= {record.text for record in server.sent}, timeout=90)
            took = time.monotonic() - started
        async with bot.store.transaction() as conn:
            statuses = await outbox.counts(conn)
    arrivals = [record.text for record in server.sent if record.method == "sendMessage"]
    copies = Counter(arrivals)
    duplicates = sum(count - 1 for count in copies.values())
    # the fake's slow answers, and any other that a loaded machine made late
    timed_out = delivery.outcomes["retry: telegram TimedOut"]
    unconfirmed = delivery.outcomes["unconfirmed"]
    print(f"\n{len(expected)} messages in {took:.1f} s, faults {server.fault_counts}, "
          f"{duplicates} duplicates (sends that timed out: {timed_out}), "
          f"{unconfirmed} sent-unconfirmed, {server.rate_limit_violations} x 429 "
          "from the limits")
    assert set(copies) == expected  # nothing lost
    assert duplicates <= timed_out  # only what was in flight when the client gave up
    assert unconfirmed == server.fault_counts["malformed"]
    assert statuses.get(outbox.UNCONFIRMED, 0) == server.fault_counts["malformed"]
    # A send that timed out but arrived may still wait for its retry: a duplicate to come.
    pending = statuses.get(outbox.PENDING, 0)
    assert pending + duplicates <= timed_out
    assert statuses.get(outbox.SENT, 0) + statuses.get(outbox.UNCONFIRMED, 0) + pending == len(
        expected)
    first = {text: arrivals.index(text) for text in expected}
    mean = {kind: statistics.mean(first[f"{kind} {chat}"] for chat in range(CHATS))
            for kind, _ in KINDS}
    assert mean["alert"] < mean["routed"] < mean["routine"], mean
    in_order = sum(first[f"alert {chat}"] < first[f"routed {chat}"] < first[f"routine {chat}"]
                   for chat in range(CHATS))
    assert in_order >= 0.9 * CHATS  # the rest were retried after a fault


async def test_replies_after_an_unreadable_answer_still_go_out(
        tmp_path: Path, clock: FakeClock) -> None:
    twice = Router("twice")

    @twice.text
    async def answer(ctx: Context) -> None:
        ctx.reply("first")
        ctx.reply("second")

    async with running_bot(tmp_path, clock, extra=[twice]) as bot:
        bot.server.malform_next()
        bot.server.send_text(777, "hello")
        await bot.server.wait_for_messages(777, 2)
        await asyncio.sleep(0.2)
        assert [record.text for record in bot.server.messages_to(777)] == ["first", "second"]
        async with bot.store.transaction() as conn:
            queued = (await conn.execute(select(func.count()).select_from(outbox_table))
                      ).scalar_one()
        assert queued == 0  # the first is not queued again: it arrived
