"""Enrolling people: the CSV officers import (validated whole before anything is stored), the
one-time link code, and linking the person who sends it.

CSV columns (a header row; more columns are ignored): ``name,commune,type,start,cadence,time,
language``, optionally ``end`` (required for ``type=custom``), ``case_officer`` and ``ask_use``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.checkins import seal_name
from bot.checkins.csvrows import BadRow, Fields, field, read_rows
from bot.checkins.schedule import CADENCES, KINDS, end_of, parse_time
from bot.conversation.i18n import LANGUAGES
from bot.geo import CommuneIndex
from bot.officials.invites import invite_hash
from bot.security.privacy import Keyring, new_ticket_code
from bot.settings import Settings
from bot.store import checkins
from bot.store.checkins import Enrolment

COLUMNS = ("name", "commune", "type", "start", "cadence", "time", "language")
MAX_NAME = 80


@dataclass(frozen=True, slots=True)
class Enrolee:
    name: str
    commune_code: str
    province_code: str
    kind: str
    starts_on: date
    ends_on: date
    cadence: str
    local_time: str
    language: str
    case_officer: str = ""
    ask_use: bool = False
    case_inbox_id: int | None = None
    """The enrolling officer's own inbox (``/enroll`` in their private chat)."""


def read_csv(text: str, communes: CommuneIndex) -> tuple[list[tuple[int, Enrolee]], list[BadRow]]:
    """Every row as an :class:`Enrolee` with its line number, and every bad row with why."""
    return read_rows(text, COLUMNS, lambda row: enrolee(row, communes))


def enrolee(row: Fields, communes: CommuneIndex) -> Enrolee:
    """One person from named fields; ValueError says what is wrong."""
    name = field(row, "name")
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"name must be 1-{MAX_NAME} characters")
    commune = communes.get(field(row, "commune"))
    if commune is None:
        raise ValueError(f"unknown commune code {field(row, 'commune')!r}")
    kind = field(row, "type")
    if kind not in KINDS:
        raise ValueError(f"type must be one of {', '.join(KINDS)}")
    starts_on = _date(field(row, "start"), "start")
    ends_on = end_of(kind, starts_on) or _date(field(row, "end"), "end (needed for type custom)")
    if ends_on < starts_on:
        raise ValueError("end is before start")
    cadence = field(row, "cadence") or "weekly"
    if cadence not in CADENCES:
        raise ValueError(f"cadence must be one of {', '.join(CADENCES)}")
    try:
        at = parse_time(field(row, "time") or "09:00")
    except ValueError:
        raise ValueError("time must be HH:MM (Vietnam time)") from None
    language = field(row, "language") or "vi"
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    return Enrolee(name, commune.code, commune.province_code, kind, starts_on, ends_on, cadence,
                   at.strftime("%H:%M"), language, field(row, "case_officer")[:MAX_NAME],
                   field(row, "ask_use").lower() in ("yes", "true", "1"))


def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} must be a date, YYYY-MM-DD") from None


async def enrol(conn: AsyncConnection, keyring: Keyring, settings: Settings, person: Enrolee,
                now: datetime) -> str:
    """Store ``person`` as invited; the one-time code they link with (shown once)."""
    code = new_ticket_code()
    await checkins.enrol(
        conn, commune_code=person.commune_code, province_code=person.province_code,
        name=seal_name(keyring, person.name),
        case_officer=seal_name(keyring, person.case_officer) if person.case_officer else None,
        kind=person.kind, starts_on=person.starts_on, ends_on=person.ends_on,
        cadence=person.cadence, local_time=person.local_time, language=person.language,
        ask_use=person.ask_use, link_hash=link_hash(keyring, code),
        link_expires_at=now + timedelta(days=settings.checkin_link_days), now=now,
        case_inbox_id=person.case_inbox_id)
    return code


def link_hash(keyring: Keyring, code: str) -> str:
    # the same keyed hash as police invites: one code space, one way to check a code
    return invite_hash(keyring, code)


async def find(conn: AsyncConnection, keyring: Keyring, code: str,
               now: datetime) -> Enrolment | None:
    return await checkins.by_link(conn, link_hash(keyring, code), now)
