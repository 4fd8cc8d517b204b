"""The commands as deployed: ``pcmt-bot admin zalo-oa connect`` stores the OA's first tokens,
and ``pcmt-bot run`` serves the OA's webhook next to Telegram's on one web server, both
channels answering, ``/healthz`` listing both, SIGTERM a clean exit."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp

from tests.fakes.telegram_api import FakeTelegramServer
from tests.fakes.zalo_oa_api import APP_ID, APP_SECRET, SECRET_KEY, FakeZaloOaServer
from tests.integration import _telegram
from tests.integration.test_telegram_run import _environment

CITIZEN = "2468458835296117922"


async def _command(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_connect_then_run_answers_on_the_oa_and_telegram(tmp_path: Path) -> None:
    port = _telegram.free_port()
    async with FakeTelegramServer(_telegram.TOKEN, _telegram.USERNAME) as telegram, \
            FakeZaloOaServer() as oa:
        env = _environment(tmp_path, telegram, PCMT_ZALO_OA_APP_ID=APP_ID,
                           PCMT_ZALO_OA_APP_SECRET=APP_SECRET,
                           PCMT_ZALO_OA_SECRET_KEY=SECRET_KEY, PCMT_ZALO_OA_API_URL=oa.origin,
                           PCMT_ZALO_OA_OAUTH_URL=oa.origin,
                           PCMT_PUBLIC_URL=f"http://127.0.0.1:{port}", PCMT_WEB_PORT=str(port))
        # not connected yet: run stops at once with the command to use
        code, _out, err = await _command(env, tmp_path, "run")
        assert code == 2 and "admin zalo-oa connect --refresh-token" in err, err
        consent = oa.issue_refresh_token()
        code, out, err = await _command(env, tmp_path, "admin", "zalo-oa", "connect",
                                        "--refresh-token", consent)
        assert code == 0 and "connected" in out, err
        code, _out, err = await _command(env, tmp_path, "admin", "zalo-oa", "connect",
                                         "--refresh-token", consent)
        assert code == 1 and "refused" in err and "nothing was stored" in err

        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            oa.webhook_url = f"http://127.0.0.1:{port}/zalo/oa/webhook"
            await telegram.wait_until(lambda: telegram.webhook is not None, 30)
            assert await oa.send_text(CITIZEN, "/start") == 200
            telegram.send_text(901, "/start")
            await oa.wait_for_messages(CITIZEN, 1, timeout=30)
            [greeting] = oa.messages_to(CITIZEN)
            assert greeting.text.startswith("Xin chào") and greeting.buttons
            await telegram.wait_for_messages(901, 1, timeout=30)
            async with aiohttp.ClientSession() as session, session.get(
                    f"http://127.0.0.1:{port}/healthz") as reply:
                health = await reply.json()
            assert reply.status == 200
            assert (health["telegram"], health["zalo_oa"]) == ("ok", "ok")
            process.send_signal(signal.SIGTERM)
            _out_bytes, err_bytes = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    err = err_bytes.decode()
    assert process.returncode == 0, err
    assert "event=zalo_oa.started" in err and "event=zalo_oa.stopped" in err
    assert "Traceback" not in err and CITIZEN not in err
    assert APP_SECRET not in err and SECRET_KEY not in err and consent not in err
