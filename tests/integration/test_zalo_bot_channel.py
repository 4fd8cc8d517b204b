"""The Zalo Bot channel's plumbing against the fake Zalo Bot API, through its real aiohttp
client: polling (one update a call, empty polls, failures, a webhook left behind), the webhook
(secret, both body shapes, forged, oversize and malformed posts, replays, random JSON),
platform errors and timeouts on sending, updates it cannot read, and ``/healthz``."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from pathlib import Path
from typing import Any

import pytest

from bot.channels.zalo_bot import CHANNEL, ZaloBotChannel
from bot.conversation.dispatch import Dispatcher
from bot.conversation.messages import Option, Reply
from bot.errors import ConfigError, RetryLater, Undeliverable, Unreachable
from bot.services import Services
from bot.store import outbox
from tests.conftest import FakeClock
from tests.fakes.zalo_bot_api import FakeZaloBotServer
from tests.integration._zalo_bot import (
    TOKEN,
    RunningZalo,
    ZaloPerson,
    options,
    running_zalo,
    settings_for,
)

CHAT = "0123456789abcdef0123"


async def pending(bot: RunningZalo) -> int:
    async with bot.store.transaction() as conn:
        return (await outbox.counts(conn)).get("pending", 0)


# --- polling -----------------------------------------------------------------------------------

async def test_one_update_a_poll_and_empty_polls_are_no_failures(tmp_path: Path,
                                                                 clock: FakeClock) -> None:
    async with FakeZaloBotServer(TOKEN, max_poll_seconds=0.05) as server, running_zalo(
            tmp_path, clock, server=server, web=True) as bot:
        await server.wait_until(lambda: server.calls.count(("getUpdates", 408)) >= 3)
        assert bot.channel.alive()
        person = ZaloPerson(server, CHAT)
        server.send_text(CHAT, "/start")
        server.send_text(CHAT, "/help")
        replies = await server.wait_for_messages(CHAT, 2)
        assert replies[0].text and replies[0].text.startswith("Xin chào")
        assert server.calls.count(("getUpdates", 0)) == 2  # one update each
        [menu] = await person.say("/start")
        assert options(menu)
        status, body = await bot.healthz()
        assert (status, body[CHANNEL]) == (200, "ok")


async def test_polling_backs_off_after_failures_and_goes_on(tmp_path: Path,
                                                            clock: FakeClock) -> None:
    async with FakeZaloBotServer(TOKEN, max_poll_seconds=0.05) as server:
        server.fail_next("getUpdates", 500, count=2)
        server.fail_next("getUpdates", 502, http_status=502)
        async with running_zalo(tmp_path, clock, server=server):
            server.send_text(CHAT, "/start")
            await server.wait_for_messages(CHAT, 1)
            assert [code for name, code in server.calls if name == "getUpdates"][:3] == [
                500, 500, 502]


async def test_a_webhook_left_behind_is_removed_before_polling(tmp_path: Path,
                                                               clock: FakeClock) -> None:
    async with FakeZaloBotServer(TOKEN, max_poll_seconds=0.05) as server:
        server.webhook = {"url": "https://old.example/zalo", "secret_token": "x" * 16}
        async with running_zalo(tmp_path, clock, server=server):
            assert server.webhook is None
            server.send_text(CHAT, "/start")
            await server.wait_for_messages(CHAT, 1)
        methods = [name for name, _ in server.calls]
        assert methods.index("deleteWebhook") < methods.index("getUpdates")


async def test_a_rejected_token_stops_the_channel_with_one_line_and_healthz_says_so(
        tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    async with FakeZaloBotServer(TOKEN, max_poll_seconds=0.05) as server, running_zalo(
            tmp_path, clock, server=server, web=True) as bot:
        server.fail_next("getUpdates", 401, count=100)
        with caplog.at_level(logging.WARNING):
            await server.wait_until(lambda: not bot.channel.alive())
            await asyncio.sleep(0.2)
        status, body = await bot.healthz()
        assert (status, body[CHANNEL]) == (503, "down")
        assert [r.getMessage() for r in caplog.records].count("zalo_bot.token_rejected") == 1
        assert server.calls.count(("getUpdates", 401)) == 1  # it stopped asking
        with pytest.raises(RetryLater):
            await bot.channel.send(CHAT, Reply("later"))


async def test_a_dead_polling_loop_is_reported_by_healthz(tmp_path: Path,
                                                          clock: FakeClock) -> None:
    async with running_zalo(tmp_path, clock, web=True) as bot:
        assert bot.channel._polling is not None
        bot.channel._polling.cancel()
        await asyncio.sleep(0)
        status, body = await bot.healthz()
        assert (status, body[CHANNEL]) == (503, "down")


async def test_a_token_zalo_rejects_at_start_up_is_a_config_error(tmp_path: Path,
                                                                  clock: FakeClock) -> None:
    async with FakeZaloBotServer("1:another") as server:
        with pytest.raises(ConfigError, match="PCMT_ZALO_BOT_TOKEN"):
            async with running_zalo(tmp_path, clock, server=server):
                pass


async def test_malformed_and_unreadable_updates_never_stop_the_channel(
        tmp_path: Path, clock: FakeClock) -> None:
    async with FakeZaloBotServer(TOKEN, max_poll_seconds=0.05) as server, running_zalo(
            tmp_path, clock, server=server):
        for raw in (None, [], "text", 7, {"event_name": 3}, {"event_name": "message.text.received"},
                    {"event_name": "message.text.received", "message": {"chat": []}},
                    {"event_name": "message.text.received",
                     "message": {"chat": {"id": {"x": 1}}, "from": {"id": CHAT}, "text": "hi"}},
                    {"event_name": "message.text.received",
                     "message": {"chat": {"id": CHAT, "chat_type": ["GROUP"]},
                                 "from": {"id": CHAT}, "text": "hi"}},
                    {"event_name": "message.text.received",
                     "message": {"message_id": ["x"], "chat": {"id": CHAT},
                                 "from": {"id": CHAT, "is_bot": True}, "text": "hi"}},
                    {"event_name": "message.reaction.received",
                     "message": {"chat": {"id": CHAT}, "from": {"id": CHAT}}}):
            server.queue_raw(raw)
        server.send_sticker(CHAT)
        server.send_voice(CHAT)
        server.send_unsupported(CHAT)
        server.send_text(CHAT, "/start")
        replies = await server.wait_for_messages(CHAT, 4)
        assert [r.text for r in replies[:3]] == [replies[0].text] * 3
        assert "nhãn dán" in (replies[0].text or "")  # stickers, voice, withheld content
        assert (replies[3].text or "").startswith("Xin chào")
        assert len(server.sent) == 4  # the bot's own message and the broken ones: no answer


# --- the webhook -------------------------------------------------------------------------------

@pytest.fixture
async def webhook_bot(tmp_path: Path, clock: FakeClock) -> Any:
    async with running_zalo(tmp_path, clock, webhook=True) as bot:
        yield bot


async def test_the_webhook_is_registered_and_takes_flat_and_wrapped_bodies(
        webhook_bot: RunningZalo) -> None:
    server = webhook_bot.server
    assert server.webhook is not None and server.webhook["url"] == webhook_bot.webhook_url
    assert 8 <= len(server.webhook["secret_token"]) <= 256
    server.send_text(CHAT, "/start")
    await server.wait_for_messages(CHAT, 1)
    server.wrapped = True
    server.send_text(CHAT, "/help")
    await server.wait_for_messages(CHAT, 2)
    assert [delivery.status for delivery in server.webhook_deliveries] == [200, 200]
    assert ("getUpdates", 0) not in server.calls  # never polled while the webhook is set


async def test_forged_oversize_and_malformed_posts_are_refused_and_nothing_is_handled(
        webhook_bot: RunningZalo) -> None:
    server, secret = webhook_bot.server, webhook_bot.server.webhook["secret_token"]  # type: ignore[index]
    update = {"event_name": "message.text.received", "message": {
        "message_id": "d" * 20, "chat": {"id": CHAT, "chat_type": "PRIVATE"},
        "from": {"id": CHAT}, "text": "/start"}}
    assert await webhook_bot.post(update, None) == 401
    assert await webhook_bot.post(update, secret[:-1] + "x") == 401
    assert await webhook_bot.post(update, secret + "x") == 401
    assert await webhook_bot.post(b"{" * 70_000, secret) == 413
    assert await webhook_bot.post(b"{not json", secret) == 400
    assert await webhook_bot.post({"ok": True, "result": []}, secret) == 400
    assert await webhook_bot.post(b"[" * 5000 + b"]" * 5000, secret) == 400
    await asyncio.sleep(0.2)
    assert not server.sent
    # A genuine delivery still works, and the same message twice is answered once.
    assert await webhook_bot.post(update, secret) == 200
    assert await webhook_bot.post({"ok": True, "result": update}, secret) == 200
    await server.wait_for_messages(CHAT, 1)
    await asyncio.sleep(0.2)
    assert len(server.messages_to(CHAT)) == 1


def random_json(rng: random.Random, depth: int = 0) -> Any:
    leaves = [None, True, 0, -1, 2**70, 1.5, "", "x", "message.text.received", CHAT,
              "PRIVATE", "GROUP", "/start", "https://127.0.0.1:1/none.jpg"]
    if depth > 3 or rng.random() < 0.3:
        return rng.choice(leaves)
    if rng.random() < 0.3:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(3))]
    keys = ["event_name", "message", "ok", "result", "chat", "from", "id", "text", "chat_type",
            "message_id", "photo_url", "photo", "caption", "is_bot", "date"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(5))}


async def test_random_json_never_gets_a_server_error(webhook_bot: RunningZalo) -> None:
    secret = webhook_bot.server.webhook["secret_token"]  # type: ignore[index]
    rng = random.Random(17)
    for _ in range(300):
        body = random_json(rng)
        if rng.random() < 0.5:
            body = {"event_name": rng.choice(["message.text.received",
                                              "message.image.received",
                                              "message.sticker.received"]),
                    "message": body}
        status = await webhook_bot.post(json.dumps(body), secret)
        assert status < 500, body
    server = webhook_bot.server
    server.send_text(CHAT, "/start")
    await server.wait_until(lambda: any((r.text or "").startswith("Xin chào")
                                        for r in server.messages_to(CHAT)))
    assert webhook_bot.channel.alive()


# --- sending -----------------------------------------------------------------------------------

async def test_quota_and_server_errors_and_timeouts_send_the_reply_to_the_outbox(
        tmp_path: Path, clock: FakeClock) -> None:
    async with running_zalo(tmp_path, clock, zalo_bot_timeout_seconds=0.5) as bot:
        server, person = bot.server, ZaloPerson(bot.server, CHAT)
        for fault in ({"error_code": 429}, {"error_code": 500, "http_status": 500},
                      {"error_code": 503}):
            server.fail_next("sendMessage", **fault)
            server.send_text(CHAT, "/help")
            failed = ("sendMessage", fault["error_code"])
            await server.wait_until(lambda failed=failed: failed in server.calls)
        server.delay("sendMessage", 1.0)  # longer than the client waits
        server.send_text(CHAT, "/help")
        await asyncio.sleep(0.8)
        server.delay("sendMessage", 0)
        await bot.channel._in_turn.drain()
        assert await pending(bot) == 4
        clock.advance(hours=2)
        assert await bot.delivery().drain() >= 4
        assert len(person.received) >= 4


async def test_a_quota_refusal_pauses_delivery_for_a_growing_jittered_wait(
        tmp_path: Path, clock: FakeClock) -> None:
    async with running_zalo(tmp_path, clock, zalo_bot_backoff_seconds=10,
                            zalo_bot_backoff_max_seconds=40) as bot:
        bot.server.fail_next("sendMessage", 429, count=3)
        waits = []
        for _ in range(3):
            with pytest.raises(RetryLater) as raised:
                await bot.channel.send(CHAT, Reply("hello"))
            waits.append(raised.value.retry_after)
        assert all(wait is not None for wait in waits)
        assert 5 <= waits[0] <= 10 and 10 <= waits[1] <= 20 and 20 <= waits[2] <= 40
        await bot.channel.send(CHAT, Reply("hello"))  # HTTP 200 and ok: sent


async def test_ok_false_with_http_200_is_a_failure_and_a_blocked_chat_is_unreachable(
        tmp_path: Path, clock: FakeClock) -> None:
    async with FakeZaloBotServer(TOKEN, blocked_chats=[CHAT]) as server, running_zalo(
            tmp_path, clock, server=server) as bot:
        with pytest.raises(Unreachable):
            await bot.channel.send(CHAT, Reply("hello"))
        server.fail_next("sendMessage", 400)
        with pytest.raises(Undeliverable, match="bad request"):
            await bot.channel.send("f" * 20, Reply("hello"))


async def test_long_texts_go_in_parts_under_2000_characters_cut_at_sentences(
        tmp_path: Path, clock: FakeClock) -> None:
    sentence = "Đây là một câu khá dài nói về tác hại của ma túy đối với sức khỏe. "
    text = sentence * 80
    async with running_zalo(tmp_path, clock) as bot:
        await bot.channel.send(CHAT, Reply(text, (Option("Menu", "menu"),)))
        parts = bot.server.messages_to(CHAT)
        assert len(parts) == 3 and all(len(part.text or "") <= 2000 for part in parts)
        assert all((part.text or "").endswith(".") for part in parts[:-1])
        assert (parts[-1].text or "").endswith("Trả lời 1 để chọn.")
        joined = " ".join(part.text or "" for part in parts)
        assert joined.count("tác hại") == 80


@pytest.mark.parametrize(("overrides", "setting"), [
    ({"zalo_bot_mode": "webhook"}, "PCMT_PUBLIC_URL"),
    ({"public_url": "https://bot.example"}, "PCMT_WEB_PORT"),
])
def test_webhook_mode_needs_a_public_url_and_a_port(tmp_path: Path, overrides: dict[str, Any],
                                                    setting: str) -> None:
    settings = settings_for(tmp_path, FakeZaloBotServer(TOKEN), **overrides)
    dispatcher = Dispatcher(None, Services(settings), [])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=setting):
        ZaloBotChannel(dispatcher)
