"""The weekly digest and the case officer on SQLite and PostgreSQL with a fake clock: alerts
and the digest go to the case officer's own chat when one is linked, else to every officer
chat of the commune; alerts name the case officer; a week's digest goes once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.store import officers
from bot.store.schema import audit_log
from scheduler.digest import WeeklyDigest, week_of
from tests.conftest import FakeClock
from tests.harness import Chat
from tests.integration.test_appointments import OFFICER_CHAT, Appointments
from tests.integration.test_checkins import NAME, POLICE, _answer
from tests.world import World

OTHER = "Chị Ba"  # synthetic, enrolled from a file with a named case officer


@pytest.fixture
def clock() -> FakeClock:
    # Monday 7 Dec 2026, 08:00 in Vietnam
    return FakeClock(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))


class Digests(Appointments):
    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.digest = WeeklyDigest(world.store, world.services, world.clock)

    async def two_people(self) -> tuple[Chat, Chat]:
        """One person enrolled by the officer in their private chat (their case officer), one
        from a file naming a case officer who has no chat linked."""
        officer = await self.officer()
        mine = await self.enrolled_by(officer)
        code = await self.enrol(name=OTHER, case_officer="Cán bộ Hòa")
        other = self.world.citizen("555002")
        await other.say(f"/start {code}")
        await other.press("ci:agree:yes")
        return mine, other

    def digests(self, chat: str) -> list[str]:
        return [text for text in self.telegram.texts_to(chat) if text.startswith("📋")]


@pytest.fixture
def setup(world: World) -> Digests:
    return Digests(world)


async def test_alerts_go_to_the_case_officer_and_name_them(setup: Digests) -> None:
    mine, other = await setup.two_people()
    await setup.at(hours=1, minutes=30)
    await _answer(mine, craving=9)
    await _answer(other, support="yes")
    await setup.deliver()
    [alert] = [text for text in setup.telegram.texts_to(OFFICER_CHAT)
               if text.startswith("🚨") and NAME in text]
    assert not [text for text in setup.telegram.texts_to(POLICE) if NAME in text], \
        "the case officer's own chat only"
    assert "Cán bộ phụ trách" not in alert, "enrolled in chat: no name was given"
    for chat in (POLICE, OFFICER_CHAT):  # no case officer's chat: the whole commune
        [alert] = [text for text in setup.telegram.texts_to(chat)
                   if text.startswith("🚨") and OTHER in text]
        assert "Cán bộ phụ trách: Cán bộ Hòa" in alert


async def test_the_weekly_digest_to_each_case_officer(setup: Digests) -> None:
    mine, _other = await setup.two_people()
    await setup.at(hours=1, minutes=30)  # Monday 09:30: the first check-ins
    await _answer(mine, craving=9)
    await setup.at(days=6, hours=22)  # Monday 14 Dec 07:30: before the digest's time
    assert not (await setup.digest.tick())["digests"]
    await setup.at(hours=3)  # 10:30: the second slot has come, the other's first is missed
    assert (await setup.digest.tick())["digests"] == 2
    assert not (await setup.digest.tick())["digests"], "once a week"
    second = WeeklyDigest(setup.world.store, setup.world.services, setup.world.clock)
    assert not (await second.tick())["digests"], "and once whatever the schedulers"
    await setup.deliver()
    [for_me] = setup.digests(OFFICER_CHAT)
    assert f"{NAME} (đang nhận): trả lời 1, bỏ lỡ 0, cảnh báo 1" in for_me
    assert f"{OTHER} (đang nhận): trả lời 0, bỏ lỡ 1, cảnh báo 0" in for_me, \
        "the commune's chats hear about people without a case officer's chat"
    assert "1 cảnh báo chưa tiếp nhận" in for_me
    [for_commune] = setup.digests(POLICE)
    assert OTHER in for_commune and NAME not in for_commune
    async with setup.world.store.transaction() as conn:
        actions = [row.action for row in await conn.execute(select(audit_log.c.action))]
    assert actions.count("digest.sent") == 1
    await setup.at(days=7)
    assert (await setup.digest.tick())["digests"] == 2
    await setup.deliver()
    assert len(setup.digests(OFFICER_CHAT)) == 2


async def test_a_digest_missed_on_monday_comes_when_the_bot_is_back(setup: Digests) -> None:
    await setup.two_people()
    setup.world.clock.advance(days=9, hours=13)  # Wednesday 16 Dec 21:00: quiet hours
    assert not (await setup.digest.tick())["digests"]
    setup.world.clock.advance(hours=10)  # Thursday 07:00
    assert (await setup.digest.tick())["digests"] == 2


def test_weeks_turn_on_monday_morning_in_vietnam() -> None:
    # Sunday 3 Jan 2027 23:30 local is still ISO week 2026-W53
    week, due = week_of(datetime(2027, 1, 3, 16, 30, tzinfo=UTC))
    assert week == "2026-W53" and due == datetime(2026, 12, 28, 1, 0, tzinfo=UTC)
    week, _due = week_of(datetime(2027, 1, 3, 17, 30, tzinfo=UTC))  # Monday 00:30 local
    assert week == "2027-W01"




async def test_a_case_officer_moved_to_another_commune_hears_no_more(setup: Digests) -> None:
    mine, _other = await setup.two_people()
    async with setup.world.store.transaction() as conn:
        await officers.link(conn, channel="telegram", chat_id=OFFICER_CHAT, role="officer",
                            commune_code="26740", province_code="79", language="vi",
                            now=setup.world.clock())
    await mine.say("Tôi cần giúp đỡ")
    await setup.deliver()
    assert [text for text in setup.telegram.texts_to(POLICE) if NAME in text
            and text.startswith("🚨")], "the commune's chats instead"
    assert not [text for text in setup.telegram.texts_to(OFFICER_CHAT) if NAME in text
                and text.startswith("🚨")]
