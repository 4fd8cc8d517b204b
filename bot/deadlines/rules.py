"""Deadline rules as data: the TOML file an administrator edits, checked entry by entry.

A rules file holds ``[[rule]]`` tables and an optional ``[calendar]`` table with the working
days the government swaps each year. Every problem is reported with the line it is on, and a
file with any problem loads nothing: a half-loaded calendar of deadlines would be worse than
the old one.

Rule kinds:

- **recurring**: ``every`` a ``month``, ``quarter``, ``six_months`` (January to June),
  ``nine_months`` (January to September) or ``year``, due either on ``due_day`` of the
  period's last month or ``after_window`` working days after the data window closes (the
  ``window_closes`` day of that month, the 14th unless set);
- **once**: due on ``date``;
- **case**: started by an ``event`` (``positive_test``), due ``working_days`` after it.

A due date that falls on a day off moves to the working day before it (``day_off =
"earlier"``, the default: better early than late) or after it (``"later"``).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bot.errors import DeadlineRulesError

DEFAULT_RULES = Path(__file__).resolve().parent / "default_rules.toml"

EVERY = ("month", "quarter", "six_months", "nine_months", "year")
KINDS = ("recurring", "once", "case")
ROLES = ("officer", "supervisor")
EVENTS = ("positive_test",)
LANGUAGES = ("vi", "en")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_KEYS = frozenset({"id", "title", "kind", "role", "scope", "every", "due_day", "after_window",
                   "window_closes", "date", "event", "working_days", "day_off", "reminders",
                   "default", "basis"})

Scope = str | tuple[str, ...]
"""``"all"``, a province code, or commune codes."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: Mapping[str, str]
    kind: str
    role: str
    scope: Scope = "all"
    every: str | None = None
    due_day: int | None = None
    after_window: int | None = None
    window_closes: int = 14
    day: date | None = None
    """The due date of a one-off rule (``date`` in the file)."""
    event: str | None = None
    working_days: int | None = None
    day_off: str = "earlier"
    reminders: tuple[int, ...] | None = None
    """Working days before the due date; None takes ``PCMT_DEADLINE_REMINDER_DAYS``."""
    default: bool = False
    """Shipped from the facts we have, not confirmed for today's reporting chain."""
    basis: str = ""

    def title_in(self, language: str) -> str:
        return self.title.get(language) or self.title["vi"]

    def to_json(self) -> str:
        body = asdict(self)
        body["day"] = self.day.isoformat() if self.day else None
        body["scope"] = self.scope if isinstance(self.scope, str) else list(self.scope)
        return json.dumps(body, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> Rule:
        body = json.loads(raw)
        body["day"] = date.fromisoformat(body["day"]) if body["day"] else None
        if not isinstance(body["scope"], str):
            body["scope"] = tuple(body["scope"])
        if body["reminders"] is not None:
            body["reminders"] = tuple(body["reminders"])
        return cls(**body)


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    extra_working_days: frozenset[date] = field(default_factory=frozenset)
    extra_days_off: frozenset[date] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Places:
    """The codes a scope may name."""

    communes: Collection[str]
    provinces: Collection[str]


class _Lines:
    """Where things are in the file, for messages: tomllib gives values, not positions."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers = [number for number, line in enumerate(self.lines, start=1)
                        if re.match(r"^\s*\[\[\s*rule\s*\]\]", line)]
        self.calendar = next((number for number, line in enumerate(self.lines, start=1)
                              if re.match(r"^\s*\[\s*calendar\s*\]", line)), 1)

    def of(self, index: int, key: str | None = None) -> int:
        """The line of rule ``index``'s ``key`` (its header when the key is not written)."""
        start = self.headers[index] if index < len(self.headers) else 1
        end = self.headers[index + 1] if index + 1 < len(self.headers) else len(self.lines) + 1
        if key is not None:
            pattern = re.compile(rf"^\s*{re.escape(key)}\s*[.=]")
            for number in range(start, end):
                if pattern.match(self.lines[number - 1]):
                    return number
        return start


def load(path: Path, places: Places) -> RuleSet:
    """The rules in ``path``; :class:`DeadlineRulesError` lists every problem, with lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DeadlineRulesError([f"{path}: cannot read: {exc}"]) from None
    return parse(text, places, name=str(path))


def parse(text: str, places: Places, *, name: str = "<rules>") -> RuleSet:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DeadlineRulesError([f"{name}: not valid TOML: {exc}"]) from None
    lines = _Lines(text)
    problems: list[str] = []
    unknown = sorted(set(document) - {"rule", "calendar"})
    if unknown:
        problems.append(f"{name}:1: unknown table(s) {', '.join(unknown)}: use [[rule]] and "
                        "[calendar]")
    entries = document.get("rule", [])
    if not isinstance(entries, list) or not entries:
        problems.append(f"{name}:1: no [[rule]] entries: nothing would be reminded")
        entries = []
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        report = _reporter(problems, name, lines, index, entry)
        if not isinstance(entry, dict):
            report(None, "not a table")
            continue
        rule_id = entry.get("id")
        if isinstance(rule_id, str) and rule_id in seen:
            report("id", f"id used twice (first on line {seen[rule_id]})")
        elif isinstance(rule_id, str):
            seen[rule_id] = lines.of(index, "id")
        rule = _rule(entry, places, report)
        if rule is not None:
            rules.append(rule)
    working, off = _calendar(document.get("calendar", {}), name, lines.calendar, problems)
    if problems:
        raise DeadlineRulesError(problems)
    return RuleSet(tuple(rules), working, off)


Report = Callable[[str | None, str], None]


def _reporter(problems: list[str], name: str, lines: _Lines, index: int,
              entry: object) -> Report:
    """Problems of rule ``index`` as ``file:line: rule 'id': message``."""
    given = entry.get("id") if isinstance(entry, dict) else None
    rule_id = given if isinstance(given, str) else f"#{index + 1}"

    def report(key: str | None, message: str) -> None:
        problems.append(f"{name}:{lines.of(index, key)}: rule {rule_id!r}: {message}")
    return report


def _rule(entry: dict[str, Any], places: Places, report: Report) -> Rule | None:
    """One ``[[rule]]`` checked; None (having reported why) when it is not usable."""
    before = _Counter(report)
    check = before.report
    for key in sorted(set(entry) - _KEYS):
        check(key, f"unknown key {key!r}")
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        check("id", "id must be lowercase letters, digits and dashes (at most 40)")
    title = entry.get("title")
    if not (isinstance(title, dict) and all(isinstance(title.get(lang), str)
                                             and title[lang].strip() for lang in LANGUAGES)):
        check("title", "title needs title.vi and title.en")
    kind = _choice(entry, "kind", KINDS, check, "recurring")
    role = _choice(entry, "role", ROLES, check)
    day_off = _choice(entry, "day_off", ("earlier", "later"), check, "earlier")
    scope = _scope(entry.get("scope", "all"), role, places, check)
    reminders = entry.get("reminders")
    if reminders is not None and not (
            isinstance(reminders, list) and reminders
            and all(_whole(value, 0, 30) for value in reminders)):
        check("reminders", "reminders is a list of working days before the due date, 0 to 30")
    details = _KIND_CHECKS[kind](entry, check) if kind in _KIND_CHECKS else {}
    if not isinstance(entry.get("default", False), bool):
        check("default", "default is true or false")
    if not isinstance(entry.get("basis", ""), str):
        check("basis", "basis is text")
    if before.count:
        return None
    assert isinstance(rule_id, str) and isinstance(title, dict) and role is not None
    return Rule(id=rule_id, title={lang: title[lang].strip() for lang in LANGUAGES},
                kind=str(kind), role=role, scope=scope, day_off=str(day_off),
                reminders=tuple(sorted(set(reminders), reverse=True)) if reminders else None,
                default=bool(entry.get("default", False)), basis=entry.get("basis", ""),
                **details)


class _Counter:
    def __init__(self, report: Report) -> None:
        self._report = report
        self.count = 0

    def report(self, key: str | None, message: str) -> None:
        self.count += 1
        self._report(key, message)


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _choice(entry: dict[str, Any], key: str, allowed: tuple[str, ...], report: Report,
            default: str | None = None) -> str | None:
    value = entry.get(key, default)
    if value not in allowed:
        report(key, f"{key} must be one of {', '.join(allowed)} (not {value!r})")
        return None
    return str(value)


def _scope(value: object, role: str | None, places: Places, report: Report) -> Scope:
    if value == "all":
        return "all"
    if isinstance(value, str):
        code = value.strip().zfill(2)
        if code not in places.provinces:
            report("scope", f"unknown province code {value!r}")
        return code
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        report("scope", 'scope is "all", a province code or a list of commune codes')
        return "all"
    if role == "supervisor":
        report("scope", "a supervisor's rule covers all provinces or one province, not communes")
    unknown = [code for code in value if code not in places.communes]
    if unknown:
        report("scope", f"unknown commune code(s) {', '.join(map(repr, unknown))}")
    return tuple(dict.fromkeys(value))


def _recurring(entry: dict[str, Any], report: Report) -> dict[str, Any]:
    every = _choice(entry, "every", EVERY, report)
    due_day, after = entry.get("due_day"), entry.get("after_window")
    window = entry.get("window_closes", 14)
    if (due_day is None) == (after is None):
        report("due_day", "a recurring rule has due_day or after_window (one of them)")
    elif due_day is not None and not _whole(due_day, 1, 31):
        report("due_day", "due_day is a day of the month, 1 to 31 (a short month uses its last)")
    elif after is not None and not _whole(after, 0, 30):
        report("after_window", "after_window is a number of working days, 0 to 30")
    if not _whole(window, 1, 28):
        report("window_closes", "window_closes is a day of the month, 1 to 28")
    _refuse(entry, ("date", "event", "working_days"), "recurring", report)
    return {"every": every, "due_day": due_day, "after_window": after, "window_closes": window}


def _once(entry: dict[str, Any], report: Report) -> dict[str, Any]:
    day = entry.get("date")
    if not isinstance(day, date):
        report("date", "a one-off rule has date = YYYY-MM-DD (no quotes)")
    _refuse(entry, ("every", "due_day", "after_window", "event", "working_days"), "one-off",
            report)
    return {"day": day}


def _case(entry: dict[str, Any], report: Report) -> dict[str, Any]:
    event = _choice(entry, "event", EVENTS, report)
    days = entry.get("working_days")
    if not _whole(days, 1, 60):
        report("working_days", "a case rule has working_days, 1 to 60, after the event")
    _refuse(entry, ("every", "due_day", "after_window", "date"), "case", report)
    return {"event": event, "working_days": days}


def _refuse(entry: dict[str, Any], keys: tuple[str, ...], kind: str, report: Report) -> None:
    for key in keys:
        if key in entry:
            report(key, f"{key} does not apply to a {kind} rule")


_KIND_CHECKS: dict[str, Callable[[dict[str, Any], Report], dict[str, Any]]] = {
    "recurring": _recurring, "once": _once, "case": _case}


def _calendar(table: object, name: str, line: int,
              problems: list[str]) -> tuple[frozenset[date], frozenset[date]]:
    if not isinstance(table, dict):
        problems.append(f"{name}:{line}: [calendar] must be a table")
        return frozenset(), frozenset()
    days: dict[str, frozenset[date]] = {}
    for key in ("working_days", "days_off"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(d, date) for d in value):
            problems.append(f"{name}:{line}: calendar.{key} is a list of dates (YYYY-MM-DD)")
            value = []
        days[key] = frozenset(value)
    for key in sorted(set(table) - {"working_days", "days_off"}):
        problems.append(f"{name}:{line}: unknown calendar key {key!r}")
    both = days["working_days"] & days["days_off"]
    if both:
        problems.append(f"{name}:{line}: {', '.join(sorted(map(str, both)))} both a working "
                        "day and a day off")
    return days["working_days"], days["days_off"]
