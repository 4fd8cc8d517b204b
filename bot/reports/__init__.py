"""Anonymous reports: sealing, routing to the right police inbox, and the follow-up relay.

Shared by the citizen flow, the officer handlers and the escalation tick. Police-facing text is
built only from the report row and its sealed content: ticket, commune, category, day and part
of day, the reporter's own words. Nothing here knows who the reporter is; the way back to them
is a reply handle, sealed, opened only to queue a message, and the queued address is sealed too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.conversation.i18n import gettext as _
from bot.conversation.i18n import use_language
from bot.conversation.messages import Option, Reply
from bot.conversation.proactive import push
from bot.officials import province_targets, targets
from bot.reports.access import access_key
from bot.reports.buttons import CardButton, StatusButton
from bot.security.privacy import Keyring
from bot.settings import Settings
from bot.store import outbox, reports
from bot.store.reports import Report

if TYPE_CHECKING:
    from bot.geo import CommuneIndex

CATEGORIES = ("dealing", "gathering", "cultivation", "trafficking", "online", "disguised",
              "minors", "other")
URGENT_CATEGORIES = frozenset({"minors"})
"""Reports police should see at once, whatever their arrival time gives away: children."""
MAX_TEXT = 2000
"""Longest text kept for one field of a report, a question or an answer."""


def category_label(category: str) -> str:
    labels = {
        "dealing": _("report.cat.dealing"),
        "gathering": _("report.cat.gathering"),
        "cultivation": _("report.cat.cultivation"),
        "trafficking": _("report.cat.trafficking"),
        "online": _("report.cat.online"),
        "disguised": _("report.cat.disguised"),
        "minors": _("report.cat.minors"),
        "other": _("report.cat.other"),
    }
    return labels.get(category, labels["other"])


def status_label(status: str) -> str:
    labels = {
        "new": _("report.status.new"),
        "acknowledged": _("report.status.acknowledged"),
        "verifying": _("report.status.verifying"),
        "handled": _("report.status.handled"),
        "unfounded": _("report.status.unfounded"),
        "spam": _("report.status.spam"),
    }
    return labels[status]


def part_of_day_label(part: str) -> str:
    labels = {
        "night": _("report.part.night"),
        "morning": _("report.part.morning"),
        "afternoon": _("report.part.afternoon"),
        "evening": _("report.part.evening"),
    }
    return labels[part]


@dataclass(frozen=True, slots=True)
class Content:
    where: str
    description: str

    def seal(self, keyring: Keyring, ticket: str) -> bytes:
        raw = json.dumps({"where": self.where, "description": self.description},
                         ensure_ascii=False)
        return keyring.seal(raw.encode(), purpose="content", associated=ticket.encode())

    @classmethod
    def open(cls, keyring: Keyring, report: Report) -> Content:
        raw = json.loads(keyring.open(report.content, purpose="content",
                                      associated=report.ticket.encode()))
        return cls(raw["where"], raw["description"])


def seal_text(keyring: Keyring, ticket: str, text: str) -> bytes:
    return keyring.seal(text.encode(), purpose="content", associated=ticket.encode())


def open_text(keyring: Keyring, ticket: str, sealed: bytes) -> str:
    return keyring.open(sealed, purpose="content", associated=ticket.encode()).decode()


@dataclass(frozen=True, slots=True)
class Place:
    commune: str
    province: str


def place_of(index: CommuneIndex, report: Report) -> Place:
    """The names of the report's commune and province (its codes if the list lost it)."""
    commune = index.get(report.commune_code)
    if commune is None:
        return Place(report.commune_code, report.province_code)
    return Place(commune.name, commune.province_name)


def card(report: Report, content: Content, place: Place, photos: int, *,
         heading: str | None = None) -> Reply:
    """What police see of a report, with its actions, in the current language."""
    lines = [
        heading or _("police.card.new", ticket=report.ticket),
        _("police.card.place", commune=place.commune, province=place.province),
        _("police.card.category", category=category_label(report.category)),
        _("police.card.received", day=report.received_day.strftime("%d/%m/%Y"),
          part=part_of_day_label(report.received_part)),
        _("police.card.status", status=status_label(report.status)),
        _("police.card.where", where=content.where),
        _("police.card.description", description=content.description),
    ]
    if photos:
        lines.append(_("police.card.photos", count=photos))
    lines.append(_("police.card.follow_up_yes") if report.follow_up
                 else _("police.card.follow_up_no"))
    return Reply("\n".join(lines), tuple(card_actions(report, photos)))


def card_actions(report: Report, photos: int) -> list[Option]:
    ticket = report.ticket
    options = []
    if report.status == "new":
        options.append(Option(_("police.action.ack"), CardButton("ack", ticket).pack()))
    if report.follow_up and report.status in reports.OPEN_STATUSES:
        options.append(Option(_("police.action.ask"), CardButton("ask", ticket).pack()))
    options.append(Option(_("police.action.status"), CardButton("st", ticket).pack()))
    options.append(Option(_("police.action.note"), CardButton("note", ticket).pack()))
    if photos:
        options.append(Option(_("police.action.photos"), CardButton("ph", ticket).pack()))
    return options


def card_priority(report: Report) -> int:
    """An urgent category's card goes before every routine message, with the crisis alerts."""
    return outbox.URGENT if report.category in URGENT_CATEGORIES else outbox.ROUTED


async def route(conn: AsyncConnection, report: Report, *, keyring: Keyring, settings: Settings,
                place: Place, now: datetime, delay: timedelta = timedelta()) -> str | None:
    """Queue the police card to whoever should see ``report``; None when nobody can yet."""
    level, recipients = await targets(conn, report, settings)
    if not recipients:
        return None
    content = Content.open(keyring, report)
    photos = await reports.attachment_count(conn, report.id)
    for target in recipients:
        with use_language(target.language):
            reply = card(report, content, place, photos)
        await push(conn, keyring, channel=target.channel, chat_id=target.chat_id, reply=reply,
                   dedupe_key=reports.card_key(report.id, target.channel, target.chat_id),
                   due_at=now + delay, now=now, priority=card_priority(report))
    await reports.set_routed(conn, report.id, level)
    return level


async def route_waiting(conn: AsyncConnection, *, commune_code: str | None, province_code: str,
                        keyring: Keyring, settings: Settings, communes: CommuneIndex,
                        now: datetime) -> int:
    """Route what was waiting for this commune (or province) now that someone can receive
    it; how many went out."""
    waiting = await reports.awaiting_route(conn, commune_code=commune_code,
                                           province_code=None if commune_code else province_code)
    delivered = 0
    for report in waiting:
        level = await route(conn, report, keyring=keyring, settings=settings,
                            place=place_of(communes, report), now=now)
        delivered += level is not None
    return delivered


async def notify(conn: AsyncConnection, report: Report, *, keyring: Keyring, settings: Settings,
                 text_id: str, dedupe: str, now: datetime, level: str = "commune",
                 **params: object) -> int:
    """Queue a short notice about ``report`` to its commune inbox (or province supervisors)."""
    if level == "commune":
        _level, recipients = await targets(conn, report, settings)
    else:
        recipients = await province_targets(conn, report, settings)
    for target in recipients:
        with use_language(target.language):
            reply = Reply(_(text_id, ticket=report.ticket, **params),
                          (Option(_("police.action.open"),
                                  CardButton("view", report.ticket).pack()),))
        await push(conn, keyring, channel=target.channel, chat_id=target.chat_id, reply=reply,
                   dedupe_key=f"report:{report.id}:{dedupe}:{target.channel}:{target.chat_id}",
                   due_at=now, now=now, priority=outbox.ROUTED)
    return len(recipients)


async def reporter_held(conn: AsyncConnection, dedupe_key: str, *, keyring: Keyring,
                        settings: Settings, now: datetime) -> bool:
    """A message to a reporter (``dedupe_key`` of :func:`relay_to_reporter`) is held until
    they write again: tell the report's police, who may be waiting on an answer, and nothing
    about the reporter. False for any other message."""
    head, _, rest = dedupe_key.partition(":")
    number, _, what = rest.partition(":")
    if head != "report" or not number.isdigit() or not what:
        return False
    report = await reports.by_id(conn, int(number))
    if report is None:
        return False
    await notify(conn, report, keyring=keyring, settings=settings, text_id="police.reporter_held",
                 dedupe=f"held:{what}", now=now)
    return True


@dataclass(frozen=True, slots=True)
class Address:
    """Where the reporter can be reached; only ever stored sealed."""

    channel: str
    chat_id: str
    language: str

    def seal(self, keyring: Keyring, ticket: str) -> bytes:
        raw = json.dumps([self.channel, self.chat_id, self.language])
        return keyring.seal(raw.encode(), purpose="handle", associated=ticket.encode())

    @classmethod
    def open(cls, keyring: Keyring, ticket: str, sealed: bytes) -> Address:
        channel, chat_id, language = json.loads(
            keyring.open(sealed, purpose="handle", associated=ticket.encode()))
        return cls(channel, chat_id, language)


async def relay_to_reporter(conn: AsyncConnection, report: Report, *, keyring: Keyring,
                            text_id: str, dedupe: str, now: datetime,
                            status_id: str | None = None, answer: bool = False,
                            **params: object) -> bool:
    """Queue a message to the reporter of ``report``; False when they declined, the handle
    expired, they blocked the bot, or this message was queued before.

    ``status_id`` (a status code) fills ``{status}`` with its label in the reporter's language;
    ``answer`` adds the button that opens the answer step at once (a police question).
    """
    sealed = await reports.handle_of(conn, report.id, now)
    if sealed is None:
        return False
    address = Address.open(keyring, report.ticket, sealed)
    with use_language(address.language):
        if status_id is not None:
            params["status"] = status_label(status_id)
        # the reporter's own chat: its buttons may open everything, as the passphrase would
        key = access_key(keyring, report.ticket)
        options = [Option(_("status.open"), StatusButton(report.ticket, key=key).pack())]
        if answer:
            options.insert(0, Option(_("status.answer"),
                                     StatusButton(report.ticket, "answer", key).pack()))
        reply = Reply(_(text_id, ticket=report.ticket, **params), tuple(options))
    return await push(conn, keyring, channel=address.channel, chat_id=address.chat_id,
                      reply=reply, dedupe_key=f"report:{report.id}:{dedupe}", due_at=now,
                      now=now, private=True, priority=outbox.ROUTED)
