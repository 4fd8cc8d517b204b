"""The Zalo OA channel against the fake OA platform: signed webhooks (forged, unsigned,
stale, replayed), button templates and taps, the messaging windows (a message outside them
held until the person writes again), errors at the boundary."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.channels.zalo_oa import CHANNEL
from bot.channels.zalo_oa._oa_events import signature
from bot.conversation.messages import Option, Reply
from bot.conversation.proactive import push
from bot.errors import OutsideWindow, RetryLater
from bot.store import Store, outbox, users, zalo_oa
from tests.conftest import FakeClock
from tests.fakes.zalo_oa_api import new_user_id
from tests.integration._zalo_oa import OaPerson, RunningOa, running_oa


@pytest.fixture
async def bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[RunningOa]:
    async with running_oa(tmp_path, clock) as running:
        yield running


async def test_the_signature_is_sha256_of_app_id_body_timestamp_and_key() -> None:
    raw = b'{"event_name":"user_send_text"}'
    assert signature("1", raw, "1700000000000", "k") == hashlib.sha256(
        b"1" + raw + b"1700000000000k").hexdigest()


async def test_forged_unsigned_and_stale_deliveries_are_refused(bot: RunningOa) -> None:
    server, user = bot.server, new_user_id()
    body = server.text_event(user, "/start")
    assert await server.deliver(body, signature=None) == 401
    assert await server.deliver(body, signature="0" * 64) == 401
    raw = json.dumps(body).encode()
    signed = server.sign(raw, body["timestamp"])
    tampered = raw.replace(b"/start", b"/help!")
    assert await server.deliver_raw(tampered, timestamp=body["timestamp"],
                                    signature=signed) == 401
    stale = dict(body, timestamp=str(int(bot.clock().timestamp() * 1000) - 3_600_000))
    assert await server.deliver(stale) == 401
    assert server.sent == []
    # the same body signed as Zalo signs it, header with or without "mac="
    assert await server.deliver_raw(raw, timestamp=body["timestamp"],
                                    signature=None,
                                    headers=[("X-ZEvent-Signature", signed)]) == 200
    await server.wait_for_messages(user, 1)


async def test_a_replayed_delivery_is_answered_once(bot: RunningOa) -> None:
    user = new_user_id()
    body = bot.server.text_event(user, "/start")
    assert await bot.server.deliver(body) == 200
    assert await bot.server.deliver(body) == 200
    await bot.server.wait_for_messages(user, 1)
    await bot.channel._in_turn.drain()
    assert len(bot.server.messages_to(user)) == 1


async def test_menus_are_button_templates_and_a_tap_comes_back_as_text(bot: RunningOa) -> None:
    person = OaPerson(bot.server, new_user_id())
    [menu] = await person.say("/start")
    assert menu.free  # a reply quoting the person's message
    assert 1 <= len(menu.buttons) <= 5
    assert all(button["type"] == "oa.query.show" and button["payload"].isdigit()
               for button in menu.buttons)
    [topics] = await person.tap("Hỏi đáp")
    assert topics.buttons and topics.text
    # a typed number means what the button with that number means
    [typed] = await person.say(topics.buttons[0]["payload"])
    assert typed.text


async def test_long_lists_are_paged_in_templates_of_five(bot: RunningOa) -> None:
    person = OaPerson(bot.server, new_user_id())
    await person.say("/start")
    await person.tap("Gửi tin báo")
    for message in person.received:
        assert len(message.buttons) <= 5


async def _queue(bot: RunningOa, user: str, text: str, key: str,
                 options: tuple[Option, ...] = ()) -> None:
    now = bot.clock()
    async with bot.store.transaction() as conn:
        await push(conn, bot.channel.services.keyring, channel=CHANNEL, chat_id=user,
                   reply=Reply(text, options), dedupe_key=key, due_at=now, now=now, private=True)


async def test_free_replies_then_proactive_then_outside_the_window(bot: RunningOa) -> None:
    person = OaPerson(bot.server, new_user_id())
    await person.say("/start")
    delivery = bot.delivery()
    for number in range(9):
        await _queue(bot, person.user_id, f"tin {number}", f"t:{number}")
    assert await delivery.drain() == 9
    sent = person.received[1:]
    assert [message.free for message in sent] == [True] * 7 + [False] * 2  # 8 free in all
    bot.clock.advance(hours=49)
    bot.server.age(person.user_id, hours=49)
    await _queue(bot, person.user_id, "sau 49 giờ", "t:49h")
    assert await delivery.drain() == 1
    assert not person.received[-1].free
    # 7 days after their last message: not tried, not lost silently
    bot.clock.advance(days=6)
    bot.server.age(person.user_id, days=6)
    before = len(bot.server.sent)
    await _queue(bot, person.user_id, "check-in", "t:7d")
    assert await delivery.drain() == 0
    assert len(bot.server.sent) == before
    async with bot.store.transaction() as conn:
        counts = await outbox.counts(conn)
        chat_key = bot.channel.services.pseudonyms.chat(CHANNEL, person.user_id)
        assert await users.chat_unreachable(conn, CHANNEL, chat_key)
    assert counts.get("held") == 1
    # writing again opens the window again, and what was held goes out
    await person.say("/start")
    async with bot.store.transaction() as conn:
        assert not await users.chat_unreachable(conn, CHANNEL, chat_key)
    assert await delivery.drain() == 1
    assert person.received[-1].text == "check-in" and person.received[-1].free


async def test_zalo_saying_230_is_outside_the_window(bot: RunningOa) -> None:
    person = OaPerson(bot.server, new_user_id())
    await person.say("/start")
    bot.server.fail_next("send", -230)
    with pytest.raises(OutsideWindow):
        await bot.channel.send(person.user_id, Reply("hello"))


async def test_a_refused_template_falls_back_to_numbered_lines(bot: RunningOa) -> None:
    person = OaPerson(bot.server, new_user_id())
    await person.say("/start")
    bot.server.fail_next("send", -201)
    await bot.channel.send(person.user_id, Reply("Chọn", (Option("Một", "a"), Option("Hai", "b"))))
    last = person.received[-1]
    assert last.buttons == [] and "1. Một" in last.text and "2. Hai" in last.text


async def test_an_invalid_token_is_refreshed_once_and_the_send_retried(bot: RunningOa) -> None:
    person = OaPerson(bot.server, new_user_id())
    await person.say("/start")
    refreshes = len(bot.server.refreshes)
    bot.server.expire_access_tokens()
    await bot.channel.send(person.user_id, Reply("sau khi làm mới"))
    assert person.received[-1].text == "sau khi làm mới"
    assert len(bot.server.refreshes) == refreshes + 1
    # a second refusal after the refresh is no loop: it goes back to the outbox
    bot.server.fail_next("send", -216, count=2)
    with pytest.raises(RetryLater):
        await bot.channel.send(person.user_id, Reply("again"))
    assert len(bot.server.refreshes) == refreshes + 2


async def test_rate_limits_retry_later_and_unfollowers_are_unreachable(bot: RunningOa) -> None:
    person = OaPerson(bot.server, new_user_id())
    await person.say("/start")
    bot.clock.advance(hours=49)
    bot.server.age(person.user_id, hours=49)
    bot.server.fail_next("send", -32)
    with pytest.raises(RetryLater) as limited:
        await bot.channel.send(person.user_id, Reply("x"))
    assert limited.value.retry_after is not None
    assert await bot.server.unfollow(person.user_id) == 200
    await bot.channel._in_turn.drain()
    async with bot.store.transaction() as conn:
        chat_key = bot.channel.services.pseudonyms.chat(CHANNEL, person.user_id)
        assert await users.chat_unreachable(conn, CHANNEL, chat_key)


async def test_concurrent_sends_with_a_refused_token_refresh_once(bot: RunningOa) -> None:
    people = [OaPerson(bot.server, new_user_id()) for _ in range(5)]
    for person in people:
        await person.say("/start")
    refreshes = len(bot.server.refreshes)
    bot.server.expire_access_tokens()
    bot.server.delay("refresh", 0.2)
    await asyncio.gather(*(bot.channel.send(person.user_id, Reply("cùng lúc"))
                           for person in people))
    assert all(person.received[-1].text == "cùng lúc" for person in people)
    # one refresh for all five (the fake refuses a refresh token used twice)
    assert [accepted for _, accepted in bot.server.refreshes[refreshes:]] == [True]


async def test_a_message_delivered_again_does_not_renew_its_free_replies(
        store: Store, clock: FakeClock) -> None:
    now = clock()
    async with store.transaction() as conn:
        await zalo_oa.heard(conn, "w", "m1", "sealed-1", now)
        for _ in range(8):
            assert await zalo_oa.spend_free_reply(conn, "w", heard_after=now - timedelta(
                hours=48), most=8) == "sealed-1"
        await zalo_oa.heard(conn, "w", "m1", "sealed-1", now)  # the same message again
        assert await zalo_oa.spend_free_reply(
            conn, "w", heard_after=now - timedelta(hours=48), most=8) is None
        await zalo_oa.heard(conn, "w", "m2", "sealed-2", now)  # a new message: a new window
        assert await zalo_oa.spend_free_reply(
            conn, "w", heard_after=now - timedelta(hours=48), most=8) == "sealed-2"
