"""Appointments end to end on SQLite and PostgreSQL with a fake clock: an officer records one
in chat or from a CSV file, the person is reminded the day before and two hours before (never
at night) and answers, the case officer hears "I can't come" and records afterwards whether
the person came."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.console import CAPABILITIES as CONSOLE
from bot.checkins import appointment_csv
from bot.checkins.appointments import DAY_BEFORE, DONE, OFFICER, SOON, next_stage
from bot.checkins.enrolment import enrol
from bot.clock import VIETNAM
from bot.store import officers
from bot.store.schema import appointments as appointments_table
from bot.store.schema import audit_log
from scheduler.appointments import AppointmentTick
from tests.conftest import FakeClock
from tests.harness import TICKET, Chat, RecordingChannel
from tests.integration.test_checkins import NAME, POLICE, Setup, _person
from tests.world import World

OFFICER_CHAT = "7002"
PERSON = "555001"


@pytest.fixture
def clock() -> FakeClock:
    # Monday 7 Dec 2026, 08:00 in Vietnam
    return FakeClock(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))


class Appointments(Setup):
    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.appointments = AppointmentTick(world.store, world.services, world.clock)

    async def at(self, **delta: float) -> None:
        self.world.clock.advance(**delta)
        await self.tick.tick()
        await self.appointments.tick()
        await self.deliver()

    async def officer(self) -> Chat:
        """An officer whose private chat is linked to the commune."""
        async with self.world.store.transaction() as conn:
            await officers.link(conn, channel="telegram", chat_id=OFFICER_CHAT, role="officer",
                                commune_code="26743", province_code="79", language="vi",
                                now=self.world.clock())
        return self.world.citizen(OFFICER_CHAT)

    async def enrolled_by(self, officer: Chat) -> Chat:
        """The person enrolled with ``/enroll`` from the officer's private chat, linked and
        consenting."""
        await officer.say("/enroll")
        await officer.say(NAME)
        await officer.press("en:kind:post_rehab_1y")
        await officer.press(officer.option("en:start:"))
        await officer.press("en:cadence:weekly")
        await officer.press("en:time:09.00")
        await officer.press("en:language:vi")
        code = TICKET.search(officer.last.text)
        assert code, officer.last.text
        person = self.world.citizen(PERSON)
        await person.say(f"/start {code.group()}")
        await person.press("ci:agree:yes")
        return person

    async def record(self, officer: Chat, day: str = "09/12/2026", at: str = "10:00") -> int:
        await officer.say("/appointment")
        await officer.press(officer.option("am:person:"))
        await officer.press("am:kind:methadone")
        await officer.say(day)
        await officer.say(at)
        await officer.say("Trạm y tế phường")
        assert "Đã ghi lịch hẹn" in officer.last.text, officer.last.text
        async with self.world.store.transaction() as conn:
            return int((await conn.execute(select(appointments_table.c.id)
                                           .order_by(appointments_table.c.id.desc()))).first()[0])

    def texts(self, chat: str, words: str) -> list[str]:
        return [text for text in self.telegram.texts_to(chat) if words in text]


@pytest.fixture
def setup(world: World) -> Appointments:
    return Appointments(world)


async def test_reminders_an_answer_and_the_case_officers_mark(setup: Appointments) -> None:
    officer = await setup.officer()
    person = await setup.enrolled_by(officer)
    appointment = await setup.record(officer)
    await setup.at(days=1, hours=1, minutes=59)  # 8 Dec 09:59: not yet a day before
    assert not setup.texts(PERSON, "lịch hẹn")
    await setup.at(minutes=2)  # 8 Dec 10:01
    [reminder] = [reply for chat, reply in setup.telegram.sent
                  if chat == PERSON and "ngày mai bạn có lịch hẹn" in reply.text]
    assert "Điều trị methadone: 10:00 09/12/2026" in reminder.text
    assert "Trạm y tế phường" in reminder.text
    assert [option.label for option in reminder.options] == ["Tôi sẽ đến", "Tôi không đến được"]
    await person.press(reminder.options[1].data)
    assert "Cán bộ phụ trách sẽ liên hệ" in person.last.text
    await setup.deliver()
    assert setup.texts(OFFICER_CHAT, "báo không đến được")
    assert not setup.texts(POLICE, "báo không đến được"), "only the case officer"
    await setup.at(hours=22)  # 9 Dec 08:01: they said they cannot come, no second reminder
    assert not setup.texts(PERSON, "sắp đến giờ hẹn")
    await setup.at(hours=4, minutes=58)  # 9 Dec 12:59
    assert not setup.texts(OFFICER_CHAT, "có đến lịch hẹn không")
    await setup.at(minutes=2)  # 9 Dec 13:01, three hours after
    [question] = [reply for chat, reply in setup.telegram.sent
                  if chat == OFFICER_CHAT and "có đến lịch hẹn không" in reply.text]
    assert [option.label for option in question.options] == ["Đã đến", "Không đến"]
    assert "Người này đã báo: không đến được" in question.text
    stranger = setup.world.citizen("8888")
    await stranger.press(question.options[0].data)
    assert "chỉ dành cho công an" in stranger.last.text
    await officer.press(question.options[1].data)
    assert f"{NAME} không đến" in officer.last.text
    async with setup.world.store.transaction() as conn:
        row = (await conn.execute(select(appointments_table))).one()
        actions = [r.action for r in await conn.execute(select(audit_log.c.action))]
    assert (row.id, row.status, row.stage, row.next_at) == (appointment, "absent", DONE, None)
    assert "appointment.created" in actions and "appointment.attendance" in actions
    await setup.at(days=2)
    assert len(setup.texts(OFFICER_CHAT, "có đến lịch hẹn không")) == 1, "asked once"


async def test_i_will_come_and_the_two_hour_reminder(setup: Appointments) -> None:
    officer = await setup.officer()
    person = await setup.enrolled_by(officer)
    appointment = await setup.record(officer)
    await setup.at(days=1, hours=2, minutes=1)  # 8 Dec 10:01: a day before
    await setup.at(hours=22)  # 9 Dec 08:01: two hours before
    assert len(setup.texts(PERSON, "ngày mai bạn có lịch hẹn")) == 1
    assert len(setup.texts(PERSON, "sắp đến giờ hẹn")) == 1
    await person.press(f"ap:{appointment}:coming")
    assert "hẹn gặp bạn" in person.last.text
    await setup.deliver()
    assert not setup.texts(OFFICER_CHAT, "không đến được")
    another = setup.world.citizen("555002")
    await another.press(f"ap:{appointment}:cannot")
    assert "đã cũ" in another.last.text, "not their appointment"
    async with setup.world.store.transaction() as conn:
            assert (await conn.execute(select(appointments_table.c.status))).scalar_one() == \
            "coming"
    await setup.at(hours=2)  # the appointment has begun: too late to answer
    await person.press(f"ap:{appointment}:cannot")
    assert "đã qua" in person.last.text


async def test_without_a_linked_case_officer_the_commune_hears(setup: Appointments) -> None:
    person = await setup.linked()  # enrolled by the import: no case officer's chat
    officer = await setup.officer()
    appointment = await setup.record(officer, day="08/12/2026", at="15:00")
    await person.press(f"ap:{appointment}:cannot")
    await setup.deliver()
    assert setup.texts(POLICE, "báo không đến được")
    assert setup.texts(OFFICER_CHAT, "báo không đến được"), "every inbox of the commune"


async def test_a_time_that_has_passed_is_asked_again(setup: Appointments) -> None:
    officer = await setup.officer()
    await setup.enrolled_by(officer)
    await officer.say("/appointment")
    await officer.press(officer.option("am:person:"))
    await officer.press("am:kind:drug_test")
    await officer.say("07/12/2026")
    await officer.say("07:30")
    assert "đã qua" in officer.last.text and "Ngày nào" in officer.last.text
    await officer.say("not a date")
    assert "Ngày nào" in officer.last.text
    await officer.say("10/12/2026")
    await officer.say("9h")
    await officer.press("am:place")  # no place
    assert "Xét nghiệm ma túy: 09:00 10/12/2026" in officer.last.text


async def test_appointment_is_only_for_officers_in_private(setup: Appointments) -> None:
    citizen = setup.world.citizen("8889")
    await citizen.say("/appointment")
    assert "chỉ dành cho công an" in citizen.last.text
    await citizen.press("am:person:1")
    assert "chỉ dành cho công an" in citizen.last.text


async def test_what_and_where_are_sealed(setup: Appointments) -> None:
    officer = await setup.officer()
    await setup.enrolled_by(officer)
    await setup.record(officer)
    async with setup.world.store.transaction() as conn:
        for row in await conn.execute(select(appointments_table)):
            for value in row:
                shown = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                assert "methadone" not in shown and "Trạm y tế" not in shown


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=VIETNAM)


@pytest.mark.parametrize(("at", "now", "expected"), [
    # a day ahead: the day-before reminder first
    (_local(9, 10), _local(7, 8), (DAY_BEFORE, _local(8, 10))),
    # 24 h before falls at night: moved to 07:00
    (_local(9, 6, 30), _local(7, 8), (DAY_BEFORE, _local(8, 7))),
    # recorded ten hours ahead: the day-before reminder is due already, so it goes at once
    (_local(9, 18), _local(9, 8), (DAY_BEFORE, _local(8, 18))),
    # recorded an hour ahead: both are due, only the two-hour one goes
    (_local(9, 10), _local(9, 9), (SOON, _local(9, 8))),
    # recorded after the fact: only the officer's question
    (_local(9, 10), _local(9, 11), (OFFICER, _local(9, 13))),
])
def test_the_first_stage(at: datetime, now: datetime,
                         expected: tuple[str, datetime]) -> None:
    assert next_stage(at, now) == expected


def test_a_two_hour_reminder_that_would_fall_at_night_or_after_the_time() -> None:
    # 08:00: two hours before is 06:00, moved to 07:00
    assert next_stage(_local(9, 8), _local(8, 10), DAY_BEFORE) == (SOON, _local(9, 7))
    # 06:30: 07:00 would be after the appointment, so no reminder but the officer's question
    assert next_stage(_local(9, 6, 30), _local(8, 10), DAY_BEFORE) == (OFFICER, _local(9, 9, 30))
    assert next_stage(_local(9, 10), _local(9, 13), OFFICER) == (DONE, None)


def test_bad_csv_rows_are_reported_with_their_line(world: World) -> None:
    good, bad = appointment_csv.read_csv(
        "name,commune,date,time,kind,place\n"
        f"{NAME},26743,2026-12-09,09:30,drug_test,Công an phường\n"
        f"{NAME},99999,2026-12-09,09:30,drug_test,\n"
        f"{NAME},26743,09/12/2026,09:30,drug_test,\n"
        f"{NAME},26743,2026-12-09,9:3x,methadone,\n"
        f"{NAME},26743,2026-12-09,10:00,dentist,\n"
        f",26743,2026-12-09,10:00,other,\n", world.services.communes)
    assert [line for line, _row in good] == [2]
    assert good[0][1].at == _local(9, 9, 30) and good[0][1].details.place == "Công an phường"
    assert [(row.line, row.reason.split()[0]) for row in bad] == [
        (3, "unknown"), (4, "date"), (5, "time"), (6, "kind"), (7, "name")]
    _good, missing = appointment_csv.read_csv("name,commune,date\n", world.services.communes)
    assert missing[0].line == 1 and "time, kind" in missing[0].reason


def test_the_example_file_reads_without_a_bad_row(world: World) -> None:
    text = (Path(__file__).parents[2] / "examples" / "appointments.csv").read_text("utf-8")
    good, bad = appointment_csv.read_csv(text, world.services.communes)
    assert good and not bad


async def test_no_log_line_holds_a_name_or_a_place(
        setup: Appointments, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    officer = await setup.officer()
    person = await setup.enrolled_by(officer)
    appointment = await setup.record(officer)
    await setup.at(days=1, hours=2, minutes=1)
    await person.press(f"ap:{appointment}:cannot")
    await setup.at(days=1, hours=3)
    assert setup.texts(OFFICER_CHAT, "có đến lịch hẹn không")
    for secret in (NAME, "Trạm y tế", "methadone", PERSON):
        assert secret not in caplog.text, secret


async def test_two_schedulers_remind_once(setup: Appointments) -> None:
    officer = await setup.officer()
    await setup.enrolled_by(officer)
    await setup.record(officer)
    second = AppointmentTick(setup.world.store, setup.world.services, setup.world.clock)
    setup.world.clock.advance(days=1, hours=2, minutes=1)
    assert (await setup.appointments.tick())["appointments"] == 1
    assert (await second.tick())["appointments"] == 0
    await setup.deliver()
    assert len(setup.texts(PERSON, "ngày mai bạn có lịch hẹn")) == 1


async def test_in_the_console_an_appointment_reminder_is_answered(world: World) -> None:
    """On the numbered console: the officer records an appointment by numbers, the reminder
    comes with numbered answers, and "I can't come" reaches the officer."""
    async with world.store.transaction() as conn:
        await officers.link(conn, channel="console", chat_id="officer-1", role="officer",
                            commune_code="26743", province_code="79", language="vi",
                            now=world.clock())
        code = await enrol(conn, world.services.keyring, world.services.settings, _person(),
                           world.clock())
    person = world.console("person-1")
    await person.say(code)
    await person.say("1")  # I agree
    officer = world.console("officer-1")
    await officer.say("/appointment")
    await officer.say("1")  # the one person
    await officer.say("3")  # methadone
    await officer.say("08/12/2026")
    await officer.say("15:00")
    await officer.say("1")  # no place
    assert "Đã ghi lịch hẹn" in officer.last.text
    console = RecordingChannel("console", capabilities=CONSOLE)
    world.clock.advance(hours=7, minutes=1)  # 7 Dec 15:01: a day before
    await AppointmentTick(world.store, world.services, world.clock).tick()
    await world.delivery(console).drain()
    [reminder] = [reply for chat, reply in console.sent
                  if chat == "person-1" and "lịch hẹn" in reply.text]
    await person.say(str(reminder.first_number + 1))  # I can't come
    assert "Cán bộ phụ trách sẽ liên hệ" in person.last.text
    await world.delivery(console).drain()
    assert any("báo không đến được" in reply.text for chat, reply in console.sent
               if chat == "officer-1")
