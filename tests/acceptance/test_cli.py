"""The one-shot commands as scripts use them: one query a line in, one JSON line out."""

from __future__ import annotations

import json
import subprocess
import sys


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
    assert set(results[0][0]) == {"code", "name", "province", "score"}
    assert results[2] == [] and results[4] == []
    assert [c["score"] for c in results[0]] == sorted((c["score"] for c in results[0]),
                                                       reverse=True)


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
