"""Creating a report: the daily limit, the same text twice, the ticket, the sealed content and
photos, the reply handle (only when the reporter accepts follow-up), routing and the audit.

The citizen's flow collects a :class:`Draft`; everything that makes it a report is here, so
that every channel and any later way of reporting file reports the same way.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import hour_of, time_bucket
from bot.reports import URGENT_CATEGORIES, Address, Content, Place, route
from bot.reports.access import passphrase_hash
from bot.security.privacy import Keyring, new_passphrase, new_ticket_code
from bot.settings import Settings
from bot.store import audit, reports
from bot.text import fold

# Reports from someone whose earlier report police marked as spam still arrive, only later:
# a real tip is not lost, a flood loses its urgency, and the sender cannot tell.
SLOWED_DELAY = timedelta(hours=12)
_random = secrets.SystemRandom()


@dataclass(frozen=True, slots=True)
class Draft:
    category: str
    commune_code: str
    province_code: str
    place: Place
    where: str
    description: str
    photos: tuple[str, ...]
    """Sanitised photos, each sealed for the draft and base64-encoded."""


@dataclass(frozen=True, slots=True)
class Filed:
    ticket: str
    passphrase: str
    """Shown to the reporter once and kept nowhere: only its hash is stored."""
    routed_to: str | None
    """"commune", "province" or "admin"; None while no police chat can receive it."""


@dataclass(frozen=True, slots=True)
class Duplicate:
    ticket: str


@dataclass(frozen=True, slots=True)
class LimitReached:
    pass


async def limit_reached(conn: AsyncConnection, alias: str, settings: Settings,
                        now: datetime) -> bool:
    day, _part = time_bucket(now)
    return await reports.reports_today(conn, alias, day) >= settings.reports_per_day


def card_delay(category: str, settings: Settings,
               rng: Callable[[], float] = _random.random) -> timedelta:
    """How long the police card waits: random, so that the second it reaches police (which
    their platform shows) says no more than the day and quarter on the card. Urgent categories
    go at once; the reporter is told so before sending."""
    if category in URGENT_CATEGORIES:
        return timedelta()
    return timedelta(minutes=settings.report_card_delay_minutes * rng())


async def file(conn: AsyncConnection, draft: Draft, *, alias: str, address: Address | None,
               keyring: Keyring, settings: Settings, now: datetime,
               rng: Callable[[], float] = _random.random,
               ) -> Filed | Duplicate | LimitReached:
    """File ``draft`` for the reporter known by ``alias``; ``address`` is where police
    questions reach them, None when they declined follow-up."""
    day, part = time_bucket(now)
    if await limit_reached(conn, alias, settings, now):
        return LimitReached()
    digest = keyring.alias(f"same-text/{alias}", fold(draft.where + " " + draft.description))
    earlier = await reports.same_text_today(conn, digest, day)
    if earlier is not None:
        return Duplicate(earlier)
    ticket = await _unused_ticket(conn)
    passphrase = new_passphrase()
    report_id = await reports.create(
        conn, ticket=ticket, commune_code=draft.commune_code, province_code=draft.province_code,
        category=draft.category, follow_up=address is not None,
        content=Content(draft.where, draft.description).seal(keyring, ticket),
        received_day=day, received_part=part,
        received_hour=hour_of(now),
        passphrase_hash=passphrase_hash(keyring, ticket, passphrase))
    for photo in draft.photos:
        clean = keyring.open(base64.b64decode(photo), purpose="content")
        await reports.add_attachment(conn, report_id, keyring.seal(
            clean, purpose="content", associated=ticket.encode()))
    await reports.record_source(conn, report_id, alias=alias, text_digest=digest, day=day)
    if address is not None:
        await reports.save_handle(conn, report_id, address.seal(keyring, ticket),
                                  now + timedelta(days=settings.report_retention_days))
    slowed = await reports.slowed_until(conn, alias, now)
    delay = SLOWED_DELAY if slowed else card_delay(draft.category, settings, rng)
    report = await reports.by_id(conn, report_id)
    assert report is not None
    level = await route(conn, report, keyring=keyring, settings=settings, place=draft.place,
                        now=now, delay=delay)
    await audit.record(conn, at=now, actor=audit.REPORTER, action="report.created",
                       subject=ticket)
    return Filed(ticket, passphrase, level)


async def _unused_ticket(conn: AsyncConnection) -> str:
    while True:  # 60 random bits: a collision is astronomically rare, but never reuse one
        ticket = new_ticket_code()
        if await reports.by_ticket(conn, ticket) is None:
            return ticket
