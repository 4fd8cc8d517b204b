"""The appointments CSV of ``pcmt-bot admin appointments``: one appointment a row, for a person
enrolled before, found by the name they were enrolled under and their commune.

Columns (a header row; more columns are ignored): ``name,commune,date,time,kind``, optionally
``place``. ``date`` is YYYY-MM-DD, ``time`` HH:MM in Vietnam time, ``kind`` one of
``drug_test``, ``counselling``, ``methadone``, ``other``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.checkins import name_of
from bot.checkins.appointments import BOOKABLE, KINDS, MAX_PLACE, Details, record
from bot.checkins.csvrows import BadRow, Fields, field, read_rows
from bot.checkins.schedule import parse_time
from bot.clock import VIETNAM
from bot.geo import CommuneIndex
from bot.security.privacy import Keyring
from bot.store import checkins
from bot.store.checkins import Enrolment

COLUMNS = ("name", "commune", "date", "time", "kind")


@dataclass(frozen=True, slots=True)
class Planned:
    name: str
    commune_code: str
    province_code: str
    at: datetime
    details: Details


def read_csv(text: str, communes: CommuneIndex) -> tuple[list[tuple[int, Planned]], list[BadRow]]:
    return read_rows(text, COLUMNS, lambda row: planned(row, communes))


def planned(row: Fields, communes: CommuneIndex) -> Planned:
    """One appointment from named fields; ValueError says what is wrong."""
    name = field(row, "name")
    if not name:
        raise ValueError("name is empty")
    commune = communes.get(field(row, "commune"))
    if commune is None:
        raise ValueError(f"unknown commune code {field(row, 'commune')!r}")
    try:
        day = date.fromisoformat(field(row, "date"))
    except ValueError:
        raise ValueError("date must be a date, YYYY-MM-DD") from None
    try:
        at = parse_time(field(row, "time"))
    except ValueError:
        raise ValueError("time must be HH:MM (Vietnam time)") from None
    kind = field(row, "kind")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    place = field(row, "place")
    if len(place) > MAX_PLACE:
        raise ValueError(f"place must be at most {MAX_PLACE} characters")
    return Planned(name, commune.code, commune.province_code,
                   datetime.combine(day, at, tzinfo=VIETNAM), Details(kind, place))


async def save(conn: AsyncConnection, keyring: Keyring, rows: list[tuple[int, Planned]],
               now: datetime) -> tuple[list[tuple[int, Planned]], list[BadRow]]:
    """Record each row whose person is found once and whose time is to come; the rows recorded
    and, with why, those that were not."""
    people: dict[str, dict[str, list[Enrolment]]] = {}
    done, bad = [], []
    for line, row in rows:
        if row.commune_code not in people:
            people[row.commune_code] = await _by_name(conn, keyring, row)
        found = people[row.commune_code].get(row.name, [])
        if row.at <= now:
            bad.append(BadRow(line, "the appointment's time has passed"))
        elif not found:
            bad.append(BadRow(line, f"nobody enrolled as {row.name!r} in commune "
                                    f"{row.commune_code}"))
        elif len(found) > 1:
            bad.append(BadRow(line, f"{len(found)} people enrolled as {row.name!r} in commune "
                                    f"{row.commune_code}"))
        else:
            await record(conn, keyring, found[0], at=row.at, details=row.details, now=now)
            done.append((line, row))
    return done, bad


async def _by_name(conn: AsyncConnection, keyring: Keyring,
                   row: Planned) -> dict[str, list[Enrolment]]:
    """The commune's enrolled people by name: names are sealed, so each is opened once."""
    found: dict[str, list[Enrolment]] = {}
    for enrolment in await checkins.in_area(conn, commune_code=row.commune_code,
                                            province_code=row.province_code):
        if enrolment.status in BOOKABLE:
            found.setdefault(name_of(keyring, enrolment), []).append(enrolment)
    return found
