"""``pcmt-bot admin deadlines``: load the rules, list them with their next due dates, export
where every commune stands for a period."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import local
from bot.deadlines import (
    Book,
    ensure_defaults,
    load_rules,
    open_book,
    period_due,
    places_of,
    province_of,
    timing,
    unit_name,
    units,
)
from bot.deadlines.periods import Period, next_due, parse_period
from bot.deadlines.rules import Rule, load
from bot.errors import DeadlineRulesError
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, audit
from bot.store import deadlines as store
from bot.store.deadlines import Deadline

OpenStore = Callable[[Settings, Services], Awaitable[Store]]
CSV_COLUMNS = ("rule", "title", "period", "due", "unit", "name", "province", "status",
               "submitted_at", "submitted_by", "linked_chats")


def add_parser(admin_commands: Any) -> None:
    """``admin deadlines load|list|report`` on the ``admin`` sub-command parsers."""
    parser = admin_commands.add_parser("deadlines", help="reporting deadline rules and reports")
    actions = parser.add_subparsers(dest="deadlines_command", required=True, metavar="ACTION")
    loading = actions.add_parser("load", help="check a rules file and load it (all or nothing)")
    loading.add_argument("file", type=Path, metavar="FILE")
    listing = actions.add_parser("list", help="each rule with its next due date and reminders")
    listing.add_argument("--json", action="store_true", help="a JSON list of objects")
    report = actions.add_parser("report", help="where each commune stands for a period, as CSV")
    report.add_argument("--period", required=True,
                        help="2026-11, 2026-Q4, 2026-H1, 2026-9M, 2026, or a one-off's date")
    report.add_argument("--csv", required=True, metavar="FILE", help="the file to write (- for "
                        "standard output)")
    report.add_argument("--rule", metavar="ID", help="only this rule")


async def run(settings: Settings, services: Services, args: argparse.Namespace,
              open_store: OpenStore) -> int:
    if args.deadlines_command == "load":
        try:
            rule_set = load(args.file, places_of(*services.commune_list))
        except DeadlineRulesError as exc:
            for problem in exc.problems:
                print(f"pcmt-bot: {problem}", file=sys.stderr)
            print(f"pcmt-bot: nothing loaded ({len(exc.problems)} problem(s))", file=sys.stderr)
            return 2
    the_store = await open_store(settings, services)
    try:
        async with the_store.transaction() as conn:
            now = datetime.now(UTC)
            if args.deadlines_command == "load":
                counts = await load_rules(conn, rule_set, now)
                await audit.record(conn, at=now, actor="admin", action="deadline.rules_loaded",
                                   subject=args.file.name[:64], detail=json.dumps(counts))
                print(f"loaded {len(rule_set.rules)} rules from {args.file}: {counts['added']} "
                      f"new, {counts['changed']} changed, {counts['retired']} no longer in the "
                      f"file (kept, inactive); calendar: {len(rule_set.extra_working_days)} "
                      f"extra working days, {len(rule_set.extra_days_off)} extra days off")
                return 0
            # Before the bot's first start, the rules it would load are what there is.
            await ensure_defaults(conn, places_of(*services.commune_list), now)
            if args.deadlines_command == "list":
                await _list(conn, settings, args.json, now)
                return 0
            return await _report(conn, services, args, now)
    finally:
        await the_store.close()


# --- list ------------------------------------------------------------------------------------

async def _list(conn: AsyncConnection, settings: Settings, as_json: bool, now: datetime) -> None:
    book, today = await open_book(conn), local(now).date()
    cases = await store.cases_due_since(conn, today)
    entries = []
    for rule in book.rules.values():
        if rule.kind == "case":
            due = min((c.due_on for c in cases if c.rule_id == rule.id), default=None)
        else:
            found = next_due(rule, today, book.calendar)
            due = found[1] if found else None
        plan = timing(settings, rule)
        days = plan.reminder_days(due, book.calendar) if due is not None else []
        entries.append((rule, due, [plan.moment(day).isoformat() for day in days]))
    if as_json:
        print(json.dumps([_json(rule, due, reminders, settings.default_language)
                          for rule, due, reminders in entries], ensure_ascii=False, indent=2))
    elif not entries:
        print("no deadline rule is loaded")
    for rule, due, reminders in [] if as_json else entries:
        scope = rule.scope if isinstance(rule.scope, str) else ",".join(rule.scope)
        mark = " (default, unconfirmed)" if rule.default else ""
        print(f"{rule.id}\t{rule.role}\t{scope}\tnext due {due or '-'}"
              f"\t{rule.title_in(settings.default_language)}{mark}")
        for moment in reminders:
            print(f"\treminder {moment}")


def _json(rule: Rule, due: date | None, reminders: list[str], language: str) -> dict[str, Any]:
    return {"id": rule.id, "title": rule.title_in(language), "titles": dict(rule.title),
            "kind": rule.kind, "role": rule.role,
            "scope": rule.scope if isinstance(rule.scope, str) else list(rule.scope),
            "next_due": due.isoformat() if due else None, "reminders": reminders,
            "default": rule.default, "basis": rule.basis}


# --- report ----------------------------------------------------------------------------------

async def _report(conn: AsyncConnection, services: Services, args: argparse.Namespace,
                  now: datetime) -> int:
    book = await open_book(conn)
    pairs = await _of_period(conn, book, args.period, now)
    if args.rule is not None:
        pairs = [(rule, deadline) for rule, deadline in pairs if rule.id == args.rule]
    if not pairs:
        print(f"pcmt-bot: no rule has a period {args.period!r}"
              f"{f' for rule {args.rule!r}' if args.rule else ''} (periods look like 2026-11, "
              "2026-Q4, 2026-H1, 2026-9M, 2026, or a one-off rule's date)", file=sys.stderr)
        return 2
    today = local(now).date()
    rows = [row for rule, deadline in pairs
            for row in await _rows(conn, services, rule, deadline, today)]
    await audit.record(conn, at=now, actor="admin", action="deadline.report",
                       subject=args.period[:64], detail=str(len(rows)))
    if args.csv == "-":
        _write(sys.stdout, rows)
    else:
        await asyncio.to_thread(_write_file, Path(args.csv), rows)
        print(f"wrote {len(rows)} rows for {len(pairs)} deadline(s) of {args.period} to "
              f"{args.csv}")
    return 0


async def _of_period(conn: AsyncConnection, book: Book, period: str,
                     now: datetime) -> list[tuple[Rule, Deadline]]:
    """The deadlines of ``period``: the rows made so far, and the recurring or one-off rules
    that have such a period (made now, as their first reminder would)."""
    found = {deadline.rule_id: deadline for deadline in await store.of_period(conn, period)}
    parsed = parse_period(period)
    for rule in book.rules.values():
        if rule.id in found or rule.kind == "case":
            continue
        if rule.kind == "recurring" and parsed is not None and parsed[0] == rule.every:
            due = period_due(rule, parsed[1], book)
        elif rule.kind == "once" and rule.day is not None and rule.day.isoformat() == period:
            due = period_due(rule, Period(period, rule.day.year, rule.day.month), book)
        else:
            continue
        if due is not None:
            found[rule.id] = await store.upsert(conn, rule_id=rule.id, period=period, due_on=due,
                                                now=now)
    return [(book.rules[rule_id], deadline) for rule_id, deadline in sorted(found.items())
            if rule_id in book.rules]


async def _rows(conn: AsyncConnection, services: Services, rule: Rule, deadline: Deadline,
                today: date) -> list[dict[str, object]]:
    index = services.communes
    done = await store.submissions(conn, deadline.id)
    chats = await store.inboxes_by_unit(conn, rule.role)
    rows: list[dict[str, object]] = []
    for unit in units(rule, deadline, index):
        submission = done.get(unit)
        if submission is not None:
            day = local(submission.submitted_at).date()
            status = "on_time" if day <= deadline.due_on else "late"
        else:
            status = "missing" if today > deadline.due_on else "pending"
        rows.append({
            "rule": rule.id, "title": rule.title_in("vi"), "period": deadline.period,
            "due": deadline.due_on.isoformat(), "unit": unit,
            "name": unit_name(rule, unit, index), "province": province_of(rule, unit, index),
            "status": status,
            "submitted_at": local(submission.submitted_at).isoformat() if submission else "",
            "submitted_by": submission.submitted_by if submission else "",
            "linked_chats": len(chats.get(unit, ())),
        })
    return rows


def _write_file(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        _write(handle, rows)


def _write(handle: TextIO, rows: list[dict[str, object]]) -> None:
    writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
