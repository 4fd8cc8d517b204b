"""Telegram refusing or failing: blocked chats, flood control, server errors and timeouts, and
the sending budgets, with the outbox picking up what could not be sent at once."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest

from bot.channels.telegram import TelegramChannel
from bot.conversation.dispatch import Dispatcher
from bot.conversation.messages import Option, Reply
from bot.errors import ConfigError, RetryLater, Undeliverable, Unreachable
from bot.services import Services
from bot.store import Store, outbox
from tests.conftest import FakeClock
from tests.fakes.telegram_api import FakeTelegramServer
from tests.integration._telegram import TOKEN, USERNAME, running_bot, settings_for
from tests.integration.test_telegram_polling import assert_clean


async def pending(store: Store) -> int:
    async with store.transaction() as conn:
        return (await outbox.counts(conn)).get("pending", 0)


async def wait_pending(store: Store, count: int) -> None:
    """Until ``count`` rows wait in the outbox (queued by an update handled in the background)."""
    for _ in range(250):
        if await pending(store) == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{await pending(store)} rows pending, expected {count}")


async def test_a_blocked_chat_marks_the_user_unreachable(tmp_path: Path,
                                                         clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock) as bot:
        server = bot.server
        server.send_text(601, "/start")
        await server.wait_for_messages(601, 1)
        server.blocked_chats.add(601)
        server.send_text(601, "/help")
        await server.wait_until(lambda: ("sendMessage", 403) in server.calls)
        await bot.channel.stop()
        assert await bot.unreachable(601)
        assert await pending(bot.store) == 0  # nothing queued for a chat that is gone
        assert server.rate_limit_violations == 0


async def test_flood_control_is_waited_out_and_nothing_is_lost(tmp_path: Path,
                                                              clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock) as bot:
        server = bot.server
        server.fail_next("sendMessage", 429, retry_after=1)
        started = time.monotonic()
        server.send_text(602, "/help")
        [answer] = await server.wait_for_messages(602, 1)
        assert time.monotonic() - started >= 1.0
        assert answer.text is not None and answer.text.startswith("Các lệnh")
        assert server.calls.count(("sendMessage", 429)) == 1
        await assert_clean(bot)


async def test_a_server_error_queues_the_reply_for_delivery(tmp_path: Path,
                                                            clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock) as bot:
        server = bot.server
        server.fail_next("sendMessage", 500)
        server.send_text(603, "/help")
        await wait_pending(bot.store, 1)
        assert await bot.delivery().drain() == 1
        [answer] = server.messages_to(603)
        assert answer.text is not None and answer.text.startswith("Các lệnh")
        assert answer.reply_markup is not None  # the options survive the outbox
        await assert_clean(bot)


async def test_a_slow_telegram_times_out_and_the_outbox_delivers_later(tmp_path: Path,
                                                                       clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock, telegram_timeout_seconds=0.3) as bot:
        server = bot.server
        server.delay("sendMessage", 0.6)
        server.send_text(604, "/help")
        await wait_pending(bot.store, 1)
        server.delay("sendMessage", 0)
        await server.wait_for_messages(604, 1)  # the timed-out attempt reached Telegram late
        await asyncio.sleep(1.1)  # and used the chat's second
        assert await bot.delivery().drain() == 1
        # at least once: the late attempt, then the retry
        assert len(server.messages_to(604)) == 2
        await assert_clean(bot)


async def test_several_replies_to_one_update_arrive_in_order_within_budgets(
        tmp_path: Path, clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock) as bot:
        for number in range(3):
            await bot.channel.send("605", Reply(f"tin {number}"))
        texts = [record.text for record in bot.server.messages_to(605)]
        assert texts == ["tin 0", "tin 1", "tin 2"]
        times = [record.time for record in bot.server.messages_to(605)]
        assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times))
        await assert_clean(bot)


async def test_a_burst_over_many_chats_stays_under_thirty_a_second(tmp_path: Path,
                                                                   clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock, telegram_concurrency=64) as bot:
        server = bot.server
        chats = range(700, 745)
        for chat in chats:
            server.send_text(chat, "/help")
        await server.wait_until(lambda: all(server.messages_to(chat) for chat in chats),
                                timeout=10)
        await assert_clean(bot)


async def test_send_maps_telegram_errors_to_delivery_errors(tmp_path: Path,
                                                            clock: FakeClock) -> None:
    async with FakeTelegramServer(TOKEN, USERNAME, missing_chats={606},
                                  blocked_chats={607}) as server, running_bot(
            tmp_path, clock, server=server) as bot:
        channel = bot.channel
        with pytest.raises(Unreachable):
            await channel.send("606", Reply("chào"))
        with pytest.raises(Unreachable):
            await channel.send("607", Reply("chào"))
        server.fail_next("sendMessage", 400, description="Bad Request: can't parse entities")
        with pytest.raises(Undeliverable):
            await channel.send("609", Reply("chào"))
        server.fail_next("sendMessage", 502)
        with pytest.raises(RetryLater):
            await channel.send("610", Reply("chào", (Option("x", "y"),)))
        # too long to wait in place: the caller is told when to try again
        server.fail_next("sendMessage", 429, retry_after=30)
        with pytest.raises(RetryLater) as flood:
            await channel.send("608", Reply("chào"))
        assert flood.value.retry_after == 30
        assert channel.limiter.paused_for > 25  # the whole bot holds back
        assert server.rate_limit_violations == 0


async def test_a_webhook_without_a_web_port_is_a_config_error(tmp_path: Path,
                                                              clock: FakeClock) -> None:
    async with FakeTelegramServer(TOKEN, USERNAME) as server:
        settings = settings_for(tmp_path, server, public_url="https://bot.example.org")
        store = await Store.open(settings.database_url)
        try:
            with pytest.raises(ConfigError) as error:
                TelegramChannel(Dispatcher(store, Services(settings), [], clock=clock))
            assert error.value.setting == "PCMT_WEB_PORT"
        finally:
            await store.close()
