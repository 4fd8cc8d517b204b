"""The police side of anonymous reports, on SQLite and PostgreSQL: invites, routing, access
between communes and provinces, status changes, questions, photos, escalation and retention.

Police and reporters talk to the dispatcher exactly as on Telegram; what they receive later
comes out of the outbox through a recording channel.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from bot import cli, logs
from bot.channels.console import ConsoleChannel
from bot.channels.inbound import membership
from bot.conversation.messages import ChatKind, Reply
from bot.errors import Unreachable
from bot.officials.invites import JOIN_ATTEMPTS, invite_hash
from bot.security.privacy import new_ticket_code
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, officers, reports, users
from bot.store.schema import audit_log, report_messages
from scheduler.escalation import Escalation
from scheduler.retention import Retention
from tests.conftest import FakeClock, StoreFactory
from tests.fakes.images import CAMERA, jpeg_with_metadata
from tests.harness import BEN_THANH, TICKET, Chat, RecordingChannel, file_report
from tests.world import World as SharedWorld

CHANNEL = "telegram"
SAI_GON = "phuong sai gon tp hcm"  # 26740, province 79, beside Bến Thành
HOAN_KIEM = "phuong hoan kiem ha noi"  # 00070, province 01
NOT_FOUND = "Không tìm thấy tin báo"
NOT_ALLOWED = "chỉ dành cho công an"


class World(SharedWorld):
    """The shared world with the police side: invites, joins, reports and the audit log."""

    def reporter(self, user_id: str = "987650001") -> Chat:
        return Chat(self.dispatcher, CHANNEL, user_id)

    def police(self, user_id: str, chat_id: str = "", group: bool = False) -> Chat:
        return Chat(self.dispatcher, CHANNEL, user_id, chat_id=chat_id,
                    kind=ChatKind.GROUP if group else ChatKind.PRIVATE)

    def code(self, name: str) -> str:
        return self.services.communes.search(name, limit=1)[0].commune.code

    async def invite(self, role: str, *, commune: str | None = None,
                     province: str | None = None, hours: float = 72) -> str:
        code = new_ticket_code()
        if commune is not None:
            found = self.services.communes.get(commune)
            assert found is not None
            province = found.province_code
        async with self.store.transaction() as conn:
            await officers.create_invite(conn, code_hash=invite_hash(self.services.keyring, code),
                                         role=role, commune_code=commune,
                                         province_code=province,
                                         expires_at=self.clock() + timedelta(hours=hours))
        return code

    async def join(self, chat: Chat, role: str, *, commune: str | None = None,
                   province: str | None = None) -> list[Reply]:
        code = await self.invite(role, commune=commune, province=province)
        return await chat.say(f"/join {code}")

    async def report(self, ticket: str) -> reports.Report:
        async with self.store.transaction() as conn:
            found = await reports.by_ticket(conn, ticket)
        assert found is not None
        return found

    async def audit(self, action: str) -> list[tuple[str, str | None, str | None]]:
        async with self.store.transaction() as conn:
            rows = await conn.execute(select(audit_log.c.actor, audit_log.c.subject,
                                             audit_log.c.detail)
                                      .where(audit_log.c.action == action)
                                      .order_by(audit_log.c.id))
            return [(row.actor, row.subject, row.detail) for row in rows]


async def _world(store: Store, services: Services, clock: FakeClock) -> World:
    return await World.build(store, services, clock)


@pytest.fixture
async def world(store: Store, services: Services, clock: FakeClock) -> World:
    return await _world(store, services, clock)


# --- invites and routing ---------------------------------------------------------------------

async def test_join_in_a_group_links_the_commune_inbox(world: World) -> None:
    group = world.police("7001", chat_id="-100201", group=True)
    replies = await world.join(group, "officer", commune=world.code(BEN_THANH))
    assert "Bến Thành" in replies[-1].text and "Hồ Chí Minh" in replies[-1].text
    async with world.store.transaction() as conn:
        inbox = await officers.of_chat(conn, CHANNEL, "-100201")
    assert inbox is not None and (inbox.role, inbox.commune_code) == ("officer", "26743")
    assert inbox.province_code == "79" and inbox.language == "vi"
    assert [actor for actor, *_ in await world.audit("invite.redeemed")] == [
        f"user:{await _user_id(world, '7001')}"]
    ticket = await file_report(world.reporter())
    telegram = RecordingChannel(CHANNEL)
    await world.delivery(telegram).drain()
    [card] = telegram.texts_to("-100201")
    assert ticket in card and "hẻm 12" in card
    # Any member of the linked group works the group's reports; commands only, as groups allow.
    colleague = world.police("7002", chat_id="-100201", group=True)
    listing = await colleague.say("/reports")
    assert [o.data for o in listing[-1].options] == [f"r:view:{ticket}"]
    assert ticket in (await colleague.press(f"r:view:{ticket}"))[-1].text


async def _user_id(world: World, platform_id: str) -> int:
    async with world.store.transaction() as conn:
        pseudonyms = world.services.pseudonyms
        user = await users.resolve(conn, CHANNEL, pseudonyms.user(CHANNEL, platform_id),
                                   pseudonyms.chat(CHANNEL, platform_id), world.clock())
    return user.id


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The command line on the test's SQLite file and key, without touching global logging."""
    monkeypatch.setenv("PCMT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PCMT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr(logs, "configure", lambda *args, **kwargs: None)
    yield


async def _cli(*argv: str) -> int:
    # main() runs its own event loop, so it gets a thread of its own.
    return await asyncio.to_thread(cli.main, list(argv))


@pytest.mark.usefixtures("cli_env")
async def test_an_unrouted_report_is_listed_for_the_admin_and_delivered_when_an_officer_joins(
        settings: Settings, services: Services, clock: FakeClock,
        capsys: pytest.CaptureFixture[str]) -> None:
    async with await Store.open(settings.database_url) as store:
        world = await _world(store, services, clock)
        ticket = await file_report(world.reporter())
        assert (await world.report(ticket)).routed_level is None

        assert await _cli("admin", "unrouted") == 0
        listed = capsys.readouterr().out
        assert ticket in listed and "Phường Bến Thành" in listed and "79" in listed
        assert "hẻm 12" not in listed and "xe máy" not in listed

        assert await _cli("admin", "invite", "--role", "officer", "--commune", "26743") == 0
        printed = capsys.readouterr().out
        code = TICKET.search(printed)
        assert code and "Bến Thành" in printed and "expires" in printed
        officer = world.police("7101")
        joined = await officer.say(f"/join {code.group().lower().replace('-', ' ')}")
        assert "Bến Thành" in joined[-1].text and "Có 1 tin báo" in joined[-1].text
        telegram = RecordingChannel(CHANNEL)
        await world.delivery(telegram).drain()
        assert any(ticket in text for text in telegram.texts_to("7101"))
        assert (await world.report(ticket)).routed_level == "commune"

        assert await _cli("admin", "unrouted") == 0
        assert ticket not in capsys.readouterr().out


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("argv", [
    ["--role", "officer", "--commune", "99999"],
    ["--role", "supervisor", "--province", "77"],
    ["--role", "officer", "--province", "79"],
    ["--role", "supervisor", "--province", "79", "--commune", "26743"],
    ["--role", "officer", "--commune", "26743", "--hours", "0"],
])
async def test_invites_for_unknown_places_are_refused(argv: list[str],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert await _cli("admin", "invite", *argv) == cli.EXIT_CONFIG
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1


async def test_every_routing_fallback(store: Store, settings: Settings, clock: FakeClock,
                                      tmp_path: Path) -> None:
    telegram = RecordingChannel(CHANNEL)
    # Nobody at all: the report waits, unrouted, and the reporter still has a ticket.
    bare = await _world(store, Services(settings), clock)
    waiting = await file_report(bare.reporter("987650010"), description="Việc thứ nhất")
    assert (await bare.report(waiting)).routed_level is None
    # An admin chat is the last resort; the escalation tick hands it what was waiting.
    with_admin = Settings(_env_file=None, database_url=settings.database_url,
                          data_dir=tmp_path, admin_chat=f"{CHANNEL}:-100999")
    world = await _world(store, Services(with_admin), clock)
    assert await Escalation(store, world.services, clock).tick() == (1, 0)
    first = await file_report(world.reporter("987650011"), description="Việc thứ hai")
    assert (await world.report(waiting)).routed_level == "admin"
    assert (await world.report(first)).routed_level == "admin"
    # The province's supervisors come before the admin chat, and take over what it had.
    await world.join(world.police("7201"), "supervisor", province="79")
    second = await file_report(world.reporter("987650012"), description="Việc thứ ba")
    assert {(await world.report(t)).routed_level for t in (waiting, first, second)} == {
        "province"}
    # The commune's own police come first of all.
    await world.join(world.police("7202"), "officer", commune=world.code(BEN_THANH))
    third = await file_report(world.reporter("987650013"), description="Việc thứ tư")
    assert {(await world.report(t)).routed_level for t in (waiting, first, second, third)} == {
        "commune"}
    await world.delivery(telegram).drain()
    assert _tickets(telegram.texts_to("-100999")) == {waiting, first}
    assert _tickets(telegram.texts_to("7201")) == {waiting, first, second}
    assert _tickets(telegram.texts_to("7202")) == {waiting, first, second, third}


def _tickets(texts: list[str]) -> set[str]:
    return {match.group() for text in texts for match in TICKET.finditer(text)}


async def test_the_tick_routes_waiting_reports_once_an_inbox_exists(world: World) -> None:
    ticket = await file_report(world.reporter())
    tick = Escalation(world.store, world.services, world.clock)
    assert await tick.tick() == (0, 0)
    async with world.store.transaction() as conn:
        await officers.link(conn, channel=CHANNEL, chat_id="-100301", role="officer",
                            commune_code="26743", province_code="79", language="en",
                            now=world.clock())
    assert await tick.tick() == (1, 0)
    assert await tick.tick() == (0, 0)
    telegram = RecordingChannel(CHANNEL)
    await world.delivery(telegram).drain()
    [card] = telegram.texts_to("-100301")
    assert ticket in card and card.startswith("🆕 New report")


# --- access control --------------------------------------------------------------------------

async def test_police_see_and_touch_only_their_own_area(world: World) -> None:
    officer_a, officer_b = world.police("7301"), world.police("7302")
    supervisor_hcm, supervisor_hn = world.police("7303"), world.police("7304")
    await world.join(officer_a, "officer", commune=world.code(BEN_THANH))
    await world.join(officer_b, "officer", commune=world.code(SAI_GON))
    await world.join(supervisor_hcm, "supervisor", province="79")
    await world.join(supervisor_hn, "supervisor", province="01")
    in_b = await file_report(world.reporter(), commune=SAI_GON, photo=jpeg_with_metadata())
    in_a = await file_report(world.reporter("987650002"), description="Ở phường khác")

    forged = [f"r:{verb}:{in_b}" for verb in ("view", "ack", "st", "ask", "note", "ph")]
    forged += [f"r:set:{in_b}:handled", f"r:set:{in_b}:spam"]
    for outsider in (officer_a, supervisor_hn):
        assert NOT_FOUND in (await outsider.say(f"/report {in_b}"))[-1].text
        for data in forged:
            replies = await outsider.press(data)
            assert [NOT_FOUND in reply.text for reply in replies] == [True], data
            assert not any(reply.photos for reply in replies)
        assert not any(in_b in o.data for o in (await outsider.say("/reports"))[-1].options)
    # A tampered or unknown ticket reads exactly like a foreign one.
    foreign = (await officer_a.press(f"r:view:{in_b}"))[-1].text
    for data in ("r:view:ZZZZ-ZZZZ-ZZZZ", "r:view:' OR 1=1 --", "r:ack", "r:view:" + "9" * 500):
        assert (await officer_a.press(data))[-1].text == foreign, data
    report = await world.report(in_b)
    assert report.status == "new" and report.acknowledged_at is None
    async with world.store.transaction() as conn:
        assert await reports.messages(conn, report.id) == []
    denied = await world.audit("report.denied")
    assert {subject for _, subject, _ in denied} == {in_b}
    assert len(denied) == 2 * (1 + len(forged)) + 1

    assert in_b in (await officer_b.say(f"/report {in_b}"))[-1].text
    listed = {o.data for o in (await supervisor_hcm.say("/reports"))[-1].options}
    assert listed == {f"r:view:{in_a}", f"r:view:{in_b}"}
    assert "Sài Gòn" in (await supervisor_hcm.press(f"r:view:{in_b}"))[-1].text
    assert {subject for _, subject, _ in await world.audit("report.view")} == {in_b}


async def test_citizens_get_not_allowed_for_every_police_command_and_button(
        world: World) -> None:
    await world.join(world.police("7401"), "officer", commune=world.code(BEN_THANH))
    citizen = world.reporter()
    ticket = await file_report(citizen)
    attempts = ["/reports", f"/report {ticket}", "/ask Ai đó?", "/note ghi chú"]
    for typed in attempts:
        assert NOT_ALLOWED in (await citizen.say(typed))[-1].text, typed
    for data in ("reports", f"r:view:{ticket}", f"r:ack:{ticket}", f"r:ph:{ticket}",
                 f"r:set:{ticket}:spam"):
        assert NOT_ALLOWED in (await citizen.press(data))[-1].text, data
    # An officer's role does not open an unlinked group to everyone in it.
    stranger_group = world.police("7401", chat_id="-100401", group=True)
    assert NOT_ALLOWED in (await stranger_group.say("/reports"))[-1].text
    assert (await world.report(ticket)).status == "new"


# --- what police do with a report -------------------------------------------------------------

async def test_status_changes_are_audited_relayed_in_the_reporters_language_and_closing_forgets(
        world: World) -> None:
    reporter = world.reporter()
    await reporter.say("/lang en")
    ticket = await file_report(reporter)
    officer = world.police("7501")
    await world.join(officer, "officer", commune=world.code(BEN_THANH))
    acknowledged = await officer.press(f"r:ack:{ticket}")
    assert "Công an đã nhận" in acknowledged[-1].text
    assert not any(o.data.startswith("r:ack") for o in acknowledged[-1].options)
    offered = await officer.press(f"r:st:{ticket}")
    assert [o.data for o in offered[-1].options] == [
        f"r:set:{ticket}:{status}" for status in ("verifying", "handled", "unfounded", "spam")
    ] + [f"r:view:{ticket}"]
    await officer.press(f"r:set:{ticket}:verifying")
    assert "không đổi" in (await officer.press(f"r:ack:{ticket}"))[-1].text
    await officer.press(f"r:set:{ticket}:handled")
    assert "khép lại" in (await officer.press(f"r:set:{ticket}:unfounded"))[-1].text

    report = await world.report(ticket)
    assert report.status == "handled" and report.closed_at is not None
    async with world.store.transaction() as conn:
        assert await reports.handle_of(conn, report.id, world.clock()) is None
        assert await reports.alias_of(conn, report.id) is None
    officer_id = f"user:{await _user_id(world, '7501')}"
    assert await world.audit("report.status") == [
        (officer_id, ticket, "new->acknowledged"), (officer_id, ticket, "acknowledged->verifying"),
        (officer_id, ticket, "verifying->handled")]
    telegram = RecordingChannel(CHANNEL)
    await world.delivery(telegram).drain()
    told = telegram.texts_to("987650001")
    assert [text.split(": ", 1)[1] for text in told] == [
        "Taken up by the police.", "Being verified.", "Dealt with."]
    assert all(ticket in text for text in told)


async def test_spam_slows_the_reporter_down_without_telling_them(world: World) -> None:
    officer, reporter = world.police("7601"), world.reporter()
    await world.join(officer, "officer", commune=world.code(BEN_THANH))
    spam = await file_report(reporter)
    await officer.press(f"r:set:{spam}:spam")
    report = await world.report(spam)
    assert report.status == "spam"
    async with world.store.transaction() as conn:
        assert await reports.handle_of(conn, report.id, world.clock()) is None
        assert await reports.alias_of(conn, report.id) is None
    later = await file_report(reporter, description="Một việc khác hẳn")
    assert "✅" in reporter.last.text
    telegram = RecordingChannel(CHANNEL)
    await world.delivery(telegram).drain()
    assert telegram.texts_to("987650001") == []
    assert later not in " ".join(telegram.texts_to("7601"))
    world.clock.advance(hours=13)
    await world.delivery(telegram).drain()
    assert later in " ".join(telegram.texts_to("7601"))
    # Someone else's reports are not held back.
    other = await file_report(world.reporter("987650003"), description="Người khác báo")
    await world.delivery(telegram).drain()
    assert other in " ".join(telegram.texts_to("7601"))


async def test_questions_reach_the_reporter_and_notes_stay_with_police(world: World) -> None:
    group = world.police("7701", chat_id="-100701", group=True)
    await world.join(group, "officer", commune=world.code(BEN_THANH))
    reporter = world.reporter()
    ticket = await file_report(reporter)
    await group.press(f"r:ask:{ticket}")
    assert "/ask" in group.last.text
    await group.say("/ask Họ thường đến lúc mấy giờ?")
    assert ticket in group.last.text
    await group.press(f"r:note:{ticket}")
    await group.say("/note Đã cử tổ tuần tra")
    private = world.police("7701")
    await private.press(f"r:note:{ticket}")
    await private.say("Xác minh lại vào tối thứ Bảy")
    telegram = RecordingChannel(CHANNEL)
    await world.delivery(telegram).drain()
    [question] = [reply for chat, reply in telegram.sent if chat == "987650001"]
    assert "Họ thường đến lúc mấy giờ?" in question.text and ticket in question.text
    # One tap: the question's own "Answer" button opens the answer step.
    answer, view = question.options
    assert answer.label == "💬 Trả lời" and "“💬 Trả lời”" in question.text
    assert view.data.startswith(f"st:{ticket}")
    await reporter.press(answer.data)
    assert "câu trả lời" in reporter.last.text
    await reporter.say("Khoảng 9 giờ tối")
    await world.delivery(telegram).drain()
    [pushed] = [text for text in telegram.texts_to("-100701") if "Khoảng 9 giờ tối" in text]
    # Pushed and listed with the same word.
    assert pushed.startswith(f"💬 Người báo tin {ticket} trả lời: Khoảng 9 giờ tối")
    card = (await group.press(f"r:view:{ticket}"))[-1].text
    assert "Người báo tin trả lời: Khoảng 9 giờ tối" in card
    for expected in ("Họ thường đến", "Khoảng 9 giờ tối", "Đã cử tổ tuần tra",
                     "Xác minh lại vào tối thứ Bảy"):
        assert expected in card
    async with world.store.transaction() as conn:
        rows = (await conn.execute(select(report_messages.c.kind, report_messages.c.author)
                                   .order_by(report_messages.c.id))).all()
    officer = f"user:{await _user_id(world, '7701')}"
    assert [tuple(row) for row in rows] == [("question", officer), ("note", officer),
                                            ("note", officer), ("answer", None)]
    await world.delivery(telegram).drain()
    assert not any("tuần tra" in text or "thứ Bảy" in text
                   for text in telegram.texts_to("987650001"))
    assert [a for a, *_ in await world.audit("report.question")] == [officer]
    assert len(await world.audit("report.note")) == 2


async def test_asking_when_the_reporter_cannot_be_reached(world: World) -> None:
    officer = world.police("7801")
    await world.join(officer, "officer", commune=world.code(BEN_THANH))
    declined = await file_report(world.reporter(), follow_up=False)
    card = (await officer.press(f"r:view:{declined}"))[-1]
    assert not any(o.data.startswith("r:ask") for o in card.options)
    assert "không nhận câu hỏi" in (await officer.press(f"r:ask:{declined}"))[-1].text
    assert officer.last.text.startswith("Người báo tin")
    # The handle runs out while the officer types; the retention tick then deletes it.
    kept = await file_report(world.reporter("987650004"), description="Báo việc khác")
    world.clock.advance(days=world.services.settings.report_retention_days, minutes=-1)
    await officer.press(f"r:ask:{kept}")
    assert "Gõ câu hỏi" in officer.last.text
    world.clock.advance(minutes=2)
    await officer.say("Còn ai ở đó không?")
    assert "quá thời hạn" in officer.last.text
    assert "Hãy mở một tin báo" in (await officer.say("/ask Còn không?"))[-1].text
    assert await Retention(world.store, world.clock, world.services.settings).tick() == 1
    assert await Retention(world.store, world.clock, world.services.settings).tick() == 0
    assert "quá thời hạn" in (await officer.press(f"r:ask:{kept}"))[-1].text
    async with world.store.transaction() as conn:
        rows = (await conn.execute(select(report_messages.c.kind))).all()
    assert rows == []


async def test_photos_are_shown_clean_and_never_queued(world: World) -> None:
    officer = world.police("7901")
    await world.join(officer, "officer", commune=world.code(BEN_THANH))
    ticket = await file_report(world.reporter(), photo=jpeg_with_metadata())
    assert any(o.data == f"r:ph:{ticket}" for o in
               (await officer.press(f"r:view:{ticket}"))[-1].options)
    [reply] = await officer.press(f"r:ph:{ticket}")
    [photo] = reply.photos
    image = Image.open(io.BytesIO(photo))
    assert image.format == "JPEG" and not image.getexif() and CAMERA.encode() not in photo
    assert "photos" not in reply.to_json() and Reply.from_json(reply.to_json()).photos == ()
    shown = io.StringIO()
    await ConsoleChannel(stdout=shown).send("8401", reply)
    assert re.search(r"\[📷 1/1: \d+ KB\]", shown.getvalue())
    assert [subject for _, subject, _ in await world.audit("report.photos")] == [ticket]
    no_photo = await file_report(world.reporter("987650005"), description="Không kèm ảnh")
    assert "không có ảnh" in (await officer.press(f"r:ph:{no_photo}"))[-1].text


# --- escalation -----------------------------------------------------------------------------

async def test_unacknowledged_reports_are_escalated_once(world: World) -> None:
    officer, supervisor = world.police("8001"), world.police("8002")
    await world.join(officer, "officer", commune=world.code(BEN_THANH))
    await world.join(supervisor, "supervisor", province="79")
    ignored = await file_report(world.reporter())
    taken_up = await file_report(world.reporter("987650006"), description="Đã được nhận")
    await officer.press(f"r:ack:{taken_up}")
    tick = Escalation(world.store, world.services, world.clock)
    world.clock.advance(hours=23)
    assert await tick.tick() == (0, 0)
    world.clock.advance(hours=2)
    assert await tick.tick() == (0, 1)
    assert await tick.tick() == (0, 0)
    world.clock.advance(hours=30)
    assert await tick.tick() == (0, 0)
    assert (await world.report(ignored)).escalated_at is not None
    telegram = RecordingChannel(CHANNEL)
    await world.delivery(telegram).drain()
    reminders = [t for t in telegram.texts_to("8001") if t.startswith("⏰")]
    alerts = [t for t in telegram.texts_to("8002") if t.startswith("⚠️")]
    assert len(reminders) == 1 and ignored in reminders[0] and "24" in reminders[0]
    assert len(alerts) == 1 and ignored in alerts[0] and "Bến Thành" in alerts[0]
    assert not any(taken_up in text for text in reminders + alerts)
    assert not any(t.startswith(("⏰", "⚠️")) for t in telegram.texts_to("987650001"))


async def test_two_replicas_ticking_together_queue_each_notice_once(
        world: World, store_factory: StoreFactory) -> None:
    await world.join(world.police("8101"), "officer", commune=world.code(BEN_THANH))
    await world.join(world.police("8102"), "supervisor", province="79")
    await file_report(world.reporter())
    world.clock.advance(hours=25)
    replicas = [Escalation(await store_factory.open(), world.services, world.clock)
                for _ in range(2)]
    await asyncio.gather(*(replica.tick() for replica in replicas))
    telegram = RecordingChannel(CHANNEL)
    await world.delivery(telegram).drain()
    assert len([t for t in telegram.texts_to("8101") if t.startswith("⏰")]) == 1
    assert len([t for t in telegram.texts_to("8102") if t.startswith("⚠️")]) == 1


# --- invites ---------------------------------------------------------------------------------

async def test_invites_expire_and_work_once(world: World) -> None:
    code = await world.invite("officer", commune=world.code(BEN_THANH), hours=1)
    world.clock.advance(hours=2)
    late = world.police("8201")
    assert "hết hạn" in (await late.say(f"/join {code}"))[-1].text
    async with world.store.transaction() as conn:
        assert await officers.of_chat(conn, CHANNEL, "8201") is None
    code = await world.invite("officer", commune=world.code(BEN_THANH))
    assert "Bến Thành" in (await world.police("8202").say(f"/join {code}"))[-1].text
    second = world.police("8203")
    assert (await second.say(f"/join {code}"))[-1].text == late.last.text
    async with world.store.transaction() as conn:
        assert await officers.of_chat(conn, CHANNEL, "8203") is None
    assert NOT_ALLOWED in (await second.say("/reports"))[-1].text
    assert "/join" in (await second.say("/join"))[-1].text


async def test_join_attempts_are_limited(world: World) -> None:
    guesser = world.police("8301")
    for number in range(JOIN_ATTEMPTS):
        assert "không đúng" in (await guesser.say(f"/join AAAA-BBBB-{number:04d}"))[-1].text
    valid = await world.invite("officer", commune=world.code(BEN_THANH))
    assert "quá nhiều" in (await guesser.say(f"/join {valid}"))[-1].text
    await guesser.say("/cancel")
    assert "quá nhiều" in (await guesser.say(f"/join {valid}"))[-1].text
    # Another person is not affected, and the limit lifts after an hour.
    assert "không đúng" in (await world.police("8302").say("/join AAAA-BBBB-CCCC"))[-1].text
    world.clock.advance(hours=1, minutes=1)
    assert "Bến Thành" in (await guesser.say(f"/join {valid}"))[-1].text
    assert len(await world.audit("invite.failed")) == JOIN_ATTEMPTS + 1


async def test_the_officer_menu_opens_the_report_list(world: World) -> None:
    officer = world.police("8401")
    await world.join(officer, "officer", commune=world.code(BEN_THANH))
    menu = (await officer.say("/start"))[-1]
    assert "reports" in [o.data for o in menu.options]
    assert "không có tin báo" in (await officer.press("reports"))[-1].text
    ticket = await file_report(world.reporter())
    assert (await officer.press("reports"))[-1].options[0].data == f"r:view:{ticket}"


async def test_the_admin_chat_can_act_on_the_cards_it_receives(
        store: Store, settings: Settings, clock: FakeClock, tmp_path: Path) -> None:
    with_admin = Settings(_env_file=None, database_url=settings.database_url,
                          data_dir=tmp_path, admin_chat=f"{CHANNEL}:-100999")
    world = await _world(store, Services(with_admin), clock)
    ticket = await file_report(world.reporter("987650020"))
    admin = world.police("8001", chat_id="-100999", group=True)
    [card] = await admin.press(f"r:view:{ticket}")
    assert ticket in card.text and "công an đã liên kết" not in card.text.lower()
    [acknowledged] = await admin.press(f"r:ack:{ticket}")
    assert (await world.report(ticket)).status == "acknowledged", acknowledged.text
    [listed] = await admin.say("/reports")
    assert any(ticket in option.label for option in listed.options)


@pytest.mark.parametrize(("value", "problem"), [
    ("12345", "channel:chat_id"), ("foo:bar", "'foo' is not configured"),
    ("telegram:-100", "not configured"), ("console:", "channel:chat_id")])
def test_an_admin_chat_that_could_receive_nothing_stops_start_up(
        value: str, problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PCMT_ADMIN_CHAT", value)
    monkeypatch.setenv("PCMT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PCMT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/pcmt.db")
    monkeypatch.delenv("PCMT_TELEGRAM_TOKEN", raising=False)
    for command in ("run", "chat"):
        assert cli.main([command]) == cli.EXIT_CONFIG
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "PCMT_ADMIN_CHAT" in error and problem in error


def test_a_telegram_admin_chat_needs_a_numeric_id(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PCMT_ADMIN_CHAT", "telegram:@police")
    monkeypatch.setenv("PCMT_TELEGRAM_TOKEN", "123:abc")
    assert cli.main(["run"]) == cli.EXIT_CONFIG
    assert "is a number" in capsys.readouterr().err


# --- inboxes that go away --------------------------------------------------------------------

async def _link(world: World, chat_id: str, role: str = "officer") -> None:
    async with world.store.transaction() as conn:
        await officers.link(conn, channel=CHANNEL, chat_id=chat_id, role=role,
                            commune_code="26743" if role == "officer" else None,
                            province_code="79", language="vi", now=world.clock())


async def test_a_police_chat_that_blocked_the_bot_stops_being_an_inbox(world: World) -> None:
    await _link(world, "-100401")
    ticket = await file_report(world.reporter())
    gone = RecordingChannel(CHANNEL, failures=[Unreachable("bot was kicked")])
    await world.delivery(gone).drain()
    assert not gone.sent
    report = await world.report(ticket)
    assert report.routed_level is None, "a card nobody received leaves the report unrouted"
    async with world.store.transaction() as conn:
        assert await officers.of_chat(conn, CHANNEL, "-100401") is None
        assert [r.ticket for r in await reports.awaiting_route(
            conn, commune_code=None, province_code=None)] == [ticket]
    # the next route: the province's supervisors, found by the escalation tick
    await _link(world, "-100402", role="supervisor")
    tick = Escalation(world.store, world.services, world.clock)
    assert await tick.tick() == (1, 0)
    telegram = RecordingChannel(CHANNEL)
    await world.delivery(telegram).drain()
    assert [ticket in text for text in telegram.texts_to("-100402")] == [True]
    assert not telegram.texts_to("-100401")
    assert (await world.report(ticket)).routed_level == "province"


async def test_a_group_that_removed_the_bot_gets_its_waiting_cards_again_if_it_links_again(
        world: World) -> None:
    await _link(world, "-100403")
    ticket = await file_report(world.reporter())
    await membership(world.dispatcher, CHANNEL, "-100403", reachable=False)
    telegram = RecordingChannel(CHANNEL)
    await world.delivery(telegram).drain()
    assert not telegram.sent, "a card queued to a chat that left is dropped"
    assert (await world.report(ticket)).routed_level is None
    await membership(world.dispatcher, CHANNEL, "-100403", reachable=True)
    await _link(world, "-100403")
    tick = Escalation(world.store, world.services, world.clock)
    assert await tick.tick() == (1, 0)
    await world.delivery(telegram).drain()
    assert [ticket in text for text in telegram.texts_to("-100403")] == [True]


async def test_a_card_another_chat_received_keeps_the_report_routed(world: World) -> None:
    await _link(world, "-100404")
    await _link(world, "-100405")
    ticket = await file_report(world.reporter())
    telegram = RecordingChannel(CHANNEL)
    await world.delivery(telegram).drain()
    await membership(world.dispatcher, CHANNEL, "-100404", reachable=False)
    assert (await world.report(ticket)).routed_level == "commune"


async def test_nothing_more_is_planned_for_a_citizen_who_blocked_the_bot(world: World) -> None:
    from bot.reports import relay_to_reporter

    await _link(world, "-100406")
    reporter = world.reporter("987650002")
    ticket = await file_report(reporter)
    await membership(world.dispatcher, CHANNEL, "987650002", reachable=False)
    async with world.store.transaction() as conn:
        report = await reports.by_ticket(conn, ticket)
        assert report is not None
        assert not await relay_to_reporter(conn, report, keyring=world.services.keyring,
                                           text_id="reporter.status_changed", dedupe="s1",
                                           now=world.clock(), status_id="verifying")
    telegram = RecordingChannel(CHANNEL)
    await world.delivery(telegram).drain()
    assert not telegram.texts_to("987650002")
    await reporter.say("/start")  # writing again makes them reachable
    async with world.store.transaction() as conn:
        assert await relay_to_reporter(conn, report, keyring=world.services.keyring,
                                       text_id="reporter.status_changed", dedupe="s2",
                                       now=world.clock(), status_id="verifying")
    await world.delivery(telegram).drain()
    assert telegram.texts_to("987650002")
