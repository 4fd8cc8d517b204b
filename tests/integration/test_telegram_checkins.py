"""A check-in end to end through Telegram: python-telegram-bot's real HTTP stack against the
fake Bot API server. ``pcmt-bot admin enroll`` prints the deep link (it asks the server for the
bot's name), the person opens it (Telegram sends ``/start CODE``), reads the consent and taps
"Đồng ý", the scheduled check-in arrives through the outbox and is answered by buttons, and the
risky answer reaches the police group, which acknowledges it."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.checkins import admin
from bot.clock import local
from bot.services import Services
from bot.settings import Settings
from bot.store import Store
from bot.store.schema import enrolments
from scheduler.checkins import CheckinTick
from tests.conftest import FakeClock
from tests.integration import test_telegram_flows
from tests.integration._telegram import USERNAME, Running
from tests.integration.test_telegram_flows import (
    CITIZEN,
    buttons,
    citizen,
    deliver,
    link_group,
    visible,
)
from tests.integration.test_telegram_flows import all_clean as clean

NAME = "Anh Tư (synthetic)"
bot = test_telegram_flows.bot  # the bot as deployed, polling, with the commune list


@pytest.fixture
def clock() -> FakeClock:
    # ``admin enroll`` dates the link code by the wall clock, so the bot's clock starts there
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


async def _enrol_from_csv(bot: Running, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> str:
    """``admin enroll`` as an administrator runs it, on the bot's database; its deep link."""
    path = tmp_path / "people.csv"
    today = local(bot.clock()).date().isoformat()
    path.write_text("name,commune,type,start,cadence,time,language\n"
                    f"{NAME},26743,post_rehab_1y,{today},daily,09:00,vi\n", encoding="utf-8")

    async def open_store(settings: Settings, _services: Services) -> Store:
        return await Store.open(settings.database_url)

    services = bot.channel.services
    # the command runs its own event loop, as it does from a shell; the server answers here
    status = await asyncio.to_thread(admin.enroll, bot.settings, services, path, partial=False,
                                     open_store=open_store)
    out = capsys.readouterr().out
    assert status == 0, out
    [line] = out.splitlines()
    name, code, link = line.split("\t")
    assert name == NAME and link == f"https://t.me/{USERNAME}?start={code}"
    return link


async def test_a_check_in_by_telegram_deep_link(bot: Running, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    police = await link_group(bot)
    link = await _enrol_from_csv(bot, tmp_path, capsys)
    start = re.fullmatch(r"https://t\.me/\w+\?start=(\S+)", link)
    assert start is not None
    person = citizen(bot)
    [consent] = await person.say(f"/start {start.group(1)}")  # what opening the link sends
    assert "không phải giám sát điện tử" in visible(consent)
    assert buttons(consent) == ["ci:agree:yes", "ci:agree:no"]
    [welcome] = await person.press(consent, "ci:agree:yes")
    assert "Lần hỏi thăm đầu tiên" in visible(welcome)
    await deliver(bot, 1)
    await bot.server.wait_for_messages(police.chat_id, 2)
    assert "đã đồng ý" in visible(police.last) and NAME in visible(police.last)

    async with bot.store.transaction() as conn:
        due = (await conn.execute(select(enrolments.c.next_due_at))).scalar_one()
    bot.clock.now = max(due, bot.clock.now)  # never back: the sending budgets run on it
    tick = CheckinTick(bot.store, bot.channel.services,
                       bot.channel.dispatcher.routes.flows["checkin"], bot.clock)
    assert (await tick.tick())["sent"] == 1
    await deliver(bot, 1)
    ask_mood = await bot.server.wait_for(lambda record: record.chat_id == CITIZEN
                                         and "thấy thế nào" in visible(record))
    assert visible(ask_mood) == "Hôm nay bạn thấy thế nào?"
    [ask_craving] = await person.press(ask_mood, "ci:mood:3")
    [ask_sleep] = await person.press(ask_craving, "ci:craving:9")
    [ask_support] = await person.press(ask_sleep, "ci:sleep:poor")
    [ask_note] = await person.press(ask_support, "ci:support:no")
    [safety] = await person.press(ask_note, "ci:note")
    assert "115" in visible(safety)

    await deliver(bot, 1)
    alert = await bot.server.wait_for(lambda record: record.chat_id == police.chat_id
                                      and visible(record).startswith("🚨"))
    assert NAME in visible(alert) and "9/10" in visible(alert)
    [ack] = buttons(alert)
    [acknowledged] = await police.press(alert, ack)
    assert "Đã ghi nhận" in visible(acknowledged)
    await clean(bot, person, police)
