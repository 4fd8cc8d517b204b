"""Every benchmark runs as a smoke run, so the figures that docs/benchmarks.md quotes stay
reproducible: a benchmark that no longer starts, or whose checks fail, fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("module", "expected"), [
    ("bench.faq", ["top-1 accuracy", "out-of-scope fallback", "latency p50 / p99", "x20",
                   "blind set"]),
    ("bench.communes", ["latency per query", "targets met"]),
    ("bench.telegram", ["echo", "pcmt-bot", "ratio"]),
    ("bench.zalo_oa", ["client", "channel", "messages/s", "channel/client ratio"]),
    ("bench.checkins", ["sqlite:", "planned at", "250,000 would take"]),
    ("bench.deadlines", ["reminders in", "duplicates queued by the second tick of a day: 0"]),
    ("bench.inbox", ["floor (answer at once)", "pcmt-bot on sqlite", "ack p50"]),
    ("bench.delivery", ["delivery: ", "of the allowed rate", "(pcmt-bot, SQLite)",
                        "(python-telegram-bot AIORateLimiter)", "0 lost, 0 duplicates (pcmt-bot"]),
])
def test_benchmark_smoke_run(module: str, expected: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", module, "--quick"], cwd=ROOT, text=True,
                            capture_output=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for figure in expected:
        assert figure in result.stdout, (figure, result.stdout[-2000:])
