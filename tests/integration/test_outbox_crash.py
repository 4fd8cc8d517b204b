"""``pcmt-bot run`` SIGKILLed while it delivers a queued round of messages to the fake Telegram
server, then restarted: every message arrives, and no more arrive twice than were in flight at
the kill (sent, not yet marked sent). The small version of ``python -m bench.crash``, which
sends 5,000."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from bench.crash import run
from tests.conftest import postgres_database


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres",
                                                              marks=pytest.mark.postgres)])
async def test_a_kill_while_sending_loses_nothing_and_repeats_only_what_was_in_flight(
        tmp_path: Path, database: str) -> None:
    async with AsyncExitStack() as stack:
        url = (f"sqlite+aiosqlite:///{tmp_path}/pcmt.db" if database == "sqlite"
               else await stack.enter_async_context(postgres_database()))
        figures = await run(url, tmp_path, messages=150, chats=50, timeout=90)
    print(figures.line(database))
    assert figures.killed_after < figures.messages  # the kill came mid-round
    assert figures.lost == 0
    assert figures.duplicates <= figures.in_flight
