"""Outbox and delivery on both stores: dedupe, leases after a crash, retries, give-up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.conversation.messages import Option, Reply
from bot.errors import RetryLater, Undeliverable, Unreachable
from bot.security.identity import Pseudonyms
from bot.security.privacy import Keyring
from bot.settings import Settings
from bot.store import Store, outbox, users
from bot.store.schema import outbox as outbox_table
from scheduler.delivery import Delivery, backoff
from tests.conftest import FakeClock, StoreFactory
from tests.harness import RecordingChannel

KEYRING = Keyring.from_text("0" * 64)


def fake_channel(**options: object) -> RecordingChannel:
    return RecordingChannel("fake", **options)  # type: ignore[arg-type]


def sent_to(channel: RecordingChannel) -> list[tuple[str, str]]:
    return [(chat, reply.text) for chat, reply in channel.sent]


async def _enqueue(store: Store, clock: FakeClock, key: str, chat: str = "c1",
                   text: str = "xin chào") -> bool:
    async with store.transaction() as conn:
        return await outbox.enqueue(conn, channel="fake", chat_id=chat,
                                    payload=Reply(text, (Option("Đồng ý", "ok"),)).to_json(),
                                    dedupe_key=key, due_at=clock(), now=clock(),
                                    priority=outbox.ROUTINE)


async def _statuses(store: Store) -> list[tuple[str, int, str | None]]:
    async with store.transaction() as conn:
        rows = await conn.execute(select(outbox_table.c.status, outbox_table.c.attempts,
                                         outbox_table.c.last_error).order_by(outbox_table.c.id))
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_enqueue_is_deduplicated_and_delivered_once(store: Store, settings: Settings,
                                                          clock: FakeClock) -> None:
    assert await _enqueue(store, clock, "k1")
    assert not await _enqueue(store, clock, "k1")
    channel = fake_channel()
    delivery = Delivery(store, {"fake": channel}, settings, clock, KEYRING)
    assert await delivery.drain() == 1
    assert sent_to(channel) == [("c1", "xin chào")]
    assert await _statuses(store) == [("sent", 1, None)]


async def test_rows_enqueued_in_a_rolled_back_transaction_never_leave(
        store: Store, settings: Settings, clock: FakeClock) -> None:
    try:
        async with store.transaction() as conn:
            await outbox.enqueue(conn, channel="fake", chat_id="c", payload=Reply("x").to_json(),
                                 dedupe_key="gone", due_at=clock(), now=clock(),
                                 priority=outbox.ROUTINE)
            raise RuntimeError("the state change failed")
    except RuntimeError:
        pass
    assert await _statuses(store) == []


async def test_a_crash_mid_send_is_redelivered_after_the_lease(
        store_factory: StoreFactory, settings: Settings, clock: FakeClock) -> None:
    store = await store_factory.open()
    await _enqueue(store, clock, "crash")
    async with store.transaction() as conn:  # a process claims the row, then dies
        claimed = await outbox.claim(conn, channels=["fake"], owner="dead", now=clock(),
                                     lease=timedelta(seconds=settings.delivery_lease_seconds),
                                     limit=10)
    assert len(claimed) == 1
    survivor = await store_factory.open()
    channel = fake_channel()
    delivery = Delivery(survivor, {"fake": channel}, settings, clock, KEYRING)
    assert await delivery.tick() == 0  # still leased to the dead process
    clock.advance(seconds=settings.delivery_lease_seconds + 1)
    assert await delivery.tick() == 1
    assert sent_to(channel) == [("c1", "xin chào")]


async def test_transient_errors_back_off_then_succeed(store: Store, settings: Settings,
                                                      clock: FakeClock) -> None:
    await _enqueue(store, clock, "flaky")
    channel = fake_channel(failures=[RetryLater("timeout"), RetryLater("server error")])
    delivery = Delivery(store, {"fake": channel}, settings, clock, KEYRING)
    assert await delivery.tick() == 0
    assert await delivery.tick() == 0  # not due yet: backing off
    clock.advance(seconds=10)
    assert await delivery.tick() == 0
    clock.advance(seconds=30)
    assert await delivery.tick() == 1
    assert await _statuses(store) == [("sent", 3, None)]


async def test_retry_after_pauses_the_channel_for_every_replica(
        store_factory: StoreFactory, settings: Settings, clock: FakeClock) -> None:
    store = await store_factory.open()
    await _enqueue(store, clock, "a", chat="c1")
    channel = fake_channel(failures=[RetryLater("429", retry_after=30)])
    delivery = Delivery(store, {"fake": channel}, settings, clock, KEYRING)
    assert await delivery.tick() == 0
    await _enqueue(store, clock, "b", chat="c2")
    other = Delivery(await store_factory.open(), {"fake": channel}, settings, clock, KEYRING)
    assert await other.tick() == 0  # the pause is in the database, not in one process
    assert sent_to(channel) == []
    clock.advance(seconds=31)
    assert await other.drain() == 2
    assert sorted(chat for chat, _ in sent_to(channel)) == ["c1", "c2"]


async def test_blocked_recipient_is_marked_unreachable(store: Store, settings: Settings,
                                                       clock: FakeClock) -> None:
    async with store.transaction() as conn:
        pseudonyms = Pseudonyms(KEYRING)
        user = await users.resolve(conn, "fake", pseudonyms.user("fake", "u9"),
                                   pseudonyms.chat("fake", "c1"), clock())
    await _enqueue(store, clock, "blocked")
    delivery = Delivery(store, {"fake": fake_channel(failures=[Unreachable("blocked")])},
                        settings, clock, KEYRING)
    await delivery.tick()
    async with store.transaction() as conn:
        assert (await users.get(conn, user.id)).unreachable  # type: ignore[union-attr]
    status, attempts, error = (await _statuses(store))[0]
    assert (status, attempts) == ("failed", 1) and error and "Unreachable" in error


async def test_gives_up_after_max_attempts_with_the_error_recorded(
        store: Store, clock: FakeClock, tmp_path: object) -> None:
    settings = Settings(_env_file=None, delivery_max_attempts=2)
    await _enqueue(store, clock, "doomed")
    channel = fake_channel(failures=[RetryLater("timeout"), RetryLater("timeout")])
    delivery = Delivery(store, {"fake": channel}, settings, clock, KEYRING)
    await delivery.tick()
    clock.advance(hours=1)
    await delivery.tick()
    assert await _statuses(store) == [("dead", 2, "RetryLater: timeout")]


async def test_undeliverable_gives_up_at_once(store: Store, settings: Settings,
                                              clock: FakeClock) -> None:
    await _enqueue(store, clock, "bad")
    delivery = Delivery(store, {"fake": fake_channel(failures=[Undeliverable("too long")])},
                        settings, clock, KEYRING)
    await delivery.tick()
    assert (await _statuses(store))[0][0] == "failed"


async def test_stop_lets_the_send_in_flight_finish_and_returns_the_rest(
        store: Store, settings: Settings, clock: FakeClock) -> None:
    for key in ("s1", "s2", "s3"):
        await _enqueue(store, clock, key)
    channel = fake_channel(delay=0.2)
    delivery = Delivery(store, {"fake": channel}, settings, clock, KEYRING)
    tick = asyncio.create_task(delivery.tick())
    await asyncio.sleep(0.05)
    await delivery.stop()
    assert await tick == 1
    statuses = await _statuses(store)
    assert statuses[0] == ("sent", 1, None)
    assert statuses[1:] == [("pending", 0, None), ("pending", 0, None)]
    fresh = Delivery(store, {"fake": channel}, settings, clock, KEYRING)
    assert await fresh.drain() == 2


async def test_two_replicas_never_send_the_same_row_twice(
        store_factory: StoreFactory, settings: Settings, clock: FakeClock) -> None:
    first = await store_factory.open()
    second = await store_factory.open()
    for number in range(40):
        await _enqueue(first, clock, f"r{number}", chat=f"c{number}")
    channel = fake_channel(delay=0.001)
    replicas = [Delivery(store, {"fake": channel}, settings, clock, KEYRING)
                for store in (first, second)]
    for _ in range(20):
        await asyncio.gather(*(replica.tick() for replica in replicas))
    chats = [chat for chat, _ in sent_to(channel)]
    assert sorted(chats) == sorted(f"c{number}" for number in range(40))


def test_backoff_grows_and_is_capped() -> None:
    assert backoff(1, rng=lambda: 1.0).total_seconds() == 5
    assert backoff(3, rng=lambda: 1.0).total_seconds() == 20
    assert backoff(30, rng=lambda: 1.0).total_seconds() == 3600
    assert backoff(1, rng=lambda: 0.0).total_seconds() == 2.5
