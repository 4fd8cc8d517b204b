"""Whole conversations through a Zalo OA, end to end: signed webhook deliveries from the fake
OA platform, the channel's own aiohttp client, a SQLite store and the project's handlers.
Choices are taps on button templates, as people use them.

A citizen asks and files a report with a photo; the report reaches a police group on Telegram
(both channels in one process, as ``pcmt-bot run`` runs them) and the officer's question
comes back to the reporter on the OA without any identity.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from bot.channels.telegram import TelegramChannel
from bot.channels.zalo_oa import CHANNEL
from bot.services import Services
from bot.store import Store, reports
from scheduler.delivery import Delivery
from tests.conftest import FakeClock
from tests.fakes.images import CAMERA, SERIAL, jpeg_with_metadata
from tests.fakes.telegram_api import FakeTelegramServer
from tests.fakes.zalo_oa_api import FakeZaloOaServer, SentMessage, new_user_id
from tests.harness import BEN_THANH, TICKET
from tests.integration import _telegram
from tests.integration._zalo_oa import OaPerson, RunningOa, running_oa
from tests.integration.test_zalo_bot_flows import DESCRIPTION, GROUP, WHERE, invite


@pytest.fixture
async def bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[RunningOa]:
    async with running_oa(tmp_path, clock) as running:
        yield running


def every_text(messages: list[SentMessage]) -> str:
    return "\n".join(message.text for message in messages)


async def file_report(person: OaPerson, *, photo: bytes | None = None) -> str:
    """A complete anonymous report, tap by tap; returns the ticket."""
    await person.say("/start")
    await person.tap("Gửi tin báo")
    await person.tap("Mua bán ma túy")
    await person.say(BEN_THANH)
    await person.tap("Phường Bến Thành")
    await person.say(WHERE)
    [ask_photos] = await person.say(DESCRIPTION)
    assert ask_photos.buttons
    if photo is not None:
        [received] = await person.send_photo(photo)
        assert "1/5" in received.text
    summary = every_text(await person.tap("Đồng ý nhận câu hỏi"))
    assert "Bến Thành" in summary and WHERE in summary
    [sent] = await person.tap("Gửi")
    found = TICKET.search(sent.text)
    assert found and sent.text.startswith("✅"), sent.text
    return found.group()


@pytest.mark.parametrize(("question", "expected"), [
    ("Ma túy đá là gì?", "ma túy đá"),
    ("ma tuy da la gi", "ma túy đá"),
])
async def test_a_citizen_asks_through_the_oa(bot: RunningOa, question: str,
                                             expected: str) -> None:
    person = OaPerson(bot.server, new_user_id())
    [answer, *_] = await person.say(question)
    assert expected in answer.text.lower(), answer.text
    assert all(message.free and len(message.text) <= 2000 for message in person.received)


async def test_a_report_through_the_oa_with_a_photo(bot: RunningOa) -> None:
    person = OaPerson(bot.server, new_user_id())
    ticket = await file_report(person, photo=jpeg_with_metadata())
    async with bot.store.transaction() as conn:
        report = await reports.by_ticket(conn, ticket)
        assert report is not None
        [sealed] = await reports.attachments(conn, report.id)
    photo = bot.channel.services.keyring.open(sealed, purpose="content",
                                             associated=ticket.encode())
    image = Image.open(io.BytesIO(photo))  # downloaded from Zalo's link, then sanitised
    assert image.format == "JPEG" and not image.getexif()
    assert CAMERA.encode() not in photo and SERIAL.encode() not in photo
    assert all(len(message.buttons) <= 5 for message in person.received)


@dataclass
class Both:
    oa: RunningOa
    telegram: FakeTelegramServer
    delivery: Delivery
    services: Services
    store: Store


@pytest.fixture
async def both(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Both]:
    async with AsyncExitStack() as stack:
        telegram = await stack.enter_async_context(
            FakeTelegramServer(_telegram.TOKEN, _telegram.USERNAME, rate_limits=None))
        oa_server = await stack.enter_async_context(FakeZaloOaServer(clock=clock))
        oa = await stack.enter_async_context(running_oa(
            tmp_path, clock, server=oa_server, beside=TelegramChannel,
            telegram_token=_telegram.TOKEN, telegram_base_url=telegram.base_url,
            telegram_base_file_url=telegram.base_file_url))
        services = oa.channel.services
        delivery = Delivery(oa.store, {CHANNEL: oa.channel, "telegram": oa.other}, oa.settings,
                            clock, services.keyring)
        yield Both(oa, telegram, delivery, services, oa.store)


async def test_an_oa_report_reaches_police_on_telegram_and_their_question_comes_back(
        both: Both, clock: FakeClock) -> None:
    code = await invite(both.store, both.services, clock)
    both.telegram.send_text(GROUP, f"/join {code}", user_id=4_401_234, chat_type="group")
    await both.telegram.wait_for_messages(GROUP, 1)

    citizen = new_user_id()
    reporter = OaPerson(both.oa.server, citizen)
    ticket = await file_report(reporter, photo=jpeg_with_metadata())
    assert await both.delivery.drain() == 1
    [_, card] = await both.telegram.wait_for_messages(GROUP, 2)
    assert ticket in (card.text or "") and DESCRIPTION in (card.text or "")
    assert citizen not in str(card.params)

    question = "Họ thường đến lúc mấy giờ?"
    both.telegram.press_button(GROUP, card.message_id or 0, f"r:ask:{ticket}",
                               user_id=4_401_234, chat_type="group")
    await both.telegram.wait_for_messages(GROUP, 3)
    both.telegram.send_text(GROUP, f"/ask {question}", user_id=4_401_234, chat_type="group")
    await both.telegram.wait_for_messages(GROUP, 4)
    assert await both.delivery.drain() == 1
    relayed = reporter.received[-1]
    assert question in relayed.text and ticket in relayed.text
    assert str(GROUP) not in relayed.text and "4401234" not in relayed.text
    assert relayed.free  # within 48 hours of the reporter's last message
    [answer_button] = [b["title"] for b in relayed.buttons if "Trả lời" in b["title"]]
    await reporter.tap(answer_button)  # opens the answer step at once
    answer = "Khoảng 9 giờ tối"
    await reporter.say(answer)
    assert await both.delivery.drain() == 1
    back = both.telegram.messages_to(GROUP)[-1]
    assert answer in (back.text or "") and citizen not in str(back.params)


async def test_a_question_to_a_reporter_outside_the_window_waits_and_police_are_told(
        both: Both, clock: FakeClock) -> None:
    code = await invite(both.store, both.services, clock)
    both.telegram.send_text(GROUP, f"/join {code}", user_id=4_401_234, chat_type="group")
    await both.telegram.wait_for_messages(GROUP, 1)
    citizen = new_user_id()
    reporter = OaPerson(both.oa.server, citizen)
    ticket = await file_report(reporter)
    assert await both.delivery.drain() == 1
    [_, card] = await both.telegram.wait_for_messages(GROUP, 2)
    clock.advance(days=8)
    both.oa.server.age(citizen, days=8)

    both.telegram.press_button(GROUP, card.message_id or 0, f"r:ask:{ticket}",
                               user_id=4_401_234, chat_type="group")
    await both.telegram.wait_for_messages(GROUP, 3)
    question = "Có thấy họ quay lại không?"
    both.telegram.send_text(GROUP, f"/ask {question}", user_id=4_401_234, chat_type="group")
    await both.telegram.wait_for_messages(GROUP, 4)
    before = len(reporter.received)
    assert await both.delivery.drain() == 0  # held: Zalo would refuse it, so not tried
    assert len(reporter.received) == before
    assert await both.delivery.drain() == 1  # the notice to the police, queued meanwhile
    told = both.telegram.messages_to(GROUP)[-1]
    assert (told.text or "").startswith("⏳") and ticket in (told.text or "")
    assert citizen not in str(told.params)

    # the reporter writes again: the question reaches them
    await reporter.say("/start")
    assert await both.delivery.drain() == 1
    assert question in reporter.received[-1].text
