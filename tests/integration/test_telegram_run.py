"""``pcmt-bot run`` with a Telegram token, as deployed, against the fake Bot API server: polling
and webhook, and SIGTERM finishing the update in flight before a clean exit."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegramServer
from tests.integration._telegram import TOKEN, USERNAME, free_port


def _environment(tmp_path: Path, server: FakeTelegramServer, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PCMT_")}
    env.update({"PCMT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/pcmt.db",
                "PCMT_DATA_DIR": str(tmp_path), "PCMT_TELEGRAM_TOKEN": TOKEN,
                "PCMT_TELEGRAM_BASE_URL": server.base_url,
                "PCMT_TELEGRAM_BASE_FILE_URL": server.base_file_url,
                "PCMT_WEB_HOST": "127.0.0.1", **extra})
    return env


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_run_answers_on_telegram_and_finishes_in_flight_work_on_sigterm(
        tmp_path: Path, mode: str) -> None:
    async with FakeTelegramServer(TOKEN, USERNAME) as server:
        extra = {}
        if mode == "webhook":
            port = free_port()
            extra = {"PCMT_PUBLIC_URL": f"http://127.0.0.1:{port}", "PCMT_WEB_PORT": str(port)}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=_environment(tmp_path, server, **extra),
            cwd=tmp_path, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            server.send_text(901, "/start")
            [greeting] = await server.wait_for_messages(901, 1, timeout=30)
            assert greeting.text is not None and greeting.text.startswith("Xin chào")
            server.delay("sendMessage", 1.0)
            server.send_text(901, "/help")
            await server.wait_until(lambda: not server._pending, 10)  # the bot took it
            await asyncio.sleep(0.3)
            assert len(server.messages_to(901)) == 1  # the answer is on its way, slowly
            process.send_signal(signal.SIGTERM)
            _out, err_bytes = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        err = err_bytes.decode()
        assert process.returncode == 0, err
        assert len(server.messages_to(901)) == 2  # the answer in flight was not dropped
        assert f"event=telegram.started mode={mode}" in err
        assert "event=telegram.stopped" in err and "event=app.stopped" in err
        assert "Traceback" not in err and TOKEN not in err
        assert server.rate_limit_violations == 0


async def test_a_webhook_without_a_port_stops_start_up_naming_the_setting(
        tmp_path: Path) -> None:
    async with FakeTelegramServer(TOKEN, USERNAME) as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            env=_environment(tmp_path, server, PCMT_PUBLIC_URL="https://bot.example.org"),
            cwd=tmp_path, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "PCMT_WEB_PORT" in err.decode()
