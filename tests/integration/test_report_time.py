"""When a report was sent is known to nobody finer than its day and quarter: the police card
waits a random while, and every time stored on a report's path keeps only the hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.services import Services
from bot.settings import Settings
from bot.store import Store
from bot.store.schema import audit_log, outbox, report_messages
from tests.conftest import FakeClock
from tests.harness import RecordingChannel, file_report
from tests.integration.test_reports import link_police
from tests.world import World

DELAY_MINUTES = 60


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"report_card_delay_minutes": DELAY_MINUTES})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 20, 2, 37, 21, 123456, tzinfo=UTC))


async def _card_due(store: Store) -> list[datetime]:
    async with store.transaction() as conn:
        rows = await conn.execute(select(outbox.c.due_at).where(
            outbox.c.dedupe_key.like("report:%:card:%")))
        return [row.due_at for row in rows]


async def test_the_police_card_waits_a_random_while_within_the_setting(
        world: World, store: Store, services: Services, clock: FakeClock) -> None:
    await link_police(store, services, clock)
    sent_at = clock()
    for number in range(4):
        await file_report(world.citizen(f"reporter-{number}"),
                          description=f"Giao hàng lần {number}")
    due = await _card_due(store)
    assert len(due) == 4
    assert all(sent_at <= moment <= sent_at + timedelta(minutes=DELAY_MINUTES) for moment in due)
    assert len(set(due)) == 4, "each card waits its own random time"
    police = RecordingChannel("police")
    await world.delivery(police).drain()
    early = len(police.sent)
    clock.advance(minutes=DELAY_MINUTES + 1)
    await world.delivery(police).drain()
    assert len(police.sent) == 4 and early < 4


async def test_a_report_about_children_goes_at_once_and_the_reporter_is_told(
        world: World, store: Store, services: Services, clock: FakeClock) -> None:
    await link_police(store, services, clock)
    chat = world.citizen("reporter-minors")
    await file_report(chat, category="minors")
    summary = next(reply.text for reply in reversed(chat.replies) if "chuyển ngay" in reply.text)
    assert "chờ ngẫu nhiên" in summary
    assert await _card_due(store) == [clock()]
    police = RecordingChannel("police")
    await world.delivery(police).drain()
    assert len(police.sent) == 1


async def test_times_on_a_reports_path_keep_only_the_hour(
        world: World, store: Store, services: Services, clock: FakeClock) -> None:
    await link_police(store, services, clock)
    chat = world.citizen("reporter-hour")
    ticket = await file_report(chat)
    await chat.say(f"/status {ticket} {chat.passphrase}")
    await chat.press(chat.option(f"st:{ticket}:info"))
    await chat.say("Thêm: xe máy màu đỏ")
    async with store.transaction() as conn:
        stamps = [row.at for row in await conn.execute(
            select(audit_log.c.at).where(audit_log.c.actor == "reporter"))]
        stamps += [row.created_at for row in await conn.execute(select(report_messages))]
        stamps += [row.created_at for row in await conn.execute(select(outbox))]
    assert len(stamps) >= 4
    hour = clock().replace(minute=0, second=0, microsecond=0)
    assert set(stamps) == {hour}
