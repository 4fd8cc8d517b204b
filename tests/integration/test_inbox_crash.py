"""``pcmt-bot run`` killed between acknowledging updates and handling them: photos sent
through the Telegram webhook, Telegram polling and the Zalo Bot webhook are acknowledged
(answered 200, or the polling offset moved past them), the process is SIGKILLed while it
holds them (``PCMT_INBOX_HANDLE_DELAY_SECONDS``, which only tests set, keeps them waiting), and
the restarted process handles every one of them exactly once, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import postgres_database
from tests.fakes import images
from tests.fakes.telegram_api import FakeTelegramServer
from tests.fakes.zalo_bot_api import FakeZaloBotServer
from tests.integration import _telegram, _zalo_bot

PHOTOS = 8
LEASE_SECONDS = "2"


@dataclass
class Platform:
    """One way updates come in: how to send a photo, how many replies a chat has had, and
    whether the platform counts the update as delivered."""

    env: dict[str, str]
    send_photo: Callable[[int], object]
    replies: Callable[[int], int]
    acknowledged: Callable[[], bool]
    ready: Callable[[], bool]
    wait_until: Callable[[Callable[[], bool], float], Any]


@asynccontextmanager
async def _platform(kind: str) -> AsyncIterator[Platform]:
    port = _telegram.free_port()
    webhook = {"PCMT_PUBLIC_URL": f"http://127.0.0.1:{port}", "PCMT_WEB_PORT": str(port),
               "PCMT_WEB_HOST": "127.0.0.1"}
    jpeg = images.jpeg_with_metadata()
    if kind == "zalo webhook":
        async with FakeZaloBotServer(_zalo_bot.TOKEN) as zalo:
            def zalo_chat(number: int) -> str:
                return f"{number:020x}"

            yield Platform(
                {"PCMT_ZALO_BOT_TOKEN": _zalo_bot.TOKEN, "PCMT_ZALO_BOT_BASE_URL": zalo.base_url,
                 **webhook},
                lambda number: zalo.send_photo(zalo_chat(number), jpeg),
                lambda number: len(zalo.messages_to(zalo_chat(number))),
                lambda: not zalo._pending and all(
                    delivery.status == 200 for delivery in zalo.webhook_deliveries),
                lambda: zalo.webhook is not None, zalo.wait_until)
        return
    async with FakeTelegramServer(_telegram.TOKEN, _telegram.USERNAME) as telegram:
        env = {"PCMT_TELEGRAM_TOKEN": _telegram.TOKEN,
               "PCMT_TELEGRAM_BASE_URL": telegram.base_url,
               "PCMT_TELEGRAM_BASE_FILE_URL": telegram.base_file_url}
        if kind == "telegram webhook":
            env.update(webhook)
            ready: Callable[[], bool] = lambda: telegram.webhook is not None  # noqa: E731
        else:  # updates wait in the fake's queue for the first poll
            ready = lambda: True  # noqa: E731
        # Polling: an update leaves the fake's queue only when a poll's offset moves past it.
        yield Platform(
            env, lambda number: telegram.send_photo(number, jpeg),
            lambda number: len(telegram.messages_to(number)),
            lambda: not telegram._pending and all(
                delivery.status == 200 for delivery in telegram.webhook_deliveries),
            ready, telegram.wait_until)


async def _start(tmp_path: Path, database_url: str, platform: Platform,
                 **extra: str) -> asyncio.subprocess.Process:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PCMT_")}
    env.update({"PCMT_DATABASE_URL": database_url, "PCMT_DATA_DIR": str(tmp_path),
                "PCMT_SECRET_KEY": "k" * 43, "PCMT_INBOX_LEASE_SECONDS": LEASE_SECONDS,
                **platform.env, **extra})
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres",
                                                              marks=pytest.mark.postgres)])
@pytest.mark.parametrize("kind", ["telegram webhook", "telegram polling", "zalo webhook"])
async def test_updates_acknowledged_before_a_kill_are_handled_once_after_the_restart(
        tmp_path: Path, kind: str, database: str) -> None:
    async with AsyncExitStack() as stack:
        url = (f"sqlite+aiosqlite:///{tmp_path}/pcmt.db" if database == "sqlite"
               else await stack.enter_async_context(postgres_database()))
        platform = await stack.enter_async_context(_platform(kind))
        first = await _start(tmp_path, url, platform, PCMT_INBOX_HANDLE_DELAY_SECONDS="600")
        try:
            await platform.wait_until(platform.ready, 30)
            for number in range(1, PHOTOS + 1):
                platform.send_photo(number)
            await platform.wait_until(platform.acknowledged, 30)
            await asyncio.sleep(3 * float(LEASE_SECONDS))  # leases renewed, not run out
            assert [platform.replies(n) for n in range(1, PHOTOS + 1)] == [0] * PHOTOS
        finally:
            first.kill()
            await first.communicate()

        second = await _start(tmp_path, url, platform)
        try:
            await platform.wait_until(lambda: all(
                platform.replies(n) for n in range(1, PHOTOS + 1)), 60)
            # A photo handled live, from a chat of its own, says how many replies one brings.
            platform.send_photo(PHOTOS + 1)
            await platform.wait_until(lambda: platform.replies(PHOTOS + 1) > 0, 30)
            await asyncio.sleep(2 * float(LEASE_SECONDS))
            once = platform.replies(PHOTOS + 1)
            counts = [platform.replies(n) for n in range(1, PHOTOS + 1)]
            second.send_signal(signal.SIGTERM)
            _out, err_bytes = await asyncio.wait_for(second.communicate(), 30)
        finally:
            if second.returncode is None:
                second.kill()
                await second.communicate()
    err = err_bytes.decode()
    print(f"{kind} on {database}: {PHOTOS} acknowledged before the kill, replies per chat "
          f"after the restart {counts}, {once} for a photo handled live")
    assert counts == [once] * PHOTOS, err
    assert err.count("event=inbound.recovered") == PHOTOS, err
    assert second.returncode == 0, err
    assert "Traceback" not in err
