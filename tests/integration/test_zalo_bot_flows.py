"""Whole conversations on Zalo, end to end: the channel's own aiohttp client polling the fake
Zalo Bot API, a SQLite store and the project's handlers. Zalo has no buttons, so every choice
is a typed number, as people use it.

A citizen asks in Vietnamese with and without diacritics and in English, files a report with
a photo, which reaches a police group on Telegram (both channels in one process, as
``pcmt-bot run`` runs them); the officer's question comes back to the reporter on Zalo without
any identity. A police officer linked in a private Zalo chat works a report by numbers.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot.channels.telegram import TelegramChannel
from bot.channels.zalo_bot import CHANNEL, ZaloBotChannel
from bot.conversation.dispatch import Dispatcher
from bot.officials.invites import invite_hash
from bot.security.privacy import new_ticket_code
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, communes, officers, outbox, reports
from handlers import routers
from scheduler.delivery import Delivery
from tests.conftest import FakeClock
from tests.fakes.images import CAMERA, SERIAL, jpeg_with_metadata
from tests.fakes.telegram_api import FakeTelegramServer
from tests.fakes.zalo_bot_api import FakeZaloBotServer, SentRecord
from tests.harness import BEN_THANH, TICKET, debug_logging
from tests.integration import _telegram
from tests.integration._zalo_bot import TOKEN, RunningZalo, ZaloPerson, options, running_zalo

CITIZEN = "5f0c2a9e7b31d48e6a17"  # Zalo ids are 20 hexadecimal characters
CITIZEN_NAME = "Quỳnh Zyxwvu"
OFFICER = "9a1b2c3d4e5f60718293"
GROUP = -4_200_777
WHERE = "Quán nước đầu hẻm 12, tối thứ Sáu khoảng 9 giờ"
DESCRIPTION = "Hai người đi xe máy giao gói nhỏ cho khách"
BEN_THANH_CODE = "26743"


@pytest.fixture
async def bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[RunningZalo]:
    async with running_zalo(tmp_path, clock) as running:
        yield running


async def invite(store: Store, services: Services, clock: FakeClock) -> str:
    commune = services.communes.get(BEN_THANH_CODE)
    assert commune is not None
    code = new_ticket_code()
    async with store.transaction() as conn:
        await officers.create_invite(conn, code_hash=invite_hash(services.keyring, code),
                                     role="officer", commune_code=commune.code,
                                     province_code=commune.province_code,
                                     expires_at=clock() + timedelta(hours=72))
    return code


async def file_report(person: ZaloPerson, *, photo: bytes | None = None,
                      description: str = DESCRIPTION, summary_parts: int = 1) -> str:
    """A complete anonymous report, typed number by number; returns the ticket."""
    await person.say("/start")
    await person.choose("Gửi tin báo")
    await person.choose("Mua bán ma túy")
    await person.say(BEN_THANH)
    await person.choose("Phường Bến Thành")
    await person.say(WHERE)
    [ask_photos] = await person.say(description)
    assert options(ask_photos)
    if photo is not None:
        [received] = await person.send_photo(photo)
        assert "1/5" in (received.text or "")
    summary = every_text(await person.choose("Đồng ý nhận câu hỏi", summary_parts))
    assert "Bến Thành" in summary and WHERE in summary
    [sent] = await person.choose("Gửi")
    found = TICKET.search(sent.text or "")
    assert found and (sent.text or "").startswith("✅"), sent.text
    return found.group()


async def no_pending(store: Store) -> None:
    async with store.transaction() as conn:
        assert (await outbox.counts(conn)).get("pending", 0) == 0


def every_text(records: list[SentRecord]) -> str:
    return "\n".join(record.text or "" for record in records)


# --- a citizen on Zalo -------------------------------------------------------------------------

@pytest.mark.parametrize(("question", "expected"), [
    ("Ma túy đá là gì?", "ma túy đá"),
    ("ma tuy da la gi", "ma túy đá"),
    ("What is crystal meth?", "meth"),
])
async def test_questions_are_answered_however_they_are_typed(
        bot: RunningZalo, question: str, expected: str) -> None:
    person = ZaloPerson(bot.server, CITIZEN)
    if question.startswith("What"):
        await person.say("/lang en")
    [answer, *_] = await person.say(question)
    assert expected in (answer.text or "").lower(), answer.text
    assert all(len(record.text or "") <= 2000 for record in person.received)
    await no_pending(bot.store)


async def test_the_faq_menu_is_browsed_by_numbers(bot: RunningZalo) -> None:
    person = ZaloPerson(bot.server, CITIZEN)
    await person.say("/start")
    [topics] = await person.choose("Hỏi đáp")
    assert len(options(topics)) >= 2
    [first, *_] = await person.say("1")
    assert first.text
    [wrong] = await person.say("99")
    assert "99" in (wrong.text or "")  # "there is no option 99"


async def test_a_report_by_numbers_with_a_photo_and_its_status(bot: RunningZalo) -> None:
    person = ZaloPerson(bot.server, CITIZEN)
    jpeg = jpeg_with_metadata()
    ticket = await file_report(person, photo=jpeg)
    async with bot.store.transaction() as conn:
        report = await reports.by_ticket(conn, ticket)
        assert report is not None
        [sealed] = await reports.attachments(conn, report.id)
    photo = bot.channel.services.keyring.open(sealed, purpose="content",
                                             associated=ticket.encode())
    image = Image.open(io.BytesIO(photo))  # downloaded from Zalo's link, then sanitised
    assert image.format == "JPEG" and not image.getexif()
    assert CAMERA.encode() not in photo and SERIAL.encode() not in photo
    [status] = await person.say(f"/status {ticket.lower()}")
    assert ticket in (status.text or "")


async def test_a_photo_zalo_can_no_longer_serve_is_asked_for_again(bot: RunningZalo) -> None:
    person = ZaloPerson(bot.server, CITIZEN)
    await person.say("/start")
    await person.choose("Gửi tin báo")
    await person.choose("Mua bán ma túy")
    await person.say(BEN_THANH)
    await person.choose("Phường Bến Thành")
    await person.say(WHERE)
    await person.say(DESCRIPTION)
    url = bot.server.photo_url(jpeg_with_metadata())
    bot.server.expire_photos()
    before = len(person.received)
    bot.server.queue_raw({"event_name": "message.image.received", "message": {
        "message_id": "c" * 20, "date": 1, "from": {"id": CITIZEN, "display_name": "Lan"},
        "chat": {"id": CITIZEN, "chat_type": "PRIVATE"}, "photo": url}})
    [again] = (await bot.server.wait_for_messages(CITIZEN, before + 1))[before:]
    assert "0/5" not in (again.text or "") and "1/5" not in (again.text or "")
    assert options(again)  # the flow goes on: consent can still be given


# --- Zalo and Telegram in one process ----------------------------------------------------------

@dataclass
class Both:
    zalo: FakeZaloBotServer
    telegram: FakeTelegramServer
    store: Store
    delivery: Delivery
    services: Services
    clock: FakeClock


@pytest.fixture
async def both(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Both]:
    async with AsyncExitStack() as stack:
        zalo = await stack.enter_async_context(FakeZaloBotServer(TOKEN))
        telegram = await stack.enter_async_context(
            FakeTelegramServer(_telegram.TOKEN, _telegram.USERNAME, rate_limits=None))
        settings = Settings(
            _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/pcmt.db",
            data_dir=tmp_path, zalo_bot_token=TOKEN, zalo_bot_base_url=zalo.base_url,
            telegram_token=_telegram.TOKEN, telegram_base_url=telegram.base_url,
            telegram_base_file_url=telegram.base_file_url)
        store = await Store.open(settings.database_url)
        stack.push_async_callback(store.close)
        services = Services(settings)
        async with store.transaction() as conn:
            await communes.sync(conn, *services.commune_list)
        dispatcher = Dispatcher(store, services, routers(), clock=clock)
        channels = {"telegram": TelegramChannel(dispatcher), CHANNEL: ZaloBotChannel(dispatcher)}
        for channel in channels.values():
            dispatcher.register_channel(channel.name, channel.capabilities)
            await stack.enter_async_context(channel)
        yield Both(zalo, telegram, store,
                   Delivery(store, channels, settings, clock, services.keyring), services,
                   clock)


async def test_a_zalo_report_reaches_police_on_telegram_and_their_question_comes_back(
        both: Both) -> None:
    code = await invite(both.store, both.services, both.clock)
    both.telegram.send_text(GROUP, f"/join {code}", user_id=4_401_234, chat_type="group")
    await both.telegram.wait_for_messages(GROUP, 1)

    reporter = ZaloPerson(both.zalo, CITIZEN, CITIZEN_NAME)
    ticket = await file_report(reporter, photo=jpeg_with_metadata())
    assert await both.delivery.drain() == 1
    [_, card] = await both.telegram.wait_for_messages(GROUP, 2)
    assert ticket in (card.text or "") and DESCRIPTION in (card.text or "")
    for secret in (CITIZEN, CITIZEN_NAME):
        assert secret not in str(card.params), secret

    question = "Họ thường đến lúc mấy giờ?"
    both.telegram.press_button(GROUP, card.message_id or 0, f"r:ask:{ticket}",
                               user_id=4_401_234, chat_type="group")
    await both.telegram.wait_for_messages(GROUP, 3)
    both.telegram.send_text(GROUP, f"/ask {question}", user_id=4_401_234, chat_type="group")
    await both.telegram.wait_for_messages(GROUP, 4)
    assert await both.delivery.drain() == 1
    relayed = reporter.last
    assert question in (relayed.text or "") and ticket in (relayed.text or "")
    assert str(GROUP) not in (relayed.text or "") and "4401234" not in (relayed.text or "")
    [ask_answer] = await reporter.choose("💬 Trả lời")  # one number, and the answer is typed
    assert "câu trả lời" in (ask_answer.text or "")
    answer = "Khoảng 9 giờ tối"
    await reporter.say(answer)
    assert await both.delivery.drain() == 1
    back = both.telegram.messages_to(GROUP)[-1]
    assert answer in (back.text or "") and CITIZEN not in str(back.params)


async def test_an_officer_linked_on_zalo_works_a_report_by_numbers(both: Both) -> None:
    police = ZaloPerson(both.zalo, OFFICER, "Thiếu tá Phong")
    code = await invite(both.store, both.services, both.clock)
    [joined] = await police.say(f"/join {code}")
    assert "Bến Thành" in (joined.text or "")

    reporter = ZaloPerson(both.zalo, CITIZEN, CITIZEN_NAME)
    long = " ".join([DESCRIPTION + "."] * 44)  # the card is longer than 2,000 characters
    ticket = await file_report(reporter, photo=jpeg_with_metadata(), description=long,
                               summary_parts=2)
    assert await both.delivery.drain() == 1
    card = police.received[1:]
    assert len(card) >= 2 and all(len(part.text or "") <= 2000 for part in card)
    assert ticket in every_text(card) and CITIZEN not in every_text(card)
    # The options close the last part, numbered after the ones the officer saw already.
    assert options(card[-1])["✅ Xác nhận đã nhận"] == "2"

    [photos] = await police.choose("Xem ảnh")
    assert ticket in (photos.text or "") and "📷 1" in (photos.text or "")  # described, not sent
    assert not [record for record in both.zalo.sent if record.method == "sendPhoto"]
    await police.say(f"/report {ticket}", count=2)  # the card again, in two parts
    [acknowledged] = await police.choose("Xác nhận đã nhận")
    assert ticket in (acknowledged.text or "")
    async with both.store.transaction() as conn:
        report = await reports.by_ticket(conn, ticket)
    assert report is not None and report.status == "acknowledged"
    assert await both.delivery.drain() == 1  # the reporter is told
    assert ticket in (reporter.last.text or "")
    await no_pending(both.store)


# --- privacy -----------------------------------------------------------------------------------

@pytest.fixture
def debug_log(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[str]]]:
    with debug_logging(capsys, secrets=[TOKEN]) as read:
        yield read


async def test_no_log_line_at_debug_carries_the_zalo_user_or_the_report(
        bot: RunningZalo, debug_log: Callable[[], list[str]]) -> None:
    reporter = ZaloPerson(bot.server, CITIZEN, CITIZEN_NAME)
    await file_report(reporter, photo=jpeg_with_metadata(artist=CITIZEN_NAME))
    bot.server.send_sticker(CITIZEN)
    bot.server.queue_raw({"event_name": "message.text.received", "message": "broken"})
    await bot.server.wait_for_messages(CITIZEN, len(reporter.received) + 1)
    lines = debug_log()
    assert any("dispatch.handled" in line for line in lines)  # the lines were read
    for line in lines:
        for secret in (CITIZEN, CITIZEN_NAME, WHERE, DESCRIPTION, "hẻm 12", SERIAL, CAMERA,
                       TOKEN, TOKEN.split(":")[1], "/photos/"):
            assert secret not in line, (secret, line)


async def test_check_ins_by_code_on_zalo(bot: RunningZalo) -> None:
    from datetime import date

    from bot.checkins.enrolment import Enrolee, enrol
    from handlers.checkin import CHECKIN
    from scheduler.checkins import CheckinTick

    services = bot.channel.services
    async with bot.store.transaction() as conn:
        code = await enrol(conn, services.keyring, bot.settings, Enrolee(
            "Anh Tư", BEN_THANH_CODE, "79", "post_rehab_1y", date(2026, 11, 20),
            date(2027, 11, 19), "daily", "09:00", "vi"), bot.clock())
    person = ZaloPerson(bot.server, CITIZEN)
    [consent] = await person.say(code)
    assert "không phải giám sát điện tử" in (consent.text or "")
    [welcome] = await person.choose("Đồng ý")
    assert "Lần hỏi thăm đầu tiên" in (welcome.text or "")
    bot.clock.advance(days=1)
    await CheckinTick(bot.store, services, CHECKIN, bot.clock).tick()
    await bot.delivery().drain()
    assert "Hôm nay bạn thấy thế nào?" in (person.last.text or "")
    [craving] = await person.choose("Khá tốt")
    assert "thèm" in (craving.text or "")
