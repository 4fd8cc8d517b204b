"""The one-shot commands as scripts use them: one query a line in, one JSON line out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _run(*args: str, stdin: str) -> list[str]:
    result = subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, text=True,
                            capture_output=True, timeout=120, check=True)
    return result.stdout.splitlines()


def test_communes_search_json_lines() -> None:
    queries = ["phuong ben thanh tp hcm", "Phường Hoàn Kiếm, Hà Nội", "", "x" * 10_000, "🙂"]
    lines = _run("communes", "search", "--json", "-", stdin="\n".join(queries) + "\n")
    assert len(lines) == len(queries)
    results = [json.loads(line) for line in lines]
    assert results[0][0]["name"] == "Phường Bến Thành"
    assert results[0][0]["province"] == "Thành phố Hồ Chí Minh"
    assert results[1][0]["code"] == "00070"
    assert set(results[0][0]) == {"code", "name", "province", "score", "old"}
    assert results[2] == [] and results[4] == []
    assert [c["score"] for c in results[0]] == sorted((c["score"] for c in results[0]),
                                                       reverse=True)


def test_communes_search_shows_the_old_name_it_matched_and_nothing_for_nonsense() -> None:
    queries = ["phuong ben nghe quan 1", "xa khong ton tai", "Phường Bến Thành, TP HCM"]
    results = [json.loads(line) for line in _run("communes", "search", "--json", "-",
                                                 stdin="\n".join(queries) + "\n")]
    assert results[0][0]["name"] == "Phường Sài Gòn"
    assert results[0][0]["old"] == "Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh"
    assert results[1] == []
    assert results[2][0]["old"] is None  # today's name, found as it is
    text = _run("communes", "search", "phuong ben nghe quan 1", stdin="")
    assert text == ["26740 Phường Sài Gòn, Thành phố Hồ Chí Minh "
                    "(before 2025: Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh)"]
    assert _run("communes", "search", "xa khong ton tai", stdin="") == ["-"]


def test_ask_json_lines() -> None:
    questions = ["ma tuy da la gi", "Ma túy đá là gì?", "what is meth", "thời tiết mai thế nào",
                 "", "x" * 10_000, "tôi uống cả vỉ thuốc, muốn chết"]
    lines = _run("ask", "--json", "-", stdin="\n".join(questions) + "\n")
    assert len(lines) == len(questions)
    answers = [json.loads(line) for line in lines]
    for answer in answers:
        assert {"answer", "entry_id", "score", "confident", "lang", "suggestions"} <= set(answer)
        assert answer["answer"] and answer["confident"] == (answer["entry_id"] is not None)
    assert [a["entry_id"] for a in answers[:3]] == ["substances-meth"] * 3
    assert [a["lang"] for a in answers[:3]] == ["vi", "vi", "en"]
    assert "Methamphetamine" in answers[2]["answer"] or "meth" in answers[2]["answer"]
    assert answers[3]["entry_id"] is None and answers[3]["suggestions"] == []
    assert answers[6]["safety"] is True and "115" in answers[6]["answer"]


def test_ask_answers_one_question_in_the_language_asked_for() -> None:
    lines = _run("ask", "--lang", "en", "ma", "tuy", "da", "la", "gi", stdin="")
    assert lines and "Tiếng Việt" not in lines[0]
    assert any("meth" in line.lower() for line in lines)


COMMANDS = [["run"], ["chat"], ["db", "upgrade"], ["admin", "unrouted"],
            ["admin", "invite", "--role", "supervisor", "--province", "79"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("broken", ["database", "data_dir"])
def test_an_unusable_database_or_data_folder_exits_2_with_one_line(
        tmp_path: Path, command: list[str], broken: str) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PCMT_")}
    if broken == "database":
        env.update(PCMT_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/x",
                   PCMT_DATA_DIR=str(tmp_path))
    else:
        if command == ["db", "upgrade"]:
            pytest.skip("the schema upgrade reads no file of the data folder")
        env.update(PCMT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/pcmt.db",
                   PCMT_DATA_DIR="/proc/nope")
    result = subprocess.run([sys.executable, "-m", "bot", *command], env=env, cwd=tmp_path,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("pcmt-bot: ") and "Traceback" not in result.stderr
