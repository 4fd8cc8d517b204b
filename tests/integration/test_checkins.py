"""Check-ins end to end on SQLite and PostgreSQL with a fake clock: enrolment, the code and
consent, the scheduled check-in, risk alerts, misses, pausing, the end of the period."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from bot.channels.console import CAPABILITIES as CONSOLE
from bot.checkins.enrolment import Enrolee, enrol, read_csv
from bot.checkins.schedule import Schedule
from bot.clock import VIETNAM
from bot.store import officers
from bot.store.schema import checkins as checkins_table
from bot.store.schema import enrolments as enrolments_table
from scheduler.checkins import CheckinTick
from tests.conftest import FakeClock
from tests.harness import BEN_THANH, TICKET, Chat, RecordingChannel
from tests.world import World

POLICE = "-100777"
NAME = "Anh Tư"  # synthetic


@pytest.fixture
def clock() -> FakeClock:
    # Monday 7 Dec 2026, 08:00 in Vietnam
    return FakeClock(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))


def _person(**changes: object) -> Enrolee:
    values: dict[str, object] = dict(
        name=NAME, commune_code="26743", province_code="79", kind="post_rehab_1y",
        starts_on=date(2026, 12, 7), ends_on=date(2027, 12, 6), cadence="weekly",
        local_time="09:00", language="vi")
    values.update(changes)
    return Enrolee(**values)  # type: ignore[arg-type]


class Setup:
    def __init__(self, world: World) -> None:
        self.world = world
        self.tick = CheckinTick(world.store, world.services,
                                world.dispatcher.routes.flows["checkin"], world.clock)
        self.telegram = RecordingChannel("telegram")

    async def enrol(self, **changes: object) -> str:
        async with self.world.store.transaction() as conn:
            await officers.link(conn, channel="telegram", chat_id=POLICE, role="officer",
                                commune_code="26743", province_code="79", language="vi",
                                now=self.world.clock())
            return await enrol(conn, self.world.services.keyring, self.world.services.settings,
                               _person(**changes), self.world.clock())

    async def linked(self, **changes: object) -> Chat:
        code = await self.enrol(**changes)
        person = self.world.citizen("555001")
        await person.say(f"/start {code}")
        assert "không phải giám sát điện tử" in person.last.text
        await person.press(person.option("ci:agree:yes"))
        assert "Lần hỏi thăm đầu tiên" in person.last.text
        return person

    async def deliver(self) -> None:
        await self.world.delivery(self.telegram).drain()

    def to_police(self) -> list[str]:
        return self.telegram.texts_to(POLICE)

    def to_person(self) -> list[str]:
        return self.telegram.texts_to("555001")

    async def at(self, **delta: float) -> None:
        """Move the clock on, run the calendar and deliver."""
        self.world.clock.advance(**delta)
        await self.tick.tick()
        await self.deliver()


@pytest.fixture
def setup(world: World) -> Setup:
    return Setup(world)


async def _answer(person: Chat, *, mood: int = 4, craving: int = 0, support: str = "no",
                  note: str | None = None) -> None:
    await person.press(f"ci:mood:{mood}")
    await person.press(f"ci:craving:{craving}")
    await person.press("ci:sleep:good")
    await person.press(f"ci:support:{support}")
    if note is None:
        await person.press("ci:note")
    else:
        await person.say(note)


async def test_a_person_links_consents_and_answers_a_weekly_check_in(setup: Setup) -> None:
    person = await setup.linked()
    await setup.deliver()
    assert any("đã đồng ý" in text and NAME in text for text in setup.to_police())
    await setup.at(hours=1, minutes=30)  # 09:30 local: the first slot has come
    assert setup.to_person()[-1] == "Hôm nay bạn thấy thế nào?"
    await _answer(person)
    assert person.last.text.startswith("Cảm ơn bạn đã trả lời")
    async with setup.world.store.transaction() as conn:
        [row] = (await conn.execute(select(checkins_table))).all()
    assert row.status == "answered" and b"mood" not in row.answers  # sealed
    await setup.at(days=1)
    assert setup.to_person().count("Hôm nay bạn thấy thế nào?") == 1, "none before next week"
    await setup.at(days=6)
    assert setup.to_person().count("Hôm nay bạn thấy thế nào?") == 2


async def test_a_risky_answer_alerts_the_officers_and_the_person_gets_the_safety_message(
        setup: Setup) -> None:
    person = await setup.linked()
    await setup.at(hours=1, minutes=30)
    await _answer(person, craving=9)
    assert "115" in person.last.text and "113" in person.last.text
    await setup.deliver()
    [alert] = [text for text in setup.to_police() if text.startswith("🚨")]
    assert NAME in alert and "Mức thèm cao" in alert and "9/10" in alert
    [(_chat, card)] = [(c, r) for c, r in setup.telegram.sent if r.text.startswith("🚨")]
    officer = setup.world.citizen("7001")
    officer.chat_id = POLICE
    await officer.press(card.options[0].data)
    assert "Đã ghi nhận" in officer.last.text
    stranger = setup.world.citizen("8888")
    await stranger.press(card.options[0].data)
    assert "chỉ dành cho công an" in stranger.last.text


@pytest.mark.parametrize(("answers", "reason"), [
    ({"mood": 1}, "Tâm trạng rất xấu"),
    ({"support": "yes"}, "Cần hỗ trợ ngay"),
    ({"note": "dạo này em chỉ muốn chết thôi"}, "tự làm hại"),
])
async def test_each_risk_rule_alerts(setup: Setup, answers: dict[str, object],
                                     reason: str) -> None:
    person = await setup.linked()
    await setup.at(hours=1, minutes=30)
    await _answer(person, **answers)  # type: ignore[arg-type]
    await setup.deliver()
    assert any(reason in text for text in setup.to_police() if text.startswith("🚨"))


async def test_help_at_any_time_alerts_the_officers(setup: Setup) -> None:
    person = await setup.linked()
    await person.say("Tôi cần giúp đỡ")
    assert "115" in person.last.text
    await setup.deliver()
    assert any("vừa yêu cầu giúp đỡ" in text for text in setup.to_police())


async def test_two_missed_check_ins_alert_and_a_reminder_comes_first(setup: Setup) -> None:
    await setup.linked()
    await setup.at(hours=1, minutes=30)  # first check-in sent
    await setup.at(hours=25)  # no answer for a day: one gentle reminder
    assert "chưa thấy trả lời" in setup.to_person()[-1]
    await setup.at(days=6)  # the second slot: the first is missed
    assert not [text for text in setup.to_police() if text.startswith("🚨")]
    await setup.at(days=7)  # the third: two missed in a row
    [alert] = [text for text in setup.to_police() if text.startswith("🚨")]
    assert "hai lần hỏi thăm liên tiếp" in alert


async def test_a_check_in_waits_while_the_person_writes_a_report(setup: Setup) -> None:
    person = await setup.linked()
    await setup.at(minutes=50)
    await person.press("report")
    await person.press("rp:cat:dealing")
    await person.say(BEN_THANH)
    await setup.at(minutes=15)  # the slot has come while the draft is open
    assert "Hôm nay bạn thấy thế nào?" not in setup.to_person()
    assert person.last.options, "the draft goes on: the commune choices are still there"
    await person.say("/cancel")
    await setup.at(minutes=1)
    assert setup.to_person()[-1] == "Hôm nay bạn thấy thế nào?"


async def test_stop_pauses_and_the_menu_resumes(setup: Setup) -> None:
    person = await setup.linked()
    await person.say("/stop")
    await setup.at(days=8)
    assert "Hôm nay bạn thấy thế nào?" not in setup.to_person()
    assert any("tạm dừng" in text for text in setup.to_police())
    await person.press("checkin")
    assert "Lần hỏi thăm tới" in person.last.text


async def test_the_period_ends_with_a_word_to_both(setup: Setup) -> None:
    person = await setup.linked(kind="custom", ends_on=date(2026, 12, 8), cadence="daily")
    await setup.at(hours=1, minutes=30)
    await _answer(person)
    await setup.at(days=1)
    async with setup.world.store.transaction() as conn:
        [row] = (await conn.execute(select(enrolments_table.c.status))).all()
    assert row.status == "ended"
    assert any("đã kết thúc" in text for text in setup.to_person())
    assert any("đã kết thúc" in text for text in setup.to_police())


async def test_declining_tells_the_officer_and_nothing_is_scheduled(setup: Setup) -> None:
    code = await setup.enrol()
    person = setup.world.citizen("555001")
    await person.say(code.lower())  # the code typed as text works too
    await person.press("ci:agree:no")
    await setup.at(days=8)
    assert not setup.to_person()
    assert any("không đồng ý" in text for text in setup.to_police())
    await person.say(f"/start {code}")
    assert "không phải giám sát" not in person.last.text, "a code works once"


async def test_two_schedulers_plan_each_slot_once(setup: Setup) -> None:
    await setup.linked()
    second = CheckinTick(setup.world.store, setup.world.services,
                         setup.world.dispatcher.routes.flows["checkin"], setup.world.clock)
    setup.world.clock.advance(hours=1, minutes=30)
    await setup.tick.tick()
    await second.tick()
    async with setup.world.store.transaction() as conn:
        assert len((await conn.execute(select(checkins_table))).all()) == 1
    await setup.deliver()
    assert setup.to_person().count("Hôm nay bạn thấy thế nào?") == 1


async def test_a_person_who_blocked_the_bot_is_not_chased(setup: Setup) -> None:
    from bot.channels.inbound import membership

    await setup.linked()
    await membership(setup.world.dispatcher, "telegram", "555001", reachable=False)
    await setup.at(hours=1, minutes=30)
    assert not [text for text in setup.to_person() if "thấy thế nào" in text]
    assert any("đã chặn bot" in text for text in setup.to_police())


def test_bad_csv_rows_are_reported_with_their_line(world: World) -> None:
    text = ("name,commune,type,start,cadence,time,language\n"
            "Chị Ba,26743,post_rehab_2y,2026-12-01,weekly,08:30,vi\n"
            "Anh Năm,99999,post_rehab_1y,2026-12-01,weekly,08:30,vi\n"
            "Cô Sáu,26743,forever,2026-12-01,weekly,08:30,vi\n"
            "Chú Bảy,26743,custom,2026-12-01,daily,25:00,vi\n"
            "Em Tám,26743,user_1y,01/12/2026,weekly,08:30,fr\n")
    good, bad = read_csv(text, world.services.communes)
    assert [line for line, _person in good] == [2]
    assert good[0][1].ends_on == date(2028, 11, 30)
    assert [(row.line, row.reason.split()[0]) for row in bad] == [
        (3, "unknown"), (4, "type"), (5, "end"), (6, "start")]
    _good, missing = read_csv("name,commune\nA,26743\n", world.services.communes)
    assert missing[0].line == 1 and "type" in missing[0].reason


@pytest.mark.parametrize(("cadence", "at", "expected"), [
    ("weekly", time(9), ["2026-12-07 09:00", "2026-12-14 09:00", "2026-12-21 09:00"]),
    ("twice_weekly", time(9), ["2026-12-07 09:00", "2026-12-10 09:00", "2026-12-14 09:00"]),
    ("daily", time(22, 30), ["2026-12-08 07:00", "2026-12-09 07:00", "2026-12-10 07:00"]),
])
def test_cadences_and_quiet_hours(cadence: str, at: time, expected: list[str]) -> None:
    schedule = Schedule(date(2026, 12, 7), date(2027, 12, 6), cadence, at)
    moment = datetime(2026, 12, 7, 0, 0, tzinfo=VIETNAM)
    slots = []
    for _ in expected:
        found = schedule.next_slot(moment)
        assert found is not None
        slots.append(found.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M"))
        moment = found
    assert slots == expected


def test_slots_cross_month_ends_and_tet() -> None:
    # weekly from Friday 29 Jan 2027: through February and Tết (6 Feb 2027) without a gap
    schedule = Schedule(date(2027, 1, 29), date(2027, 3, 31), "weekly", time(8))
    moment = datetime(2027, 1, 28, tzinfo=VIETNAM)
    days = []
    while (found := schedule.next_slot(moment)) is not None and len(days) < 5:
        days.append(found.date().isoformat())
        moment = found
    assert days == ["2027-01-29", "2027-02-05", "2027-02-12", "2027-02-19", "2027-02-26"]
    assert schedule.next_slot(datetime(2027, 3, 31, 9, tzinfo=VIETNAM)) is None


async def test_enrolment_names_and_answers_are_sealed(setup: Setup) -> None:
    person = await setup.linked()
    await setup.at(hours=1, minutes=30)
    await _answer(person, note="ngủ không ngon")
    async with setup.world.store.transaction() as conn:
        for table in (enrolments_table, checkins_table):
            for row in await conn.execute(select(table)):
                for value in row:
                    shown = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    assert NAME not in shown and "ngủ không ngon" not in shown


async def test_in_the_console_an_officer_enrols_and_the_person_checks_in(world: World) -> None:
    """The whole loop on the numbered console: /enroll, the code, consent, a check-in with a
    risky answer, and the officer's alert."""
    async with world.store.transaction() as conn:
        await officers.link(conn, channel="console", chat_id="officer-1", role="officer",
                            commune_code="26743", province_code="79", language="vi",
                            now=world.clock())
    officer = world.console("officer-1")
    await officer.say("/enroll")
    await officer.say("Anh Tư")
    await officer.say("1")  # post-rehab, 1 year
    await officer.say("1")  # starts today
    await officer.say("1")  # weekly
    await officer.say("09:00")
    await officer.say("1")  # Vietnamese
    code = TICKET.search(officer.last.text)
    assert code, officer.last.text
    person = world.console("person-1")
    await person.say(code.group())
    await person.say("1")  # I agree
    assert "Lần hỏi thăm đầu tiên" in person.last.text
    tick = CheckinTick(world.store, world.services, world.dispatcher.routes.flows["checkin"],
                       world.clock)
    console = RecordingChannel("console", capabilities=CONSOLE)
    world.clock.advance(hours=1, minutes=30)
    await tick.tick()
    await world.delivery(console).drain()
    [prompt] = [reply for chat, reply in console.sent if chat == "person-1"][-1:]
    assert prompt.text.startswith("Hôm nay")
    # a pushed menu counts on from the one on screen: its first option may not be 1
    await person.say(str(prompt.first_number + 1))  # mood 2
    for answer in ("4", "1", "2", "1"):  # craving very strong, sleep good, no support, skip
        await person.say(answer)
    assert "115" in person.last.text
    await world.delivery(console).drain()
    alerts = [reply.text for chat, reply in console.sent
              if chat == "officer-1" and reply.text.startswith("🚨")]
    assert alerts and "Anh Tư" in alerts[0]


async def test_no_log_line_holds_a_name_or_an_answer(
        setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    person = await setup.linked()
    await setup.at(hours=1, minutes=30)
    await _answer(person, craving=9, note="ngủ không ngon mấy hôm")
    await setup.deliver()
    assert setup.to_police()
    for secret in (NAME, "ngủ không ngon", "555001", "9/10"):
        assert secret not in caplog.text, secret


async def test_people_lists_the_communes_enrolled_and_is_audited(setup: Setup) -> None:
    from bot.store.schema import audit_log

    await setup.linked()
    async with setup.world.store.transaction() as conn:
        await officers.link(conn, channel="telegram", chat_id="7002", role="officer",
                            commune_code="26743", province_code="79", language="vi",
                            now=setup.world.clock())
    officer = setup.world.citizen("7002")
    await officer.say("/people")
    assert NAME in officer.last.text and "đang nhận" in officer.last.text
    citizen = setup.world.citizen("8889")
    await citizen.say("/people")
    assert NAME not in citizen.last.text
    async with setup.world.store.transaction() as conn:
        actions = [row.action for row in await conn.execute(select(audit_log.c.action))]
    assert "enrolment.list" in actions
