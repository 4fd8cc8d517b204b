"""The long-lived senders on both stores: continuous claiming, priorities, order within a
chat, budgets, leases held by name and renewed, one sender per channel across replicas,
sent-unconfirmed, dead letters and retention."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.channels.ratelimit import Limit, RateLimiter
from bot.conversation.dispatch import utc_now
from bot.conversation.messages import Reply
from bot.errors import RetryLater, Unconfirmed
from bot.security.privacy import Keyring
from bot.settings import Settings
from bot.store import Store, outbox, senders
from bot.store.schema import outbox as outbox_table
from bot.store.schema import outbox_payloads
from scheduler.delivery import Delivery
from tests.conftest import FakeClock, StoreFactory
from tests.harness import RecordingChannel

KEYRING = Keyring.from_text("0" * 64)


def quick(**overrides: object) -> Settings:
    values: dict[str, object] = {"delivery_poll_seconds": 0.02, "delivery_leader_seconds": 0.6,
                                 **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


async def enqueue(store: Store, chat: str, key: str, *, priority: int = outbox.ROUTINE,
                  text: str | None = None, now: datetime | None = None) -> None:
    moment = now or utc_now()
    async with store.transaction() as conn:
        await outbox.enqueue(conn, channel="fake", chat_id=chat,
                             payload=Reply(text or key).to_json(), dedupe_key=key,
                             due_at=moment, now=moment, priority=priority)


async def statuses(store: Store) -> dict[str, str]:
    async with store.transaction() as conn:
        rows = await conn.execute(select(outbox_table.c.dedupe_key, outbox_table.c.status))
        return {key: status for key, status in rows.tuples()}


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_running_sender_sends_what_is_queued_after_it_started(store: Store) -> None:
    channel = RecordingChannel("fake")
    async with Delivery(store, {"fake": channel}, quick(), utc_now, KEYRING):
        for number in range(30):
            await enqueue(store, f"c{number % 3}", f"m{number}")
        await until(lambda: len(channel.sent) == 30)
    for chat in ("c0", "c1", "c2"):  # in order within each chat
        assert channel.texts_to(chat) == [f"m{n}" for n in range(30) if f"c{n % 3}" == chat]
    await until(lambda: True)
    assert set((await statuses(store)).values()) == {"sent"}


async def test_budgets_hold_and_chats_go_side_by_side(store: Store) -> None:
    limiter = RateLimiter(overall=Limit(20, 1.0), per_chat=Limit(1, 1.0))
    channel = RecordingChannel("fake", limiter=limiter, delay=0.01)
    for number in range(40):  # two messages to each of twenty chats
        await enqueue(store, f"c{number % 20}", f"m{number}")
    started = time.monotonic()
    async with Delivery(store, {"fake": channel}, quick(), utc_now, KEYRING):
        await until(lambda: len(channel.sent) == 20)
        first_round = time.monotonic() - started
        await until(lambda: len(channel.sent) == 40)
        both = time.monotonic() - started
    assert first_round < 0.8  # twenty chats at once: not one after another
    assert both >= 1.0  # the second message to each chat waited its second


async def test_an_alert_goes_before_the_routine_backlog(store: Store) -> None:
    limiter = RateLimiter(overall=Limit(50, 1.0), per_chat=Limit(1, 1.0))
    channel = RecordingChannel("fake", limiter=limiter)
    for number in range(300):
        await enqueue(store, f"c{number}", f"routine{number}")
    async with Delivery(store, {"fake": channel}, quick(), utc_now, KEYRING):
        # the first second's budget spent, 250 routine rows in hand: the alert takes the
        # budget's next slot (a burst within one poll would go before it was claimed)
        await until(lambda: len(channel.sent) >= 50)
        await enqueue(store, "police", "alert", priority=outbox.URGENT)
        before = len(channel.sent)
        queued = time.monotonic()
        await until(lambda: channel.texts_to("police") == ["alert"])
        waited = time.monotonic() - queued
    position = [chat for chat, _ in channel.sent].index("police")
    assert position - before <= 1  # at most the one slot already under way
    assert waited < 1.5, waited  # the next free slot of the budget, not 5 s of backlog


async def test_within_a_chat_the_more_urgent_goes_first(store: Store) -> None:
    for number in range(3):
        await enqueue(store, "group", f"card{number}", priority=outbox.ROUTED)
    await enqueue(store, "group", "alert", priority=outbox.URGENT)
    channel = RecordingChannel("fake")
    delivery = Delivery(store, {"fake": channel}, quick(), utc_now, KEYRING)
    assert await delivery.drain() == 4
    assert channel.texts_to("group") == ["alert", "card0", "card1", "card2"]


async def test_only_the_lease_holder_records_a_row(store: Store, clock: FakeClock) -> None:
    await enqueue(store, "c1", "k", now=clock())
    lease = timedelta(seconds=60)
    async with store.transaction() as conn:
        [first] = await outbox.claim(conn, channels=["fake"], owner="a", now=clock(),
                                     lease=lease, limit=5)
    clock.advance(seconds=61)  # a's lease ran out: b takes the row over
    async with store.transaction() as conn:
        [second] = await outbox.claim(conn, channels=["fake"], owner="b", now=clock(),
                                      lease=lease, limit=5)
        assert second.id == first.id and second.attempts == 2
        assert await outbox.mark_sent(conn, [first.id], "a", clock()) == 0
        assert not await outbox.retry_at(conn, first.id, "a", clock(), "late")
        assert not await outbox.give_up(conn, first.id, "a", "late")
        assert await outbox.mark_sent(conn, [first.id], "b", clock()) == 1
    assert await statuses(store) == {"k": "sent"}


async def test_a_lease_is_renewed_while_its_rows_wait(store: Store) -> None:
    """Rows waiting behind a slow group stay with their sender past the first lease."""
    limiter = RateLimiter(overall=Limit(100, 1.0), per_chat=Limit(1, 0.4))
    channel = RecordingChannel("fake", limiter=limiter)
    for number in range(6):
        await enqueue(store, "group", f"card{number}")
    async with Delivery(store, {"fake": channel}, quick(delivery_lease_seconds=0.6),
                        utc_now, KEYRING) as delivery:
        await until(lambda: len(channel.sent) == 1)
        other = Delivery(store, {"fake": RecordingChannel("fake")}, quick(), utc_now, KEYRING)
        await asyncio.sleep(0.7)  # past the first lease
        assert await other.tick() == 0
        await until(lambda: len(channel.sent) == 6)
        assert delivery.senders["fake"].delivered == 6
    assert channel.texts_to("group") == [f"card{number}" for number in range(6)]


async def test_one_sender_per_channel_across_replicas(store_factory: StoreFactory) -> None:
    stores = [await store_factory.open(), await store_factory.open()]
    channels = [RecordingChannel("fake"), RecordingChannel("fake")]
    replicas = [Delivery(store, {"fake": channel}, quick(), utc_now, KEYRING)
                for store, channel in zip(stores, channels, strict=True)]
    for replica in replicas:
        await replica.start()
    await until(lambda: any(replica.senders["fake"].leading for replica in replicas))
    for number in range(20):
        await enqueue(stores[0], f"c{number}", f"m{number}")
    await until(lambda: sum(len(channel.sent) for channel in channels) == 20)
    assert sorted(len(channel.sent) for channel in channels) == [0, 20]
    for replica in replicas:
        await replica.stop()


async def test_a_standby_takes_over_when_the_holder_dies(store: Store) -> None:
    settings = quick()
    async with store.transaction() as conn:  # a holder that renewed a moment ago, then died
        assert await senders.hold(conn, "fake", "dead", utc_now(), utc_now() + timedelta(
            seconds=settings.delivery_leader_seconds))
    await enqueue(store, "c1", "waiting")
    channel = RecordingChannel("fake")
    started = time.monotonic()
    async with Delivery(store, {"fake": channel}, settings, utc_now, KEYRING):
        await asyncio.sleep(settings.delivery_leader_seconds / 2)
        assert not channel.sent  # the hold still runs
        await until(lambda: len(channel.sent) == 1)
    assert time.monotonic() - started < 2 * settings.delivery_leader_seconds


async def test_an_unreadable_answer_is_recorded_and_never_resent(store: Store) -> None:
    await enqueue(store, "c1", "first")
    await enqueue(store, "c1", "second")
    channel = RecordingChannel("fake", failures=[Unconfirmed("answer unreadable")])
    delivery = Delivery(store, {"fake": channel}, quick(), utc_now, KEYRING)
    assert await delivery.drain() == 1
    assert await delivery.drain() == 0
    assert channel.texts_to("c1") == ["second"]  # the next message still went out
    assert await statuses(store) == {"first": "sent_unconfirmed", "second": "sent"}
    assert delivery.outcomes["unconfirmed"] == 1


async def test_an_unexpected_error_is_not_a_blind_resend(store: Store) -> None:
    await enqueue(store, "c1", "only")

    class Broken(RecordingChannel):
        async def send(self, chat_id: str, reply: Reply) -> None:
            raise KeyError("result")

    delivery = Delivery(store, {"fake": Broken("fake")}, quick(), utc_now, KEYRING)
    await delivery.drain()
    assert await statuses(store) == {"only": "sent_unconfirmed"}


async def test_dead_letters_can_be_sent_again_and_sent_rows_are_purged(
        store: Store, clock: FakeClock) -> None:
    await enqueue(store, "c1", "doomed", now=clock())
    await enqueue(store, "c2", "fine", now=clock())
    channel = RecordingChannel("fake", failures=[RetryLater("timeout")])
    delivery = Delivery(store, {"fake": channel}, quick(delivery_max_attempts=1), clock,
                        KEYRING)
    await delivery.drain()
    assert await statuses(store) == {"doomed": "dead", "fine": "sent"}
    async with store.transaction() as conn:
        [dead] = await outbox.stuck(conn, 10)
        assert (dead.status, dead.attempts, dead.last_error) == ("dead", 1,
                                                                 "RetryLater: timeout")
        assert await outbox.send_again(conn, dead.id, clock())
        assert not await outbox.send_again(conn, dead.id, clock())  # pending now
    assert await delivery.drain() == 1
    clock.advance(days=8)
    async with store.transaction() as conn:
        assert await outbox.purge(conn, clock() - timedelta(days=7)) == 2
    assert await statuses(store) == {}


async def test_bulk_queuing_keeps_the_priority(store: Store) -> None:
    now = datetime.now(UTC)
    async with store.transaction() as conn:
        await outbox.enqueue_many(conn, [("fake", "c1", Reply("r").to_json(), "bulk")],
                                  due_at=now, now=now, priority=outbox.ROUTED)
        [item] = await outbox.claim(conn, channels=["fake"], owner="x", now=now,
                                    lease=timedelta(seconds=5), limit=5)
    assert item.priority == outbox.ROUTED


async def test_a_round_stores_its_words_once_and_purging_keeps_what_rows_still_name(
        store: Store) -> None:
    now = datetime.now(UTC)
    same, other = Reply("the round's words").to_json(), Reply("alone").to_json()
    rows = [("fake", f"c{n}", same, f"round:{n}") for n in range(50)]
    async with store.transaction() as conn:
        await outbox.enqueue_many(conn, [*rows, ("fake", "x", other, "alone")], due_at=now,
                                  now=now, priority=outbox.ROUTINE)
        stored = (await conn.execute(select(outbox_table.c.payload))).scalars().all()
        shared = (await conn.execute(select(outbox_payloads.c.payload))).scalars().all()
        assert shared == [same] and stored.count(None) == 50 and other in stored
        items = await outbox.claim(conn, channels=["fake"], owner="x", now=now,
                                   lease=timedelta(seconds=5), limit=100)
        assert sorted(item.payload for item in items) == sorted([same] * 50 + [other])
        await outbox.mark_sent(conn, [item.id for item in items[:30]], "x", now)
        later = now + timedelta(days=1)
        assert await outbox.purge(conn, later) == 30
        assert (await conn.execute(select(outbox_payloads.c.id))).all()  # 20 rows name it
        await outbox.mark_sent(conn, [item.id for item in items[30:]], "x", now)
        assert await outbox.purge(conn, later) == 21
        assert not (await conn.execute(select(outbox_payloads.c.id))).all()


async def test_sends_under_way_follow_the_rate_times_the_shortest_trip(store: Store) -> None:
    """At 40 a second with trips of 20 ms, a couple of sends under way keep the budget
    busy: the setting's 16 would only make answers wait on each other."""
    limiter = RateLimiter(overall=Limit(40, 1.0), per_chat=Limit(1, 1.0))
    channel = RecordingChannel("fake", limiter=limiter, delay=0.02)
    under_way, most = 0, []
    send = channel.send

    async def counting(chat_id: str, reply: Reply) -> None:
        nonlocal under_way
        under_way += 1
        most.append(under_way)
        try:
            await send(chat_id, reply)
        finally:
            under_way -= 1

    channel.send = counting  # type: ignore[method-assign]
    for number in range(60):
        await enqueue(store, f"c{number}", f"m{number}")
    async with Delivery(store, {"fake": channel}, quick(delivery_max_in_flight=16), utc_now,
                        KEYRING):
        await until(lambda: len(channel.sent) == 60)
    assert max(most[:16]) > 4  # before any trip is measured: the setting
    assert max(most[-30:]) <= 6  # then 2 x 40/s x 0.02 s + 2, a little more when loaded
