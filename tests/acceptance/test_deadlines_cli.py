"""``pcmt-bot admin deadlines`` as an administrator runs it: a bad rules file is refused with
its lines and loads nothing, ``list --json`` is what scripts read, ``report`` writes CSV."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

GOOD = """
[calendar]
working_days = [2027-02-13]

[[rule]]
id = "stats"
title.vi = "Báo cáo thống kê tháng"
title.en = "Monthly statistics"
role = "officer"
scope = ["26743", "26740"]
every = "month"
due_day = 27
reminders = [2, 0]
"""


@pytest.fixture
def admin(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PCMT_")}
    env.update(PCMT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/pcmt.db",
               PCMT_DATA_DIR=str(tmp_path))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "admin", "deadlines", *args],
                              env=env, cwd=tmp_path, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120)
    return run


def test_load_list_and_report(admin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rules = tmp_path / "rules.toml"
    rules.write_text(GOOD, encoding="utf-8")
    loaded = admin("load", str(rules))
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded 1 rules" in loaded.stdout and "1 extra working days" in loaded.stdout

    listed = admin("list", "--json")
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert {"id", "title", "role", "scope", "next_due", "reminders"} <= set(entry)
    assert (entry["id"], entry["role"], entry["scope"]) == ("stats", "officer",
                                                            ["26743", "26740"])
    due = date.fromisoformat(entry["next_due"])
    assert date.today() <= due and len(entry["reminders"]) == 2
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\+07:00", moment)
               for moment in entry["reminders"])
    assert entry["reminders"][-1].startswith(entry["next_due"])
    assert "stats\tofficer\t26743,26740\tnext due" in admin("list").stdout

    out = tmp_path / "report.csv"
    reported = admin("report", "--period", f"{due:%Y-%m}", "--csv", str(out))
    assert reported.returncode == 0, reported.stderr
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["unit"], row["status"], row["linked_chats"]) for row in rows] == [
        ("26743", "pending", "0"), ("26740", "pending", "0")]
    assert rows[0]["name"] == "Phường Bến Thành, Thành phố Hồ Chí Minh"

    unknown = admin("report", "--period", "2026-Q9", "--csv", str(out))
    assert unknown.returncode == 2 and "no rule has a period '2026-Q9'" in unknown.stderr


def test_a_bad_rules_file_is_refused_with_its_lines_and_loads_nothing(
        admin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shipped = json.loads(admin("list", "--json").stdout)
    assert len(shipped) == 7 and all(entry["default"] for entry in shipped)
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('"26740"', '"99999"').replace("due_day = 27", "due_day = 32"),
                   encoding="utf-8")
    refused = admin("load", str(bad))
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"pcmt-bot: {bad}:10: rule 'stats': unknown commune code(s) '99999'",
        f"pcmt-bot: {bad}:12: rule 'stats': due_day is a day of the month, 1 to 31 (a short "
        "month uses its last)",
        "pcmt-bot: nothing loaded (2 problem(s))",
    ]
    assert json.loads(admin("list", "--json").stdout) == shipped
    missing = admin("load", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
