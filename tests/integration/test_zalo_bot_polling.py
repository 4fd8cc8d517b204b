"""The Zalo Bot channel polling the fake Zalo Bot API through its real aiohttp client: one
update a call, empty polls, failures and a rejected token, and updates it cannot read."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FakeClock
from tests.integration._zalo_bot import ZaloPerson, options, running_zalo


async def test_start_is_answered_with_numbered_options(tmp_path: Path, clock: FakeClock) -> None:
    async with running_zalo(tmp_path, clock) as bot:
        person = ZaloPerson(bot, "a" * 20)
        [menu] = await person.say("/start")
        print(menu.text)
        assert options(menu)
