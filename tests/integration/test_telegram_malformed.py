"""Updates python-telegram-bot would parse but then choke on, outside any handler: in polling
and webhook mode every one is skipped, the next message is still answered, and ``/healthz``
tells an orchestrator when the channel's update loop has ended."""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.web import WebServer
from tests.conftest import FakeClock
from tests.integration._telegram import Running, free_port, running_bot
from tests.integration.test_telegram_polling import assert_clean

# The chat id is an object: PTB puts it in a set after the handler, which used to end its loop.
PROBE: dict[str, Any] = {
    "update_id": 101, "message": {
        "message_id": 1, "date": 0, "chat": {"id": {"x": 1}, "type": "private"},
        "from": {"id": 7, "is_bot": False, "first_name": "x"}, "text": "/start"}}
MUTATIONS = 40
ODD_VALUES: tuple[Any, ...] = (None, True, False, 0, -1, 2**70, 1.5, "", "x", "\ud800",
                               "\x00", [], [1, "a"], {}, {"x": 1}, {"id": {"x": 1}})


def templates(chat_id: int) -> list[dict[str, Any]]:
    """Well-formed updates of every kind the bot asks for, from one private chat."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}
    chat = {"id": chat_id, "type": "private", "first_name": "Lan"}
    message = {"message_id": 5, "date": 1_790_000_000, "chat": chat, "from": user,
               "text": "/start", "entities": [{"type": "bot_command", "offset": 0,
                                               "length": 6}]}
    photo = {"message_id": 6, "date": 1_790_000_000, "chat": chat, "from": user,
             "photo": [{"file_id": "AgAC1", "file_unique_id": "u1", "width": 90,
                        "height": 60, "file_size": 900}], "caption": "ảnh"}
    return [
        {"message": message},
        {"edited_message": {**message, "edit_date": 1_790_000_100}},
        {"message": photo},
        {"message": {"message_id": 7, "date": 1_790_000_000, "chat": chat, "from": user,
                     "location": {"latitude": 10.77, "longitude": 106.7}}},
        {"callback_query": {"id": "991", "from": user, "chat_instance": "77", "data": "faq",
                            "message": {"message_id": 4, "date": 1_790_000_000,
                                        "chat": chat, "text": "menu"}}},
        {"my_chat_member": {"chat": chat, "from": user, "date": 1_790_000_000,
                            "old_chat_member": {"user": user, "status": "member"},
                            "new_chat_member": {"user": user, "status": "kicked",
                                                "until_date": 0}}},
    ]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    children = (node.items() if isinstance(node, dict)
                else enumerate(node) if isinstance(node, list) else ())
    for key, value in children:
        found += _paths(value, (*path, key))
    return found


def mutated(update: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``update`` with one to three fields (never ``update_id``) replaced by odd values or
    removed."""
    update = copy.deepcopy(update)
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _paths(update) if p[0] != "update_id"]
        if not paths:  # the whole content was replaced already
            break
        path = rng.choice(paths)
        parent = update
        for key in path[:-1]:
            parent = parent[key]
        if rng.random() < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return update


def strange_updates(seed: int, first_id: int) -> list[dict[str, Any]]:
    """The probe, then seeded mutations of every template, each from a chat of its own."""
    rng = random.Random(seed)
    strange = [PROBE]
    for number in range(MUTATIONS):
        template = rng.choice(templates(30_000 + number))
        strange.append({"update_id": first_id + number, **mutated(template, rng)})
    return strange


def normal(update_id: int, chat_id: int) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": 1_790_000_000, "from": user, "text": "/help",
        "chat": {"id": chat_id, "type": "private", "first_name": "Lan"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}


async def health(web: WebServer) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{web.port}/healthz") as reply:
        return reply.status, await reply.json()


@pytest.fixture
async def polling_bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Running]:
    async with running_bot(tmp_path, clock) as bot:
        web = WebServer(bot.store, "127.0.0.1", free_port())
        bot.channel.install_routes(web)
        await web.start()
        bot.web = web
        try:
            yield bot
        finally:
            await web.stop()


@pytest.fixture
async def webhook_bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Running]:
    async with running_bot(tmp_path, clock, webhook=True) as bot:
        yield bot


async def test_polling_skips_every_strange_update_and_answers_the_next_message(
        polling_bot: Running) -> None:
    server = polling_bot.server
    for number, update in enumerate(strange_updates(seed=20261202, first_id=1_000)):
        server.queue_raw(update)
        chat = 40_000 + number
        server.queue_raw(normal(5_000 + number, chat))
        [answer] = await server.wait_for_messages(chat, 1)
        assert answer.text is not None and answer.text.startswith("Các lệnh")
    assert polling_bot.web is not None
    assert await health(polling_bot.web) == (200, {"status": "ok", "telegram": "ok",
                                                   "database": "ok"})
    await assert_clean(polling_bot)


async def test_the_webhook_skips_every_strange_update_and_answers_the_next_message(
        webhook_bot: Running) -> None:
    server = webhook_bot.server
    for number, update in enumerate(strange_updates(seed=20261203, first_id=1_000)):
        assert await webhook_bot.post(update, webhook_bot.secret) == 200
        chat = 40_000 + number
        assert await webhook_bot.post(normal(5_000 + number, chat), webhook_bot.secret) == 200
        [answer] = await server.wait_for_messages(chat, 1)
        assert answer.text is not None and answer.text.startswith("Các lệnh")
    assert webhook_bot.web is not None
    assert (await health(webhook_bot.web))[0] == 200
    await assert_clean(webhook_bot)


def _task(name: str) -> asyncio.Task[Any]:
    [task] = [task for task in asyncio.all_tasks() if task.get_name().endswith(name)]
    return task


async def test_healthz_reports_a_webhook_channel_whose_update_loop_ended(
        webhook_bot: Running) -> None:
    assert webhook_bot.web is not None
    _task(":update_fetcher").cancel()
    await asyncio.sleep(0.05)
    status, body = await health(webhook_bot.web)
    assert status == 503 and body["telegram"] == "down" and body["database"] == "ok"
    # Telegram is asked to deliver again, maybe to a replica that works
    assert await webhook_bot.post(normal(7_001, 501), webhook_bot.secret) == 503


async def test_healthz_reports_a_polling_channel_whose_loops_ended(
        polling_bot: Running) -> None:
    assert polling_bot.web is not None
    _task("polling_task").cancel()
    polling_bot.channel._poll_patience = 0.2  # a real silence lasts over a minute
    await asyncio.sleep(0.3)
    assert (await health(polling_bot.web))[0] == 503


async def test_healthz_reports_a_polling_channel_whose_handling_loop_ended(
        polling_bot: Running) -> None:
    assert polling_bot.web is not None
    assert (await health(polling_bot.web))[0] == 200
    _task(":update_fetcher").cancel()
    await asyncio.sleep(0.05)
    assert (await health(polling_bot.web))[1]["telegram"] == "down"



def typed(chat_id: int, text: str) -> dict[str, Any]:
    """A private message as a client may send it, with no entities computed."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}
    return {"message": {"message_id": len(text), "date": 1_790_000_000, "from": user,
                        "text": text, "chat": {"id": chat_id, "type": "private"}}}


@pytest.mark.parametrize("odd", ["\ud800", "\x00", "\u202e"])
async def test_odd_characters_in_text_and_buttons_are_cleaned_at_the_boundary(
        polling_bot: Running, odd: str) -> None:
    server = polling_bot.server
    server.queue_raw(typed(601, f"/start{odd}"))
    [menu] = await server.wait_for_messages(601, 1)
    assert menu.text is not None and menu.text.startswith("Xin chào"), menu.text
    assert menu.message_id is not None
    server.queue_raw(typed(601, f"ma túy{odd} là gì"))
    [answer] = (await server.wait_for_messages(601, 2))[1:]
    assert answer.text is not None and "lỗi" not in answer.text.lower(), answer.text
    presses = [server.press_button(601, menu.message_id, data)["callback_query"]["id"]
               for data in (f"lang:en{odd}", odd, f"{odd}faq")]
    await server.wait_until(lambda: len(server.answered_callbacks) >= len(presses))
    assert {str(a["callback_query_id"]) for a in server.answered_callbacks} == set(presses)
    switched = (await server.wait_for_messages(601, 3))[2]
    assert switched.text == "Switched to English."
    await assert_clean(polling_bot)
