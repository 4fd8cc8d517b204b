"""Whole conversations through Telegram, end to end: python-telegram-bot's real HTTP stack in
long-polling mode against the fake Bot API server, a SQLite store and the project's handlers.

A police unit links its group with an invite code, a citizen files an anonymous report by
tapping the bot's buttons and typing as on a phone, the card reaches the group through the
outbox, and questions and answers travel between them. Every test also checks that Telegram's
sending limits were never exceeded, that every button press was answered and that nothing was
left undelivered.

The budgets a chat allows (one message a second) would make a conversation of a dozen steps
take a dozen seconds of waiting. Here the fake server and the channel's sending budgets share
one virtual monotonic clock that moves on when a budget makes a sender wait, so the same
limits are kept, and checked by the server, without the wall-clock wait.

Webhook mode is not repeated here: ``test_telegram_webhook.py`` already takes ``/start``
through the registered webhook.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image

from bot.channels.telegram import Budgets
from bot.officials.invites import invite_hash
from bot.security.privacy import new_ticket_code
from bot.store import communes, officers, reports
from tests.conftest import FakeClock
from tests.fakes.images import CAMERA, COMMENT, LATITUDE, LONGITUDE, SERIAL, jpeg_with_metadata
from tests.fakes.telegram_api import FakeTelegramServer, SentRecord
from tests.harness import BEN_THANH, PASSPHRASE, TICKET, debug_logging, passphrase_in
from tests.integration._telegram import TOKEN, USERNAME, Running, running_bot
from tests.integration.test_telegram_polling import assert_clean

GROUP = -4_200_777  # a police unit's basic group: type "group", negative id
GROUP_TITLE = f"Nhóm {abs(GROUP) % 10_000}"  # the title the fake server gives it
OFFICER, OFFICER_NAME, OFFICER_USERNAME = 4_401_234, "Thiếu tá Phong", "phong_ca_benthanh"
COLLEAGUE = 4_401_235
# A citizen whose Telegram identity is easy to spot anywhere it might leak to.
CITIZEN, CITIZEN_NAME, CITIZEN_USERNAME = 7_319_462_058, "Quỳnh Zyxwvu", "qzyx_reporter_5521"
BEN_THANH_CODE = "26743"  # province 79
WHERE = "Quán nước đầu hẻm 12, tối thứ Sáu khoảng 9 giờ"
DESCRIPTION = "Hai người đi xe máy giao gói nhỏ cho khách"


class VirtualTime:
    """A monotonic clock that moves only when a sending budget makes someone wait."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@pytest.fixture
async def bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Running]:
    """The bot as deployed: polling, with the official commune list in its store."""
    time = VirtualTime()
    async with FakeTelegramServer(TOKEN, USERNAME, clock=time) as server, running_bot(
            tmp_path, clock, server=server,
            limiter=Budgets().limiter(time, time.sleep)) as running:
        async with running.store.transaction() as conn:
            await communes.sync(conn, *running.channel.services.commune_list)
        yield running


# --- people at their phones --------------------------------------------------------------------

def buttons(record: SentRecord) -> list[str]:
    markup = record.reply_markup or {}
    return [button["callback_data"] for row in markup.get("inline_keyboard", [])
            for button in row]


def visible(record: SentRecord) -> str:
    """What the person sees of a message: its text or caption after HTML parsing."""
    message = record.message or {}
    return str(message.get("text", message.get("caption", "")))


@dataclass
class Person:
    """Someone in one Telegram chat: each step queues an update at the fake server and waits
    for the messages the bot sends back to that chat."""

    bot: Running
    chat_id: int
    user_id: int
    first_name: str
    username: str | None = None
    chat_type: str = "private"
    pressed: list[str] = field(default_factory=list)

    @property
    def received(self) -> list[SentRecord]:
        return self.bot.server.messages_to(self.chat_id)

    @property
    def last(self) -> SentRecord:
        return self.received[-1]

    async def _answered(self, act: Callable[[], dict[str, Any]],
                        count: int) -> list[SentRecord]:
        before = len(self.received)
        update = act()
        sender = (update.get("message") or update["callback_query"])["from"]
        assert (sender["id"], sender["first_name"]) == (self.user_id, self.first_name)
        assert sender.get("username") == self.username
        await self.bot.server.wait_for_messages(self.chat_id, before + count)
        return self.received[before:]

    def _who(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "chat_type": self.chat_type,
                "first_name": self.first_name, "username": self.username}

    async def say(self, text: str, count: int = 1) -> list[SentRecord]:
        return await self._answered(
            lambda: self.bot.server.send_text(self.chat_id, text, **self._who()), count)

    async def press(self, message: SentRecord, data: str, count: int = 1) -> list[SentRecord]:
        """Tap the button carrying ``data`` on ``message`` (it must be there)."""
        assert data in buttons(message), (data, buttons(message))
        assert message.message_id is not None

        def tap() -> dict[str, Any]:
            update = self.bot.server.press_button(self.chat_id, message.message_id or 0, data,
                                                  **self._who())
            self.pressed.append(update["callback_query"]["id"])
            return update

        return await self._answered(tap, count)

    async def send_photo(self, jpeg: bytes, count: int = 1) -> list[SentRecord]:
        return await self._answered(
            lambda: self.bot.server.send_photo(self.chat_id, jpeg, **self._who()), count)


def citizen(bot: Running) -> Person:
    return Person(bot, CITIZEN, CITIZEN, CITIZEN_NAME, CITIZEN_USERNAME)


def officer(bot: Running, user_id: int = OFFICER, name: str = OFFICER_NAME,
            username: str | None = OFFICER_USERNAME) -> Person:
    return Person(bot, GROUP, user_id, name, username, chat_type="group")


async def invite(bot: Running, commune_code: str = BEN_THANH_CODE) -> str:
    """A fresh officer invite for a commune, stored as ``pcmt-bot admin invite`` stores it."""
    services = bot.channel.services
    commune = services.communes.get(commune_code)
    assert commune is not None
    code = new_ticket_code()
    async with bot.store.transaction() as conn:
        await officers.create_invite(conn, code_hash=invite_hash(services.keyring, code),
                                     role="officer", commune_code=commune.code,
                                     province_code=commune.province_code,
                                     expires_at=bot.clock() + timedelta(hours=72))
    return code


async def link_group(bot: Running) -> Person:
    police = officer(bot)
    [joined] = await police.say(f"/join {await invite(bot)}")
    assert "Bến Thành" in visible(joined) and "Hồ Chí Minh" in visible(joined)
    return police


async def file_report(person: Person, photo: bytes | None = None) -> str:
    """A complete anonymous report, tap by tap and line by line; returns the ticket."""
    [menu] = await person.say("/start")
    [categories] = await person.press(menu, "report")
    [ask_commune] = await person.press(categories, "rp:cat:dealing")
    assert "rp:provs" in buttons(ask_commune)
    [candidates] = await person.say(BEN_THANH)
    [ask_where] = await person.press(candidates, f"rp:com:{BEN_THANH_CODE}")
    [ask_description] = await person.say(WHERE)
    # Typed, not tapped: the only buttons go back a step or cancel.
    assert buttons(ask_where) == ["rp:back:commune", "rp:cancel"]
    assert buttons(ask_description) == ["rp:back:where", "rp:cancel"]
    [ask_photos] = await person.say(DESCRIPTION)
    follow_up = ask_photos
    if photo is not None:
        [follow_up] = await person.send_photo(photo)
        assert "1/5" in visible(follow_up)
    [summary] = await person.press(follow_up, "rp:fu:yes")
    assert "Bến Thành" in visible(summary) and WHERE in visible(summary)
    assert f"Ảnh: {1 if photo is not None else 0}" in visible(summary)
    [sent] = await person.press(summary, "rp:send")
    found = TICKET.search(visible(sent))
    assert found and visible(sent).startswith("✅"), visible(sent)
    return found.group()


async def deliver(bot: Running, count: int) -> None:
    """One run of the outbox delivery, as the scheduler does it."""
    assert await bot.delivery().drain() == count


def everything_sent_to(bot: Running, chat_id: int) -> tuple[str, list[bytes]]:
    """Every request the bot made to this chat (sends, edits, ...) as text, plus the files."""
    texts: list[str] = []
    files: list[bytes] = []
    for record in bot.server.sent:
        if record.chat_id != chat_id:
            continue
        files += [value for value in record.params.values() if isinstance(value, bytes)]
        params = {name: value for name, value in record.params.items()
                  if not isinstance(value, bytes)}
        texts.append(json.dumps([record.method, params, record.message], ensure_ascii=False,
                                default=str))
    return "\n".join(texts), files


async def all_clean(bot: Running, *people: Person) -> None:
    server = bot.server
    answered = {str(answer["callback_query_id"]) for answer in server.answered_callbacks}
    for person in people:
        assert set(person.pressed) <= answered, "a button press was left spinning"
    assert not [call for call in server.calls if call[1] >= 400], server.calls
    await assert_clean(bot)


# --- the tests -----------------------------------------------------------------------------------

async def test_join_in_a_telegram_group_links_it_as_the_communes_inbox(bot: Running) -> None:
    police = officer(bot)
    code = await invite(bot)
    [joined] = await police.say(f"/join {code}")
    assert joined.chat_id == GROUP and joined.method == "sendMessage"
    assert visible(joined).startswith("✅")
    assert "Phường Bến Thành" in visible(joined) and "Hồ Chí Minh" in visible(joined)
    assert buttons(joined) == ["reports"]
    async with bot.store.transaction() as conn:
        inbox = await officers.of_chat(conn, "telegram", str(GROUP))
    assert inbox is not None
    assert (inbox.role, inbox.commune_code, inbox.province_code) == (
        "officer", BEN_THANH_CODE, "79")
    # Any member of the linked group works its reports; the list is empty so far.
    colleague = officer(bot, COLLEAGUE, "Đại úy Minh", None)
    [listing] = await colleague.press(joined, "reports")
    assert "Bến Thành" in visible(listing) and "không có tin báo" in visible(listing)
    # The code worked once: the same code in another group links nothing.
    other = Person(bot, GROUP - 1, OFFICER + 9, "Người lạ", chat_type="group")
    [refused] = await other.say(f"/join {code}")
    assert "không đúng" in visible(refused)
    async with bot.store.transaction() as conn:
        assert await officers.of_chat(conn, "telegram", str(GROUP - 1)) is None
    await all_clean(bot, police, colleague, other)


async def test_a_report_through_telegram_reaches_the_group_and_is_acknowledged(
        bot: Running) -> None:
    police = await link_group(bot)
    reporter = citizen(bot)
    jpeg = jpeg_with_metadata()
    assert Image.open(io.BytesIO(jpeg)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it has GPS
    ticket = await file_report(reporter, photo=jpeg)
    assert ("getFile", 200) in bot.server.calls  # the photo came down from Telegram's servers

    await deliver(bot, 1)
    card = police.last
    assert TICKET.search(visible(card)) and ticket in visible(card)
    for expected in ("Bến Thành", "hẻm 12", DESCRIPTION, "Ảnh kèm theo: 1", "Mới tiếp nhận"):
        assert expected in visible(card), expected
    assert buttons(card) == [f"r:{verb}:{ticket}" for verb in ("ack", "ask", "st", "note", "ph")]

    # The photo police can open carries nothing of the phone's metadata.
    heading, photo = await police.press(card, f"r:ph:{ticket}", count=2)
    assert ticket in visible(heading)
    assert photo.method == "sendPhoto" and photo.chat_id == GROUP
    data = photo.params["photo"]
    assert isinstance(data, bytes)
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (64, 48)
    exif = image.getexif()
    assert not exif and not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert "comment" not in image.info
    for marker in (b"Exif", b"GPS", CAMERA.encode(), COMMENT):
        assert marker not in data

    [acknowledged] = await police.press(card, f"r:ack:{ticket}")
    assert ticket in visible(acknowledged) and "Công an đã nhận" in visible(acknowledged)
    assert f"r:ack:{ticket}" not in buttons(acknowledged)
    async with bot.store.transaction() as conn:
        report = await reports.by_ticket(conn, ticket)
    assert report is not None and report.status == "acknowledged"

    await deliver(bot, 1)  # the reporter is told, through the sealed reply handle
    told = reporter.last
    assert ticket in visible(told) and "Công an đã nhận" in visible(told)
    [status] = await reporter.press(told, buttons(told)[0])
    assert ticket in visible(status) and "Công an đã nhận" in visible(status)
    passphrase = next(passphrase_in(visible(record)) for record in reporter.received
                      if PASSPHRASE.search(visible(record)))
    [typed] = await reporter.say(f"/status {ticket.lower()} {passphrase}")
    assert visible(typed) == visible(status)
    await all_clean(bot, police, reporter)


async def test_questions_and_answers_are_relayed_without_identities(bot: Running) -> None:
    police = await link_group(bot)
    reporter = citizen(bot)
    ticket = await file_report(reporter)
    await deliver(bot, 1)
    card = police.last

    question = "Họ thường đến lúc mấy giờ, đi xe gì?"
    [prompt] = await police.press(card, f"r:ask:{ticket}")
    assert "/ask" in visible(prompt) and ticket in visible(prompt)
    [asked] = await police.say(f"/ask {question}")
    assert ticket in visible(asked) and buttons(asked) == [f"r:view:{ticket}"]

    await deliver(bot, 1)
    relayed = reporter.last
    assert relayed.method == "sendMessage"
    assert question in visible(relayed) and ticket in visible(relayed)
    # The bot's own buttons: answer at once, or view the report.
    answer_button, view = buttons(relayed)
    assert answer_button.startswith(f"st:{ticket}:answer:") and view.startswith(f"st:{ticket}::")
    assert next(b["text"] for row in (relayed.reply_markup or {})["inline_keyboard"]
                for b in row) == "💬 Trả lời"
    # Nothing the citizen's chat received says which chat or person asked.
    to_citizen, files = everything_sent_to(bot, CITIZEN)
    assert not files
    for secret in (str(GROUP), str(abs(GROUP)), GROUP_TITLE, str(OFFICER), OFFICER_NAME,
                   OFFICER_USERNAME):
        assert secret not in to_citizen, secret

    [ask_answer] = await reporter.press(relayed, answer_button)  # one tap
    assert "câu trả lời" in visible(ask_answer)
    assert not buttons(ask_answer)  # the answer is typed
    answer = "Khoảng 9 giờ tối, hai xe máy màu đỏ"
    [thanked] = await reporter.say(answer)
    assert "công an" in visible(thanked).lower()

    await deliver(bot, 1)
    back = police.last
    assert answer in visible(back) and ticket in visible(back)
    assert buttons(back) == [f"r:view:{ticket}"]
    [thread] = await police.press(back, f"r:view:{ticket}")
    assert question in visible(thread) and answer in visible(thread)
    async with bot.store.transaction() as conn:
        report = await reports.by_ticket(conn, ticket)
        assert report is not None
        [asked_row, answered_row] = await reports.messages(conn, report.id)
    assert (asked_row.kind, asked_row.answered, answered_row.kind) == (
        "question", True, "answer")

    # Not one request to the group carries who the citizen is on Telegram.
    to_group, photos = everything_sent_to(bot, GROUP)
    assert ticket in to_group and answer in to_group
    for secret in (str(CITIZEN), CITIZEN_NAME, CITIZEN_USERNAME):
        assert secret not in to_group, secret
        assert not any(secret.encode() in photo for photo in photos), secret
    await all_clean(bot, police, reporter)


@pytest.fixture
def debug_log(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[str]]]:
    """``PCMT_LOG_LEVEL=DEBUG`` as ``pcmt-bot run`` configures it; yields a reader of every
    line written so far, and puts the logging set-up back afterwards."""
    with debug_logging(capsys, secrets=[TOKEN]) as read:
        yield read


async def test_no_log_line_at_debug_carries_anything_of_the_reporter_or_the_report(
        bot: Running, debug_log: Callable[[], list[str]]) -> None:
    police = await link_group(bot)
    reporter = citizen(bot)
    ticket = await file_report(reporter, photo=jpeg_with_metadata(artist=CITIZEN_NAME))
    await deliver(bot, 1)
    await police.press(police.last, f"r:ph:{ticket}", count=2)
    lines = debug_log()
    assert logging.getLogger().isEnabledFor(logging.DEBUG)
    assert any("dispatch.handled" in line for line in lines)  # the lines were read
    secrets = [str(CITIZEN), CITIZEN_NAME, CITIZEN_USERNAME, WHERE, DESCRIPTION, "hẻm 12",
               SERIAL, CAMERA, TOKEN,
               *(f"{value:g}" for value in (*LATITUDE, *LONGITUDE) if value % 1)]
    for line in lines:
        for secret in secrets:
            assert secret not in line, (secret, line)
