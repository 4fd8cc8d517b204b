"""``pcmt-bot run`` with a Zalo Bot token next to a Telegram one, as deployed: both webhooks on
one web server, both channels answering, ``/healthz`` listing both, SIGTERM a clean exit."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp

from tests.fakes.telegram_api import FakeTelegramServer
from tests.fakes.zalo_bot_api import FakeZaloBotServer
from tests.integration import _telegram
from tests.integration._zalo_bot import TOKEN
from tests.integration.test_telegram_run import _environment

CHAT = "77aa88bb99cc00dd11ee"


async def test_run_answers_on_zalo_and_telegram_behind_one_web_server(tmp_path: Path) -> None:
    port = _telegram.free_port()
    async with FakeTelegramServer(_telegram.TOKEN, _telegram.USERNAME) as telegram, \
            FakeZaloBotServer(TOKEN) as zalo:
        env = _environment(tmp_path, telegram, PCMT_ZALO_BOT_TOKEN=TOKEN,
                           PCMT_ZALO_BOT_BASE_URL=zalo.base_url,
                           PCMT_PUBLIC_URL=f"http://127.0.0.1:{port}", PCMT_WEB_PORT=str(port))
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            await zalo.wait_until(lambda: zalo.webhook is not None, 30)
            assert zalo.webhook is not None
            assert zalo.webhook["url"] == f"http://127.0.0.1:{port}/zalo/bot/webhook"
            zalo.send_text(CHAT, "/start")
            telegram.send_text(901, "/start")
            [greeting] = await zalo.wait_for_messages(CHAT, 1, timeout=30)
            assert (greeting.text or "").startswith("Xin chào")
            await telegram.wait_for_messages(901, 1, timeout=30)
            async with aiohttp.ClientSession() as session, session.get(
                    f"http://127.0.0.1:{port}/healthz") as reply:
                health = await reply.json()
            assert reply.status == 200
            assert (health["telegram"], health["zalo_bot"]) == ("ok", "ok")
            process.send_signal(signal.SIGTERM)
            _out, err_bytes = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    err = err_bytes.decode()
    assert process.returncode == 0, err
    assert "event=zalo_bot.started mode=webhook" in err and "event=zalo_bot.stopped" in err
    assert "Traceback" not in err and TOKEN not in err and CHAT not in err
