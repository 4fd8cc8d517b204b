"""Reading the CSV files officers import: a header row with the columns scripts rely on, then
each row read on its own, so that every bad row can be reported with its line and why."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

Row = TypeVar("Row")
Fields = dict[str, str | None]


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    reason: str


def read_rows(text: str, columns: Sequence[str], parse: Callable[[Fields], Row],
              ) -> tuple[list[tuple[int, Row]], list[BadRow]]:
    """Each row ``parse`` accepts with its line number, and each it refused (ValueError) with
    why; a missing column or an empty file is one bad row, line 1."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in columns if column not in (reader.fieldnames or [])]
    if missing:
        return [], [BadRow(1, f"missing columns: {', '.join(missing)}")]
    good, bad = [], []
    for row in reader:
        line = reader.line_num
        try:
            good.append((line, parse(row)))
        except ValueError as exc:
            bad.append(BadRow(line, str(exc)))
    if not good and not bad:
        bad.append(BadRow(1, "no rows"))
    return good, bad


def field(row: Fields, name: str) -> str:
    return (row.get(name) or "").strip()
