"""The console as a terminal program: started on a pseudo-terminal, as a person runs it,
stopped with Ctrl-C or SIGTERM, its log lines kept out of the chat."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

STOPPED_WITHIN = 3.0


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    env = {**os.environ, "PCMT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/pcmt.db",
           "PCMT_DATA_DIR": str(tmp_path / "data"), "PCMT_LOG_LEVEL": "INFO"}
    for name in ("PCMT_TELEGRAM_TOKEN", "PCMT_LOG_FILE"):
        env.pop(name, None)
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "bot", *args], stdin=terminal,
                               stdout=terminal, stderr=terminal, env=env, cwd=tmp_path)
    os.close(terminal)
    return process, controller


def _read_until(controller: int, wanted: bytes, timeout: float = 30.0) -> bytes:
    """What the terminal showed until it waits at a prompt after showing ``wanted``."""
    seen = b""
    deadline = time.monotonic() + timeout
    while not (wanted in seen and seen.rstrip(b" ").endswith(b">")):
        left = deadline - time.monotonic()
        assert left > 0, seen.decode(errors="replace")
        ready, _, _ = select.select([controller], [], [], left)
        if ready:
            try:
                seen += os.read(controller, 4096)
            except OSError:  # the other side closed
                break
    return seen


@pytest.mark.parametrize("command", [["chat", "--user", "t1"], ["run", "--user", "t2"]])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_terminal_chat_at_once_and_cleanly(
        tmp_path: Path, command: list[str], signum: signal.Signals) -> None:
    process, controller = _start(tmp_path, *command)
    try:
        _read_until(controller, "Gõ /start".encode())  # says how to begin
        os.write(controller, b"/start\n")
        shown = _read_until(controller, "Xin chào".encode())
        started = time.monotonic()
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < STOPPED_WITHIN
    finally:
        process.kill()
        os.close(controller)
    log = (tmp_path / "data" / "pcmt-bot.log").read_text()
    assert "event=app.stopped" in log
    assert "event=" not in shown.decode(errors="replace")  # no log line in the chat


def test_end_of_input_on_a_terminal_ends_the_chat(tmp_path: Path) -> None:
    process, controller = _start(tmp_path, "chat", "--user", "t3")
    try:
        _read_until(controller, "Gõ /start".encode())
        os.write(controller, b"\x04")  # Ctrl-D
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        os.close(controller)
    assert (tmp_path / "data" / "pcmt-bot.log").stat().st_mode & 0o777 == 0o600


def test_a_log_file_that_cannot_be_written_stops_start_up_with_one_line(
        tmp_path: Path) -> None:
    env = {**os.environ, "PCMT_LOG_FILE": "/proc/nope/pcmt.log", "PCMT_DATA_DIR": str(tmp_path),
           "PCMT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/pcmt.db"}
    done = subprocess.run([sys.executable, "-m", "bot", "chat"], input="", capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "PCMT_LOG_FILE" in done.stderr
