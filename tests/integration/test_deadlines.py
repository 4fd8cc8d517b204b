"""Reporting deadlines on SQLite and PostgreSQL, with a fake clock: reminders on the right
working days, "Submitted" and "Remind me tomorrow", the province told of a missed deadline,
case deadlines, a restart between the reminder and the button, two schedulers at once.

The test rule is due on the 27th: for November 2026 a Friday, with reminders on Monday 23
(Tuesday 24 is Vietnam Cultural Day), Thursday 26 and Friday 27.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.channels.console import CAPABILITIES as CONSOLE
from bot.clock import VIETNAM
from bot.conversation.messages import Reply
from bot.deadlines import ensure_defaults, load_rules, places_of
from bot.deadlines.rules import parse
from bot.officials.invites import invite_hash
from bot.security.privacy import new_ticket_code
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, officers
from bot.store.schema import deadlines, outbox
from scheduler.deadlines import Deadlines
from tests.conftest import FakeClock, StoreFactory, commune_list
from tests.harness import Chat, RecordingChannel
from tests.world import World

BEN_THANH, SAI_GON = "26743", "26740"  # both in province 79; only Bến Thành links an officer
RULES = f"""
[[rule]]
id = "stats"
title.vi = "Báo cáo thống kê tháng"
title.en = "Monthly statistics"
role = "officer"
scope = ["{BEN_THANH}", "{SAI_GON}"]
every = "month"
due_day = 27
"""


class DeadlineWorld(World):
    channels: list[RecordingChannel]

    def at(self, local: str) -> None:
        """Set the clock to ``local`` (YYYY-MM-DD HH:MM, Vietnam time)."""
        moment = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=VIETNAM)
        self.clock.now = moment.astimezone(UTC)

    async def load(self, text: str = RULES) -> None:
        async with self.store.transaction() as conn:
            await load_rules(conn, parse(text, places_of(*commune_list())), self.clock())

    async def invite(self, role: str, place: str) -> str:
        code = new_ticket_code()
        commune = self.services.communes.get(place) if role == "officer" else None
        async with self.store.transaction() as conn:
            await officers.create_invite(
                conn, code_hash=invite_hash(self.services.keyring, code), role=role,
                commune_code=commune.code if commune else None,
                province_code=commune.province_code if commune else place,
                expires_at=self.clock() + timedelta(days=1))
        return code

    async def join(self, user: str, role: str, place: str) -> Chat:
        chat = self.citizen(user)
        await chat.say(f"/join {await self.invite(role, place)}")
        return chat

    async def tick(self, store: Store | None = None) -> int:
        """A tick of the planner of ``store``'s process, which keeps what it counted before
        (who owed what) from one tick to the next, as the running bot's does."""
        store = store or self.store
        planners: dict[int, Deadlines] = self.__dict__.setdefault("planners", {})
        planner = planners.setdefault(id(store), Deadlines(store, self.services, self.clock))
        planned = await planner.tick()
        return planned.reminders + planned.digests

    async def delivered(self) -> dict[str, list[Reply]]:
        """What each chat received since last asked."""
        for channel in self.channels:
            channel.sent.clear()
        await self.delivery(*self.channels).drain()
        found: dict[str, list[Reply]] = {}
        for channel in self.channels:
            for chat, reply in channel.sent:
                found.setdefault(chat, []).append(reply)
        return found


@pytest.fixture
async def world(store: Store, services: Services, clock: FakeClock) -> DeadlineWorld:
    built = await DeadlineWorld.build(store, services, clock)
    built.channels = [RecordingChannel("telegram")]
    await built.load()
    return built


def option(reply: Reply, prefix: str) -> str:
    return next(o.data for o in reply.options if o.data.startswith(prefix))


async def test_reminders_come_on_the_working_days_and_submitted_stops_them(
        world: DeadlineWorld) -> None:
    officer = await world.join("501", "officer", BEN_THANH)
    colleague = await world.join("502", "officer", BEN_THANH)
    world.at("2026-11-20 09:00")
    assert await world.tick() == 0
    world.at("2026-11-23 07:59")
    assert await world.tick() == 0
    world.at("2026-11-23 08:00")
    assert await world.tick() == 2  # both officers of Bến Thành; Sài Gòn has nobody linked
    assert await world.tick() == 0  # the round is claimed: a second tick queues nothing
    sent = await world.delivered()
    [reminder] = sent["501"]
    assert "Báo cáo thống kê tháng, tháng 11/2026" in reminder.text
    assert "Thứ Sáu 27/11/2026, còn 3 ngày làm việc" in reminder.text
    assert [o.label for o in reminder.options] == ["✅ Đã nộp", "⏰ Nhắc tôi ngày mai"]
    assert sent["502"] == [reminder]

    world.at("2026-11-25 08:00")
    assert await world.tick() == 0  # not a reminder day
    world.at("2026-11-26 08:30")
    assert await world.tick() == 2
    assert "còn 1 ngày làm việc" in (await world.delivered())["501"][0].text

    [recorded] = await officer.press(option(reminder, "dl:done:"))
    assert "Đã ghi nhận" in recorded.text and "đúng hạn" in recorded.text
    [again] = await colleague.press(option(reminder, "dl:done:"))
    assert "đã được ghi nhận là đã nộp lúc 26/11/2026" in again.text
    world.at("2026-11-27 08:00")
    assert await world.tick() == 0
    world.at("2026-11-30 08:00")
    assert await world.tick() == 0  # Sài Gòn is late, but the province has no supervisor yet
    overview = await officer.say("/deadlines")
    assert "✅ Báo cáo thống kê tháng, tháng 11/2026: đã nộp lúc 26/11 08:30" in overview[-1].text


async def test_a_missed_deadline_reaches_the_province_the_next_working_morning(
        world: DeadlineWorld) -> None:
    officer = await world.join("501", "officer", BEN_THANH)
    supervisor = await world.join("900", "supervisor", "79")
    world.at("2026-11-27 08:00")
    assert await world.tick() == 1
    assert "hạn là hôm nay, Thứ Sáu 27/11/2026" in (await world.delivered())["501"][0].text
    world.at("2026-11-28 08:00")  # Saturday
    assert await world.tick() == 0
    world.at("2026-11-30 08:00")
    assert await world.tick() == 2
    sent = await world.delivered()
    assert "đã quá 1 ngày làm việc" in sent["501"][0].text
    [missed] = sent["900"]
    assert missed.text.startswith("⚠️ Quá hạn: Báo cáo thống kê tháng, tháng 11/2026")
    assert "2/2 đơn vị chưa nộp" in missed.text
    assert "• Phường Bến Thành, Thành phố Hồ Chí Minh\n" in missed.text
    assert "• Phường Sài Gòn, Thành phố Hồ Chí Minh (chưa có cán bộ liên kết" in missed.text

    world.at("2026-12-01 10:00")
    [late] = await officer.press(option(sent["501"][0], "dl:done:"))
    assert "trễ 2 ngày làm việc" in late.text
    world.at("2026-12-02 08:00")
    assert await world.tick() == 1  # the digest; Bến Thành is reminded no more
    [digest] = (await world.delivered())["900"]
    assert "Tổng hợp hằng ngày" in digest.text and "1/2 đơn vị" in digest.text
    assert "Sài Gòn" in digest.text and "Bến Thành" not in digest.text

    overview = await supervisor.say("/deadlines")
    assert "Đã nộp 1/2" in overview[-1].text
    [listing] = await supervisor.press(option(overview[-1], "dl:show:"))
    assert "Sài Gòn" in listing.text and "Bến Thành" not in listing.text
    # A supervisor cannot submit for a commune, whatever button they press.
    [refused] = await supervisor.press(option(sent["501"][0], "dl:done:"))
    assert "không thuộc đơn vị" in refused.text


async def test_the_digest_goes_in_pages_and_stops_after_the_follow_up(
        world: DeadlineWorld) -> None:
    await world.load(RULES.replace(f'["{BEN_THANH}", "{SAI_GON}"]', '"79"'))
    await world.join("900", "supervisor", "79")
    world.at("2026-11-30 08:00")
    assert await world.tick() == 1
    pages = (await world.delivered())["900"]
    communes = len(world.services.communes.communes_in("79"))
    assert len(pages) == -(-communes // 40) > 1
    assert "Trang 1/" in pages[0].text and f"{communes}/{communes}" in pages[0].text
    assert sum(text.count("\n• ") for text in (p.text for p in pages)) == communes
    assert pages[-1].options and not pages[0].options
    world.at("2026-12-28 08:00")  # November's follow-up is over; December's is due
    assert await world.tick() == 1
    later = [page.text for page in (await world.delivered())["900"]]
    assert "tháng 12/2026" in later[0] and not any("tháng 11/2026" in text for text in later)


async def test_remind_me_tomorrow_is_never_past_the_due_day(world: DeadlineWorld) -> None:
    officer = await world.join("501", "officer", BEN_THANH)
    world.at("2026-11-23 08:00")
    await world.tick()
    [reminder] = (await world.delivered())["501"]
    [later] = await officer.press(option(reminder, "dl:later:"))
    assert "Thứ Tư 25/11/2026" in later.text  # Tuesday 24 is a day off
    world.at("2026-11-25 07:00")
    assert await world.tick() == 0  # at the round's time, not before
    world.at("2026-11-25 08:00")
    assert await world.tick() == 1
    assert "còn 2 ngày làm việc" in (await world.delivered())["501"][0].text
    world.at("2026-11-27 09:00")
    [no_later] = await officer.press(option(reminder, "dl:later:"))
    assert "mỗi ngày làm việc" in no_later.text


async def test_a_restart_between_the_reminder_and_the_button(
        world: DeadlineWorld, store_factory: StoreFactory) -> None:
    await world.join("501", "officer", BEN_THANH)
    world.at("2026-11-23 08:00")
    await world.tick()
    [reminder] = (await world.delivered())["501"]
    restarted = world.restarted(await store_factory.open())
    officer = restarted.citizen("501")
    [recorded] = await officer.press(option(reminder, "dl:done:"))
    assert "Đã ghi nhận" in recorded.text
    world.at("2026-11-26 08:00")
    planned = await Deadlines(restarted.store, restarted.services, world.clock).tick()
    assert planned.reminders == 0


async def test_two_schedulers_ticking_together_queue_each_reminder_once(
        world: DeadlineWorld, store_factory: StoreFactory) -> None:
    await world.load(RULES.replace(f'["{BEN_THANH}", "{SAI_GON}"]', '"79"'))
    for number, commune in enumerate(world.services.communes.communes_in("79")[:50]):
        await world.join(f"6{number:03d}", "officer", commune.code)
    world.at("2026-11-23 08:00")
    replicas = [await store_factory.open() for _ in range(2)]
    for _ in range(3):
        await asyncio.gather(*(world.tick(replica) for replica in replicas))
    async with world.store.transaction() as conn:
        queued = (await conn.execute(select(func.count()).select_from(outbox)
                                     .where(outbox.c.dedupe_key.startswith("dl:")))).scalar_one()
    assert queued == 50
    sent = await world.delivered()
    assert len(sent) == 50 and all(len(replies) == 1 for replies in sent.values())


async def test_a_positive_test_starts_a_case_deadline(world: DeadlineWorld) -> None:
    await world.load(RULES + """
[[rule]]
id = "decision"
kind = "case"
title.vi = "Quyết định quản lý"
title.en = "Management decision"
role = "officer"
event = "positive_test"
working_days = 3
""")
    officer = await world.join("501", "officer", BEN_THANH)
    world.at("2026-11-20 10:00")  # a Friday; Tuesday 24 is a day off
    prompt = await officer.press("dl:case")
    assert "mã hồ sơ" in prompt[-1].text
    [recorded] = await officer.say("HS-2026-12")
    assert "hồ sơ HS-2026-12 ngày Thứ Sáu 20/11/2026" in recorded.text
    assert "Quyết định quản lý: hạn Thứ Năm 26/11/2026 (3 ngày làm việc)" in recorded.text
    assert await world.tick() == 1  # three working days before is the day of the test itself
    assert "HS-2026-12" in (await world.delivered())["501"][0].text
    world.at("2026-11-25 08:00")  # one working day before; not a day of the monthly report
    assert await world.tick() == 1
    [reminder] = (await world.delivered())["501"]
    assert "Quyết định quản lý, hồ sơ HS-2026-12, xét nghiệm ngày 20/11/2026" in reminder.text
    overview = await officer.say("/deadlines")
    assert "hồ sơ HS-2026-12" in overview[-1].text
    async with world.store.transaction() as conn:
        [reference] = (await conn.execute(select(deadlines.c.reference).where(
            deadlines.c.reference.is_not(None)))).scalars()
    assert reference.startswith("sealed:") and "HS-2026-12" not in reference
    citizen = world.citizen("777")
    assert "Chỉ cán bộ" in (await citizen.say("/positive HS-1"))[-1].text


async def test_a_positive_test_read_days_ago_counts_from_its_own_date(
        world: DeadlineWorld) -> None:
    await world.load(RULES + """
[[rule]]
id = "decision"
kind = "case"
title.vi = "Quyết định quản lý"
title.en = "Management decision"
role = "officer"
event = "positive_test"
working_days = 3
""")
    officer = await world.join("501", "officer", BEN_THANH)
    world.at("2026-11-25 10:00")
    [recorded] = await officer.say("/positive HS 7 20/11/2026")
    assert "hồ sơ HS 7 ngày Thứ Sáu 20/11/2026" in recorded.text
    assert "hạn Thứ Năm 26/11/2026" in recorded.text
    future = await officer.say("/positive HS-8 01/12/2026")
    assert "trong 30 ngày qua" in future[0].text and "mã hồ sơ" in future[-1].text
    [typed] = await officer.say("HS-8")  # the flow asks again; a plain reference is today
    assert "HS-8 ngày Thứ Tư 25/11/2026" in typed.text


async def test_a_commune_without_officers_shows_in_the_province_overview(
        world: DeadlineWorld) -> None:
    supervisor = await world.join("900", "supervisor", "79")
    world.at("2026-11-23 09:00")
    assert await world.tick() == 0  # no officer anywhere: nobody to remind
    overview = await supervisor.say("/deadlines")
    assert "Báo cáo thống kê tháng, tháng 11/2026" in overview[-1].text
    assert "Đã nộp 0/2" in overview[-1].text
    [listing] = await supervisor.press(option(overview[-1], "dl:show:"))
    assert listing.text.count("chưa có cán bộ liên kết") == 2


async def test_console_officer_gets_a_shipped_rule_and_the_province_a_missed_one(
        store: Store, services: Services, clock: FakeClock) -> None:
    """The shipped rules as a console user meets them: a first start loads them, reminders
    come on the working days, "Đã nộp" typed as its number stops them, and what nobody
    submitted reaches the province's supervisor the next working morning."""
    world = await DeadlineWorld.build(store, services, clock)
    async with world.store.transaction() as conn:
        assert await ensure_defaults(conn, places_of(*commune_list()), clock())
        assert not await ensure_defaults(conn, places_of(*commune_list()), clock())
    world.channels = [RecordingChannel("telegram"), RecordingChannel("console", CONSOLE)]
    officer = world.console("officer-1")
    code = await world.invite("officer", BEN_THANH)
    await officer.say(f"/join {code}")
    supervisor = world.citizen("900")
    await supervisor.say(f"/join {await world.invite('supervisor', '79')}")

    # Monthly, quarterly and yearly statistics are all due Tuesday 15 December 2026: one
    # message names the three, with a "Submitted" for each and one "remind me tomorrow".
    world.at("2026-12-10 08:00")
    await world.tick()
    [reminder] = (await world.delivered())["officer-1"]
    assert "còn 3 báo cáo chưa nộp" in reminder.text and reminder.text.count("15/12/2026") == 3
    labels = [o.label for o in reminder.options]
    assert labels[-1] == "⏰ Nhắc tôi ngày mai" and len(labels) == 4
    monthly = next(o for o in reminder.options if "ma túy tháng" in o.label)
    assert monthly.label.startswith("✅ Đã nộp: ")
    number = reminder.first_number + list(reminder.options).index(monthly)
    [recorded] = await officer.say(str(number))
    assert "Đã ghi nhận: Báo cáo thống kê số liệu ma túy tháng" in recorded.text

    world.at("2026-12-15 08:00")
    await world.tick()
    [due_today] = (await world.delivered())["officer-1"]
    assert "còn 2 báo cáo chưa nộp" in due_today.text and "ma túy tháng" not in due_today.text
    assert "dl:later" not in [o.data for o in due_today.options]  # both are due today
    world.at("2026-12-16 08:00")
    await world.tick()
    missed = [r.text for r in (await world.delivered())["900"]]
    assert any(text.startswith("⚠️ Quá hạn: Báo cáo thống kê số liệu ma túy quý, quý 4/2026")
               for text in missed)
    # Listed as late for the quarter and the year, not for the month it submitted.
    assert sum(text.count("• Phường Bến Thành,") for text in missed) == 2


async def test_the_running_app_plans_what_is_due_as_it_starts(settings: Settings,
                                                              clock: FakeClock) -> None:
    """``run`` and ``chat`` tick every job once at start: a console user opening the chat
    on a reminder morning sees the reminder without waiting for the next interval."""
    async with App(settings, clock=clock) as app:
        world = DeadlineWorld(app.store, app.services, clock, app.dispatcher)
        await world.load()
        console = RecordingChannel("console", CONSOLE)
        app.add_channel(console)
        await world.console("officer-1").say(f"/join {await world.invite('officer', BEN_THANH)}")
        world.at("2026-11-23 08:00")
        await app.start()
        for _ in range(100):
            if console.sent:
                break
            await asyncio.sleep(0.05)
        [(chat, reminder)] = console.sent
    assert chat == "officer-1" and "Báo cáo thống kê tháng" in reminder.text


async def test_remind_me_tomorrow_under_several_deadlines_moves_each_of_them(
        store: Store, services: Services, clock: FakeClock) -> None:
    world = await DeadlineWorld.build(store, services, clock)
    async with world.store.transaction() as conn:
        await ensure_defaults(conn, places_of(*commune_list()), clock())
    world.channels = [RecordingChannel("telegram")]
    officer = await world.join("501", "officer", BEN_THANH)
    world.at("2026-12-10 08:00")
    await world.tick()
    [reminder] = (await world.delivered())["501"]
    [later] = await officer.press(option(reminder, "dl:later"))
    assert "Thứ Sáu 11/12/2026" in later.text and later.text.count("\n• ") == 3
    world.at("2026-12-11 08:00")
    await world.tick()
    [again] = (await world.delivered())["501"]
    assert "còn 3 báo cáo chưa nộp" in again.text
    world.at("2026-12-15 09:00")  # due today: nothing left to move
    [no_later] = await officer.press(option(reminder, "dl:later"))
    assert "mỗi ngày làm việc" in no_later.text
