"""The citizen's side of anonymous reports, on SQLite and PostgreSQL.

The leak test runs whole report flows and then searches every table, every message police
receive and every log line for the reporter's platform id.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import threading
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from bot.conversation.dispatch import Dispatcher
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, officers, reports
from bot.store.schema import metadata
from handlers import routers
from scheduler.delivery import Delivery
from tests.conftest import FakeClock, StoreFactory
from tests.fakes.images import CAMERA, COMMENT, jpeg_with_metadata
from tests.harness import BEN_THANH, TICKET, Chat, RecordingChannel, draft_to_photos, file_report
from tests.world import World

REPORTER_ID = "987650001"


@pytest.fixture
def dispatcher(store: Store, services: Services, clock: FakeClock) -> Dispatcher:
    return Dispatcher(store, services, routers(), clock=clock)


def reporter(dispatcher: Dispatcher, user_id: str = REPORTER_ID) -> Chat:
    return Chat(dispatcher, "telegram", user_id)


async def link_police(store: Store, services: Services, clock: FakeClock,
                      commune_name: str = BEN_THANH) -> str:
    commune = services.communes.search(commune_name, limit=1)[0].commune
    async with store.transaction() as conn:
        await officers.link(conn, channel="police", chat_id="inbox-1", role="officer",
                            commune_code=commune.code, province_code=commune.province_code,
                            language="vi", now=clock())
    return commune.code


def delivery(store: Store, services: Services, clock: FakeClock,
             *channels: RecordingChannel) -> Delivery:
    return Delivery(store, {c.name: c for c in channels}, services.settings, clock,
                    services.keyring)


async def test_a_complete_report_takes_eight_steps_and_reaches_the_commune(
        store: Store, services: Services, dispatcher: Dispatcher, clock: FakeClock) -> None:
    await link_police(store, services, clock)
    chat = reporter(dispatcher)
    ticket = await file_report(chat)
    assert chat.steps <= 8
    police = RecordingChannel("police")
    await delivery(store, services, clock, police).drain()
    [card] = police.texts_to("inbox-1")
    assert ticket in card and "Bến Thành" in card and "hẻm 12" in card
    assert not re.search(r"\d{1,2}:\d{2}", card), "police see a part of day, not a time"


async def test_nothing_identifies_the_reporter_anywhere(
        store: Store, services: Services, dispatcher: Dispatcher, clock: FakeClock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await link_police(store, services, clock)
    chat = reporter(dispatcher)
    ticket = await file_report(chat, photo=jpeg_with_metadata())
    await chat.say(f"/status {ticket} {chat.passphrase}")
    await chat.press(chat.option(f"st:{ticket}:info"))
    await chat.say("Thêm: xe máy màu đỏ")
    police = RecordingChannel("police")
    await delivery(store, services, clock, police).drain()
    assert police.sent
    for _chat, reply in police.sent:
        assert REPORTER_ID not in reply.text
        assert not any(REPORTER_ID in option.data for option in reply.options)
    async with store.transaction() as conn:
        for table in metadata.sorted_tables:
            for row in await conn.execute(select(table)):
                for value in row:
                    as_text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    assert REPORTER_ID not in as_text, f"{table.name} holds the reporter id"
                    assert "xe máy màu đỏ" not in as_text, f"{table.name} holds plain text"
    assert REPORTER_ID not in caplog.text
    assert "hẻm 12" not in caplog.text


async def test_photo_metadata_is_gone_before_anyone_sees_the_photo(
        store: Store, services: Services, dispatcher: Dispatcher) -> None:
    ticket = await file_report(reporter(dispatcher), photo=jpeg_with_metadata())
    async with store.transaction() as conn:
        report = await reports.by_ticket(conn, ticket)
        assert report is not None
        [sealed] = await reports.attachments(conn, report.id)
    clean = services.keyring.open(sealed, purpose="content", associated=ticket.encode())
    image = Image.open(io.BytesIO(clean))
    assert image.format == "JPEG" and image.size == (64, 48)
    assert not image.getexif() and "comment" not in image.info
    for marker in (CAMERA.encode(), COMMENT, b"Exif", b"GPS"):
        assert marker not in clean


async def test_police_questions_reach_the_reporter_and_answers_come_back(
        store: Store, services: Services, dispatcher: Dispatcher, clock: FakeClock) -> None:
    from bot.reports import relay_to_reporter, seal_text

    await link_police(store, services, clock)
    chat = reporter(dispatcher)
    ticket = await file_report(chat)
    async with store.transaction() as conn:
        report = await reports.by_ticket(conn, ticket)
        assert report is not None
        await reports.add_message(conn, report.id, kind="question", author="user:1",
                                  body=seal_text(services.keyring, ticket, "Mấy giờ thì họ đến?"),
                                  now=clock())
        assert await relay_to_reporter(conn, report, keyring=services.keyring,
                                       text_id="status.question", dedupe="q1", now=clock(),
                                       question="Mấy giờ thì họ đến?")
    telegram, police = RecordingChannel("telegram"), RecordingChannel("police")
    await delivery(store, services, clock, telegram, police).drain()
    [(chat_id, notice)] = telegram.sent
    assert chat_id == REPORTER_ID and "Mấy giờ" in notice.text
    status = await chat.press(notice.options[0].data)
    assert "Mấy giờ thì họ đến?" in status[-1].text
    await chat.press(chat.option(f"st:{ticket}:answer"))
    await chat.say("Khoảng 9 giờ tối")
    await delivery(store, services, clock, telegram, police).drain()
    assert any("Khoảng 9 giờ tối" in text for text in police.texts_to("inbox-1"))
    async with store.transaction() as conn:
        question = (await reports.messages(conn, report.id))[0]
    assert question.answered


async def test_no_handle_is_kept_when_the_reporter_declines_follow_up(
        store: Store, dispatcher: Dispatcher, clock: FakeClock) -> None:
    ticket = await file_report(reporter(dispatcher), follow_up=False)
    async with store.transaction() as conn:
        report = await reports.by_ticket(conn, ticket)
        assert report is not None and not report.follow_up
        assert await reports.handle_of(conn, report.id, clock()) is None


async def test_a_report_continues_after_a_restart_mid_flow(
        store_factory: StoreFactory, services: Services, clock: FakeClock) -> None:
    first = Chat(Dispatcher(await store_factory.open(), services, routers(), clock=clock),
                 "telegram", REPORTER_ID)
    await first.press("report")
    await first.press("rp:cat:gathering")
    await first.say(BEN_THANH)
    commune = first.option("rp:com:")
    restarted = Chat(Dispatcher(await store_factory.open(), Services(services.settings),
                                routers(), clock=clock), "telegram", REPORTER_ID)
    await restarted.press(commune)
    await restarted.say("Nhà số 5")
    await restarted.say("Tụ tập buổi tối")
    await restarted.press("rp:fu:no")
    assert "Nhà số 5" in restarted.last.text and "Bến Thành" in restarted.last.text
    assert TICKET.search((await restarted.press("rp:send"))[-1].text)


async def test_edit_from_the_summary_returns_to_the_summary(dispatcher: Dispatcher) -> None:
    chat = reporter(dispatcher)
    await chat.press("report")
    await chat.press("rp:cat:online")
    await chat.say(BEN_THANH)
    await chat.press(chat.option("rp:com:"))
    await chat.say("Trang mạng xã hội")
    await chat.say("Rao bán kẹo lạ")
    await chat.press("rp:fu:no")
    await chat.press("rp:edit")
    await chat.press("rp:edit:description")
    await chat.say("Rao bán kẹo và nước vui")
    assert "nước vui" in chat.last.text and any(o.data == "rp:send" for o in chat.last.options)


async def test_identical_text_the_same_day_is_folded_into_the_first(
        dispatcher: Dispatcher) -> None:
    chat = reporter(dispatcher)
    first = await file_report(chat)
    await chat.press("report")
    await chat.press("rp:cat:dealing")
    await chat.say(BEN_THANH)
    await chat.press(chat.option("rp:com:"))
    await chat.say("Quán nước đầu hẻm 12, tối thứ Sáu khoảng 9 giờ")
    await chat.say("Hai người đi xe máy giao gói nhỏ")
    await chat.press("rp:fu:no")
    replies = await chat.press("rp:send")
    assert first in replies[-1].text


async def test_daily_limit_per_reporter(dispatcher: Dispatcher, settings: Settings,
                                        clock: FakeClock) -> None:
    chat = reporter(dispatcher)
    for number in range(settings.reports_per_day):
        await file_report(chat, description=f"Sự việc số {number}")
    # told when a report starts, before anything is typed, not at "Send"
    replies = await chat.press("report")
    assert "ngày mai" in replies[-1].text and chat.option("report")
    clock.advance(days=1)
    await file_report(chat, description="Hôm sau lại thấy")
    await file_report(reporter(dispatcher, "555000111"), description="Người khác báo tin")


async def test_bad_input_at_every_step_gets_a_clear_answer(dispatcher: Dispatcher) -> None:
    chat = reporter(dispatcher)
    await chat.press("report")
    await chat.say("không chọn nút")
    assert "nút" in chat.last.text
    await chat.press("rp:cat:weapons")
    assert "nút" in chat.last.text
    await chat.press("rp:cat:dealing")
    await chat.say("xyzzy qwvbn")
    assert any(o.data == "rp:provs" for o in chat.last.options)
    await chat.press("rp:com:99999999")
    assert "nút" in chat.last.text
    await chat.say("🙂🙂🙂")
    await chat.say(BEN_THANH)
    await chat.press(chat.option("rp:com:"))
    await chat.say("x" * 10_000)
    assert "ký tự" in chat.last.text
    await chat.say("Ngõ 3")
    await chat.say("<b>Mua bán</b> & *giao hàng*")
    await chat.send_file(b"%PDF-1.4 not an image", kind="document")
    assert "không phải ảnh" in chat.last.text
    await chat.send_file(jpeg_with_metadata()[:200])
    assert "không phải ảnh" in chat.last.text
    await chat.press("rp:send")
    assert "nút" in chat.last.text
    await chat.press("rp:fu:no")
    assert "<b>Mua bán</b> & *giao hàng*" in chat.last.text
    assert TICKET.search((await chat.press("rp:send"))[-1].text)


async def test_status_with_a_wrong_or_malformed_ticket(dispatcher: Dispatcher) -> None:
    chat = reporter(dispatcher)
    for typed in ("/status AAAA-BBBB-CCCC", "/status ' OR 1=1 --", "/status " + "9" * 5000):
        await chat.say(typed)
        assert "Không tìm thấy" in chat.last.text
    await chat.press("st:ZZZZ-ZZZZ-ZZZZ")
    assert "Không tìm thấy" in chat.last.text
    await chat.press("st:ZZZZ-ZZZZ-ZZZZ:answer:0123456789abcdef")
    assert "Không tìm thấy" in chat.last.text


async def test_status_accepts_the_ticket_typed_loosely(dispatcher: Dispatcher) -> None:
    chat = reporter(dispatcher)
    ticket = await file_report(chat)
    await chat.press("status")
    await chat.say(ticket.lower().replace("-", " "))
    assert ticket in chat.last.text and "Mới tiếp nhận" in chat.last.text


async def test_an_unrouted_report_waits_and_the_reporter_still_gets_a_ticket(
        store: Store, dispatcher: Dispatcher, clock: FakeClock) -> None:
    ticket = await file_report(reporter(dispatcher))
    async with store.transaction() as conn:
        report = await reports.by_ticket(conn, ticket)
        assert report is not None and report.routed_level is None
        waiting = await reports.awaiting_route(conn, commune_code=None, province_code=None)
    assert [r.ticket for r in waiting] == [ticket]


async def test_spam_marked_reporters_are_slowed_silently(
        store: Store, services: Services, dispatcher: Dispatcher, clock: FakeClock) -> None:
    await link_police(store, services, clock)
    chat = reporter(dispatcher)
    ticket = await file_report(chat)
    async with store.transaction() as conn:
        report = await reports.by_ticket(conn, ticket)
        assert report is not None
        alias = await reports.alias_of(conn, report.id)
        assert alias is not None
        await reports.slow_down(conn, alias, clock() + timedelta(days=7))
    later = await file_report(chat, description="Một việc khác")
    assert "✅" in chat.last.text
    police = RecordingChannel("police")
    await delivery(store, services, clock, police).drain()
    assert not any(later in text for text in police.texts_to("inbox-1"))
    clock.advance(hours=13)
    await delivery(store, services, clock, police).drain()
    assert any(later in text for text in police.texts_to("inbox-1"))


async def test_a_console_reporter_gets_police_questions_and_others_do_not(
        store: Store, services: Services, clock: FakeClock) -> None:
    from bot.channels.console import ConsoleChannel
    from bot.reports import relay_to_reporter

    console_dispatcher = Dispatcher(store, services, routers(), clock=clock)
    ticket = await file_report(Chat(console_dispatcher, "console", "a1"))
    async with store.transaction() as conn:
        report = await reports.by_ticket(conn, ticket)
        assert report is not None
        await relay_to_reporter(conn, report, keyring=services.keyring,
                                text_id="status.question", dedupe="q", now=clock(),
                                question="Có mấy người?")
    for user, expected in (("b2", 0), ("a1", 1)):
        out = io.StringIO()
        console = ConsoleChannel(user, stdin=io.StringIO(), stdout=out)
        assert await delivery(store, services, clock, console).drain() == expected
        assert ("Có mấy người?" in out.getvalue()) == bool(expected)


async def test_a_photo_being_decoded_holds_up_nobody_else(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoding runs before the message's transaction: on SQLite that transaction holds the
    write lock every other person's message waits for."""
    from bot.conversation import middlewares

    decoding, release = threading.Event(), threading.Event()
    real = middlewares.sanitize_image

    def slow(data: bytes, **limits: int) -> bytes:
        decoding.set()
        release.wait(timeout=10)
        return real(data, **limits)

    monkeypatch.setattr(middlewares, "sanitize_image", slow)
    sender = world.citizen("photo-sender")
    await draft_to_photos(sender)
    upload = asyncio.create_task(sender.send_file(jpeg_with_metadata()))
    await asyncio.to_thread(decoding.wait, 10)
    try:
        other = await asyncio.wait_for(world.citizen("someone-else").say("/start"), timeout=3)
    finally:
        release.set()
    assert other, "the other person got no answer while the photo was decoded"
    assert "1/5" in (await upload)[-1].text


async def test_a_file_that_is_no_picture_is_refused_and_the_draft_goes_on(
        world: World) -> None:
    sender = world.citizen("photo-sender")
    await draft_to_photos(sender)
    refused = await sender.send_file(b"%PDF-1.4 not a picture", kind="document")
    assert refused[-1].text.startswith("Tệp này không phải ảnh")
    await sender.press("rp:fu:yes")
    sent = await sender.press("rp:send")
    assert TICKET.search(sent[-1].text)
