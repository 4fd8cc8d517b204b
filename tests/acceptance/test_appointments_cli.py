"""``pcmt-bot admin appointments --csv FILE`` as an administrator runs it, after ``admin
enroll``: the whole file checked first (rows the file spells wrong and rows naming nobody
enrolled), nothing stored when a row is bad unless ``--partial``."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import VIETNAM

ROOT = Path(__file__).resolve().parents[2]


def _admin(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PCMT_")}
    env.update(PCMT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/pcmt.db",
               PCMT_DATA_DIR=str(tmp_path))
    return subprocess.run([sys.executable, "-m", "bot", "admin", *args], env=env, cwd=tmp_path,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def test_appointments_from_a_csv_file(tmp_path: Path) -> None:
    enrolled = _admin(tmp_path, "enroll", "--csv", str(ROOT / "examples" / "enrolments.csv"))
    assert enrolled.returncode == 0, enrolled.stderr
    day = (datetime.now(VIETNAM) + timedelta(days=3)).date()
    path = tmp_path / "appointments.csv"
    path.write_text("name,commune,date,time,kind,place\n"
                    f"Anh Tư (synthetic),26743,{day},09:30,drug_test,Công an phường\n"
                    f"Nobody,26743,{day},09:30,drug_test,\n"
                    f"Minh (synthetic),26743,2020-01-01,09:30,counselling,\n", encoding="utf-8")
    refused = _admin(tmp_path, "appointments", "--csv", str(path))
    assert refused.returncode == 1 and not refused.stdout
    assert f"{path}:3: nobody enrolled as 'Nobody' in commune 26743" in refused.stderr
    assert f"{path}:4: the appointment's time has passed" in refused.stderr
    assert "nothing imported" in refused.stderr
    partial = _admin(tmp_path, "appointments", "--csv", str(path), "--partial")
    assert partial.returncode == 1, partial.stderr
    assert partial.stdout.splitlines() == [
        f"Anh Tư (synthetic)\t09:30 {day:%d/%m/%Y}\tdrug_test"]
    assert f"{path}:3:" in partial.stderr
    spelled = _admin(tmp_path, "appointments", "--csv", str(path.with_suffix(".txt")))
    assert spelled.returncode == 2 and "cannot read" in spelled.stderr
