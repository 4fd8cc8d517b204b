"""The console chat as a newcomer runs it: the installed ``pcmt-bot`` command, scripted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _chat(tmp_path: Path, user: str, script: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PCMT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/pcmt.db",
           "PCMT_DATA_DIR": str(tmp_path)}
    env.pop("PCMT_LOG_LEVEL", None)
    return subprocess.run([sys.executable, "-m", "bot", "chat", "--user", user], input=script,
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
                          check=True)


def test_scripted_start_greets_in_vietnamese_with_numbered_menu(tmp_path: Path) -> None:
    out = _chat(tmp_path, "x", "/start\n")
    assert "Xin chào" in out.stdout
    assert "  1. " in out.stdout and "Hỏi đáp" in out.stdout
    assert out.stderr == ""


def test_language_is_kept_across_processes_and_numbers_pick_options(tmp_path: Path) -> None:
    _chat(tmp_path, "y", "/lang en\n")
    out = _chat(tmp_path, "y", "/start\n4\n").stdout
    assert out.startswith("Hello")
    assert "question" in out and "report" in out
    assert "Đã chuyển sang tiếng Việt." in out  # option 4 is the language switch
