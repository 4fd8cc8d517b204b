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
