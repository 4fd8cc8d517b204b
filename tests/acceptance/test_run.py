"""``pcmt-bot run`` on the embedded default: health check, then a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_serves_healthz_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PCMT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/pcmt.db",
           "PCMT_DATA_DIR": str(tmp_path), "PCMT_WEB_PORT": str(port),
           "PCMT_WEB_HOST": "127.0.0.1"}
    env.pop("PCMT_TELEGRAM_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        body = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = r.read()
                break
            except OSError:
                time.sleep(0.2)
        assert b'"status": "ok"' in body
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "event=app.stopped" in err
    assert "Traceback" not in err
