"""The Telegram channel in webhook mode: the route on the bot's web server, the secret token,
replays within one process and across replicas, and random input that must never break it."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FakeClock
from tests.fakes.telegram_api import FakeTelegramServer
from tests.integration._telegram import TOKEN, USERNAME, Running, running_bot
from tests.integration.test_telegram_polling import assert_clean


def private_text(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}
    message: dict[str, Any] = {"message_id": update_id % 1000 + 1, "date": 1_790_000_000,
                               "from": user, "text": text,
                               "chat": {"id": chat_id, "type": "private", "first_name": "Lan"}}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


@pytest.fixture
async def webhook_bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Running]:
    async with running_bot(tmp_path, clock, webhook=True) as bot:
        yield bot


async def test_updates_through_the_registered_webhook_are_handled(webhook_bot: Running) -> None:
    server = webhook_bot.server
    assert server.webhook is not None
    assert server.webhook["url"] == webhook_bot.webhook_url
    assert set(server.webhook["allowed_updates"]) == {
        "message", "edited_message", "callback_query", "my_chat_member"}
    # Telegram opens as many connections as the bot handles updates at once
    assert server.webhook["max_connections"] == webhook_bot.settings.telegram_concurrency
    server.send_text(801, "/start")
    [greeting] = await server.wait_for_messages(801, 1)
    assert greeting.text is not None and greeting.text.startswith("Xin chào")
    assert [delivery.status for delivery in server.webhook_deliveries] == [200]
    await assert_clean(webhook_bot)


async def test_the_webhook_answers_before_the_reply_is_sent(webhook_bot: Running) -> None:
    webhook_bot.server.delay("sendMessage", 1.0)
    started = time.monotonic()
    assert await webhook_bot.post(private_text(9_001, 802, "/help"), webhook_bot.secret) == 200
    assert time.monotonic() - started < 0.5
    await webhook_bot.server.wait_for_messages(802, 1)
    await assert_clean(webhook_bot)


async def test_a_forged_or_missing_secret_is_refused(webhook_bot: Running) -> None:
    update = private_text(9_002, 803, "/start")
    assert await webhook_bot.post(update, "not-the-secret") == 401
    assert await webhook_bot.post(update, None) == 401
    assert await webhook_bot.post(update, "é" * 64) == 401
    await webhook_bot.channel.stop()
    assert webhook_bot.server.messages_to(803) == []


async def test_a_replayed_update_is_handled_once(webhook_bot: Running) -> None:
    update = private_text(9_003, 804, "/help")
    for _ in range(3):
        assert await webhook_bot.post(copy.deepcopy(update), webhook_bot.secret) == 200
    await webhook_bot.server.wait_for_messages(804, 1)
    await webhook_bot.channel.stop()
    assert len(webhook_bot.server.messages_to(804)) == 1


async def test_a_replay_reaching_another_replica_is_handled_once(tmp_path: Path,
                                                                 clock: FakeClock) -> None:
    update = private_text(9_004, 805, "/help")
    async with FakeTelegramServer(TOKEN, USERNAME) as server, \
            running_bot(tmp_path, clock, webhook=True, server=server) as first, \
            running_bot(tmp_path, clock, webhook=True, server=server) as second:
        assert await first.post(update, first.secret) == 200
        assert await second.post(update, second.secret) == 200
        await server.wait_for_messages(805, 1)
        await first.channel.stop()
        await second.channel.stop()
        assert len(server.messages_to(805)) == 1


async def test_a_malformed_update_is_skipped_and_the_next_one_handled(
        webhook_bot: Running) -> None:
    server = webhook_bot.server
    server.queue_raw({"message": {"message_id": "x", "chat": 5, "date": "yesterday"}})
    server.queue_raw({"update_id": "not a number", "message": {}})
    server.send_text(806, "/help")
    [answer] = await server.wait_for_messages(806, 1)
    assert answer.text is not None and answer.text.startswith("Các lệnh")
    # skipped, not refused: Telegram must not send them again
    assert {delivery.status for delivery in server.webhook_deliveries} == {200}
    await assert_clean(webhook_bot)


async def test_stopping_finishes_what_was_accepted_and_refuses_the_rest(
        webhook_bot: Running) -> None:
    server = webhook_bot.server
    server.delay("sendMessage", 0.3)
    assert await webhook_bot.post(private_text(9_005, 807, "/help"), webhook_bot.secret) == 200
    await webhook_bot.channel.stop()
    assert len(server.messages_to(807)) == 1  # in flight when the stop began
    # after the stop Telegram is asked to come back later (another replica may take it)
    assert await webhook_bot.post(private_text(9_006, 808, "/help"), webhook_bot.secret) == 503


_scalars = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
# Shapes near a real update, with the wrong things inside.
_update = st.fixed_dictionaries(
    {"update_id": st.integers(min_value=-5, max_value=2**66) | _scalars},
    optional={key: _json | st.dictionaries(st.sampled_from(
        ["message_id", "chat", "from", "text", "date", "data", "id", "message", "photo"]),
        _json, max_size=5)
        for key in ("message", "edited_message", "callback_query", "my_chat_member")})
_bodies = (_update.map(json.dumps) | _json.map(json.dumps)
           | st.binary(max_size=64) | st.text(max_size=64))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=_bodies)
async def test_random_input_never_breaks_the_webhook(webhook_bot: Running,
                                                     body: str | bytes) -> None:
    assert await webhook_bot.post(body, webhook_bot.secret) < 500


async def test_after_random_input_the_bot_still_answers_and_said_nothing(
        webhook_bot: Running, caplog: pytest.LogCaptureFixture) -> None:
    strategy = st.lists(_bodies, min_size=40, max_size=40)
    bodies: list[str | bytes] = []

    @settings(max_examples=1, deadline=None, database=None)
    @given(strategy)
    def draw(drawn: list[str | bytes]) -> None:
        bodies[:] = drawn

    draw()
    with caplog.at_level(logging.WARNING):
        statuses = [await webhook_bot.post(body, webhook_bot.secret) for body in bodies]
        assert max(statuses) < 500
        await webhook_bot.post(private_text(9_007, 809, "/help"), webhook_bot.secret)
        await webhook_bot.server.wait_for_messages(809, 1)
        await asyncio.sleep(0.1)
    assert [record.chat_id for record in webhook_bot.server.sent] == [809]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    await assert_clean(webhook_bot)
