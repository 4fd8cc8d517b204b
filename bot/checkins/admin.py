"""``pcmt-bot admin enroll --csv FILE`` and ``pcmt-bot admin appointments --csv FILE``:
validate the whole file, then store its rows and print one line each.

``enroll`` prints the name, a tab, the one-time link code, and for Telegram the deep link;
``appointments`` the name, a tab, the appointment's local time, a tab, its kind.
Nothing is stored when any row is bad (a row the file spells wrong, or one naming nobody
enrolled), unless ``--partial``: then the good rows are. Bad rows go to standard error with
their line number and why; the exit code is 1 when any was bad, 0 otherwise.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.checkins import appointment_csv
from bot.checkins.appointments import when
from bot.checkins.csvrows import BadRow
from bot.checkins.enrolment import enrol, read_csv
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, audit

EXIT_BAD_ROWS = 1
OpenStore = Callable[[Settings, Services], Awaitable[Store]]
Rows = list[tuple[int, Any]]
Save = Callable[[AsyncConnection, Rows, datetime], Awaitable[tuple[list[str], list[BadRow]]]]


class _Refused(Exception):
    """Rows the database turned down without ``--partial``: the transaction is rolled back."""


def enroll(settings: Settings, services: Services, path: Path, *, partial: bool,
           open_store: OpenStore) -> int:
    async def prepare() -> Save:
        link = await _telegram_username(settings)  # asked before any transaction is open

        async def save(conn: AsyncConnection, rows: Rows,
                       now: datetime) -> tuple[list[str], list[BadRow]]:
            lines = []
            for _line, person in rows:
                code = await enrol(conn, services.keyring, settings, person, now)
                deep = f"\thttps://t.me/{link}?start={code}" if link else ""
                lines.append(f"{person.name}\t{code}{deep}")
            await audit.record(conn, at=now, actor="admin", action="enrolment.created",
                               detail=str(len(lines)))
            return lines, []
        return save

    return _run(path, partial, open_store, settings, services,
                lambda text: read_csv(text, services.communes), prepare)


def appointments(settings: Settings, services: Services, path: Path, *, partial: bool,
                 open_store: OpenStore) -> int:
    async def save(conn: AsyncConnection, rows: Rows,
                   now: datetime) -> tuple[list[str], list[BadRow]]:
        done, bad = await appointment_csv.save(conn, services.keyring, rows, now)
        await audit.record(conn, at=now, actor="admin", action="appointment.created",
                           detail=str(len(done)))
        return [f"{row.name}\t{when(row.at)}\t{row.details.kind}" for _line, row in done], bad

    async def prepare() -> Save:
        return save

    return _run(path, partial, open_store, settings, services,
                lambda text: appointment_csv.read_csv(text, services.communes), prepare)


def _run(path: Path, partial: bool, open_store: OpenStore, settings: Settings,
         services: Services, parse: Callable[[str], tuple[Rows, list[BadRow]]],
         prepare: Callable[[], Awaitable[Save]]) -> int:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"pcmt-bot: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    good, bad = parse(text)
    if bad and not partial:
        return _refuse(path, bad)
    return asyncio.run(_store(path, partial, open_store, settings, services, good, bad, prepare))


async def _store(path: Path, partial: bool, open_store: OpenStore, settings: Settings,
                 services: Services, good: Rows, bad: list[BadRow],
                 prepare: Callable[[], Awaitable[Save]]) -> int:
    save = await prepare()
    store = await open_store(settings, services)
    try:
        async with store.transaction() as conn:
            lines, refused = await save(conn, good, datetime.now(UTC))
            if refused and not partial:
                raise _Refused
    except _Refused:
        return _refuse(path, sorted([*bad, *refused], key=lambda row: row.line))
    finally:
        await store.close()
    _report(path, sorted([*bad, *refused], key=lambda row: row.line))
    for line in lines:
        print(line)
    return EXIT_BAD_ROWS if bad or refused else 0


def _report(path: Path, bad: list[BadRow]) -> None:
    for row in bad:
        print(f"{path}:{row.line}: {row.reason}", file=sys.stderr)


def _refuse(path: Path, bad: list[BadRow]) -> int:
    _report(path, bad)
    print(f"pcmt-bot: {len(bad)} bad row(s), nothing imported (--partial imports the rest)",
          file=sys.stderr)
    return EXIT_BAD_ROWS


async def _telegram_username(settings: Settings) -> str | None:
    """The bot's username for deep links; None without Telegram or when it cannot be asked."""
    if settings.telegram_token is None:
        return None
    from telegram import Bot
    from telegram.error import TelegramError

    bot = Bot(settings.telegram_token.get_secret_value(), base_url=settings.telegram_base_url)
    try:
        async with bot:
            return bot.username
    except TelegramError as exc:
        print(f"pcmt-bot: no deep links, Telegram did not answer: {type(exc).__name__}",
              file=sys.stderr)
        return None
