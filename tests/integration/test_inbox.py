"""The inbox on SQLite and PostgreSQL: an update recorded once however often it is delivered,
leases that keep a live process's updates its own and hand a dead one's to the next, handled
rows emptied and purged; and through the Telegram webhook, a second delivery handled once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from bot.store import Store, inbox
from bot.store.schema import inbound_updates
from tests.conftest import FakeClock, StoreFactory
from tests.fakes import images
from tests.integration._telegram import running_bot

LEASE = timedelta(seconds=10)


async def _states(store: Store) -> dict[str, int]:
    async with store.transaction() as conn:
        rows = await conn.execute(select(inbound_updates.c.state, func.count())
                                  .group_by(inbound_updates.c.state))
        return {state: count for state, count in rows}


async def _settle(store: Store, expected: dict[str, int]) -> None:
    """Wait for the rows to reach ``expected``: one is marked handled once its replies are out."""
    for _ in range(100):
        if await _states(store) == expected:
            return
        await asyncio.sleep(0.1)
    assert await _states(store) == expected


async def test_a_second_delivery_of_an_update_is_not_recorded_again(
        store: Store, clock: FakeClock) -> None:
    now = clock()
    async with store.transaction() as conn:
        first = await inbox.record(conn, "telegram", 7, "sealed:aa", now, now + LEASE)
        again = await inbox.record(conn, "telegram", 7, "sealed:aa", now, now + LEASE)
        other_channel = await inbox.record(conn, "zalo_bot", 7, "sealed:bb", now, now + LEASE)
        no_id = [await inbox.record(conn, "zalo_bot", None, "sealed:cc", now, now + LEASE)
                 for _ in range(2)]
    assert first is not None and again is None and other_channel is not None
    assert None not in no_id and len(set(no_id)) == 2  # nothing to compare them by: both kept


async def test_a_lease_renewed_keeps_the_update_and_one_run_out_hands_it_to_one_claimer(
        store_factory: StoreFactory, clock: FakeClock) -> None:
    first, second = await store_factory.open(), await store_factory.open()
    now = clock()
    async with first.transaction() as conn:
        kept = await inbox.record(conn, "telegram", 1, "sealed:01", now, now + LEASE)
        left = await inbox.record(conn, "telegram", 2, "sealed:02", now, now + LEASE)
    assert kept is not None and left is not None
    clock.advance(seconds=5)
    async with first.transaction() as conn:
        await inbox.renew(conn, [kept], clock() + LEASE)
    clock.advance(seconds=6)  # the first row's renewed lease runs on; the second's has run out

    async def claim(store: Store) -> list[inbox.Left]:
        async with store.transaction() as conn:
            return await inbox.claim_left(conn, "telegram", clock(), clock() + LEASE, 10)

    claims = await asyncio.gather(claim(first), claim(second))
    assert sorted(len(claimed) for claimed in claims) == [0, 1]
    [taken] = claims[0] or claims[1]
    assert (taken.id, taken.payload, taken.attempts) == (left, "sealed:02", 2)
    assert await claim(second) == []  # claimed again only once that lease runs out too
    clock.advance(seconds=11)
    assert [row.id for row in await claim(second)] == [kept, left]


async def test_a_handled_row_loses_its_content_and_is_purged_after_its_retention(
        store: Store, clock: FakeClock) -> None:
    now = clock()
    async with store.transaction() as conn:
        handled = await inbox.record(conn, "telegram", 1, "sealed:01", now, now + LEASE)
        failed = await inbox.record(conn, "telegram", 2, "sealed:02", now, now + LEASE)
        waiting = await inbox.record(conn, "telegram", 3, "sealed:03", now, now + LEASE)
        assert handled is not None and failed is not None and waiting is not None
        await inbox.handled(conn, handled, now)
        await inbox.give_up(conn, failed, now)
        payloads = dict((await conn.execute(
            select(inbound_updates.c.id, inbound_updates.c.payload))).tuples().all())
    assert payloads == {handled: "", failed: "", waiting: "sealed:03"}
    assert await _states(store) == {"handled": 1, "failed": 1, "received": 1}
    async with store.transaction() as conn:
        assert await inbox.purge(conn, now) == 0
        assert await inbox.purge(conn, now + timedelta(seconds=1)) == 2
        # a handled row's id still refuses a replay until it is purged; then nothing does
        assert await inbox.record(conn, "telegram", 3, "x", now, now + LEASE) is None
    assert await _states(store) == {"received": 1}


async def test_the_same_webhook_update_posted_twice_is_handled_once(
        tmp_path: Path, clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock, webhook=True) as bot:
        update = bot.server.send_photo(4242, images.jpeg_with_metadata(), "ảnh")
        await bot.server.wait_for_messages(4242, 1, timeout=10)
        await asyncio.sleep(0.3)  # whatever else the first delivery brings
        replies = len(bot.server.messages_to(4242))
        for _ in range(2):
            assert await bot.post(update, bot.secret) == 200
        await asyncio.sleep(0.5)
        assert len(bot.server.messages_to(4242)) == replies
        await _settle(bot.store, {"handled": 1})


async def _break_inbox(store: Store) -> None:
    async with store.transaction() as conn:
        await conn.execute(text("ALTER TABLE inbound_updates RENAME TO inbound_updates_away"))


async def _mend_inbox(store: Store) -> None:
    async with store.transaction() as conn:
        await conn.execute(text("ALTER TABLE inbound_updates_away RENAME TO inbound_updates"))


async def test_a_webhook_update_the_inbox_cannot_take_is_not_acknowledged(
        tmp_path: Path, clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock, webhook=True) as bot:
        await _break_inbox(bot.store)
        update = bot.server.send_text(4343, "/help")
        await bot.server.wait_until(lambda: len(bot.server.webhook_deliveries) >= 1, 10)
        assert bot.server.webhook_deliveries[0].status == 503  # Telegram will try again
        await _mend_inbox(bot.store)
        assert await bot.post(update, bot.secret) == 200  # its next delivery
        await bot.server.wait_for_messages(4343, 1, timeout=10)


async def test_polled_updates_the_inbox_cannot_take_stay_on_telegram_until_it_can(
        tmp_path: Path, clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock) as bot:
        await _break_inbox(bot.store)
        bot.server.send_text(4444, "/help")
        await bot.server.wait_until(lambda: sum(
            method == "getUpdates" for method, _ in bot.server.calls) >= 2, 10)
        await asyncio.sleep(0.5)
        assert bot.server._pending and not bot.server.messages_to(4444)  # not acknowledged
        await _mend_inbox(bot.store)
        await bot.server.wait_for_messages(4444, 1, timeout=15)  # PTB asked again
        await bot.server.wait_until(lambda: not bot.server._pending, 10)
        await _settle(bot.store, {"handled": 1})
