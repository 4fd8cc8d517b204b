"""Check-ins for people under post-rehabilitation management: their answers, the risk rules,
and the alerts that bring a human in.

Answers are health data. They are sealed bound to the enrolment (like report text to its
ticket), reach only the commune's officers and the province's supervisors, and never a log.
The bot is support, not the electronic monitoring of Law 120/2025 Art. 12: it never asks or
reports where a person is.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.checkins.buttons import AlertButton
from bot.checkins.schedule import Schedule, parse_time
from bot.conversation.i18n import gettext as _
from bot.conversation.i18n import use_language
from bot.conversation.messages import Option, Reply
from bot.conversation.proactive import push
from bot.knowledge import crisis_of
from bot.officials import Target, case_targets, province_targets
from bot.reports import Address
from bot.security.privacy import Keyring
from bot.settings import Settings
from bot.store import checkins, outbox
from bot.store.checkins import Enrolment

CHECKIN_TTL = timedelta(hours=24)
"""How long a check-in can be answered; an interrupted one is kept as long."""
CRAVING_LEVELS = (0, 3, 6, 9)
"""The four craving buttons on the 0-10 scale (none, mild, strong, very strong)."""
SLEEP = ("good", "fair", "poor")



@dataclass(frozen=True, slots=True)
class Answers:
    mood: int
    craving: int
    sleep: str
    support: bool
    used: bool | None = None
    """Asked only where the enrolment says so: under Criminal Code Art. 256a it is sensitive."""
    note: str = ""

    def seal(self, keyring: Keyring, enrolment_id: int) -> bytes:
        return keyring.seal(json.dumps(asdict(self)).encode(), purpose="content",
                            associated=_bound(enrolment_id))

    @classmethod
    def open(cls, keyring: Keyring, enrolment_id: int, sealed: bytes) -> Answers:
        raw = keyring.open(sealed, purpose="content", associated=_bound(enrolment_id))
        return cls(**json.loads(raw))


def _bound(enrolment_id: int) -> bytes:
    return f"enrolment:{enrolment_id}".encode()


def schedule_of(enrolment: Enrolment) -> Schedule:
    return Schedule(enrolment.starts_on, enrolment.ends_on, enrolment.cadence,
                    parse_time(enrolment.local_time))


def seal_address(keyring: Keyring, enrolment_id: int, address: Address) -> bytes:
    """Where check-ins go, sealed like a reporter's reply handle."""
    return address.seal(keyring, _bound(enrolment_id).decode())


def address_of(keyring: Keyring, enrolment: Enrolment) -> Address | None:
    if enrolment.address is None:
        return None
    return Address.open(keyring, _bound(enrolment.id).decode(), enrolment.address)


def seal_name(keyring: Keyring, name: str) -> bytes:
    return keyring.seal(name.encode(), purpose="content", associated=b"enrolment-name")


def name_of(keyring: Keyring, enrolment: Enrolment) -> str:
    return _open_name(keyring, enrolment.name)


def case_officer_of(keyring: Keyring, enrolment: Enrolment) -> str:
    """The case officer as the enrolment names them (sealed like the name); empty when none."""
    return _open_name(keyring, enrolment.case_officer) if enrolment.case_officer else ""


def _open_name(keyring: Keyring, sealed: bytes) -> str:
    return keyring.open(sealed, purpose="content", associated=b"enrolment-name").decode()


def risks(answers: Answers, settings: Settings) -> tuple[str, ...]:
    """Why these answers need a human now (empty when they do not)."""
    found = []
    if answers.craving >= settings.checkin_craving_alert:
        found.append("craving")
    if answers.mood <= settings.checkin_mood_alert:
        found.append("mood")
    if answers.support:
        found.append("support")
    if answers.note and crisis_of(answers.note) is not None:  # the FAQ's own crisis reading
        found.append("words")
    return tuple(found)


def describe(answers: Answers) -> str:
    """The answers as officers read them, in the current language."""
    lines = [_("checkin.seen.mood", mood=answers.mood),
             _("checkin.seen.craving", craving=answers.craving),
             _("checkin.seen.sleep", sleep=_(f"checkin.sleep.{answers.sleep}")),
             _("checkin.seen.support", support=_("input.yes") if answers.support
               else _("input.no"))]
    if answers.used is not None:
        lines.append(_("checkin.seen.used", used=_("input.yes") if answers.used
                       else _("input.no")))
    if answers.note:
        lines.append(_("checkin.seen.note", note=answers.note))
    return "\n".join(lines)


async def alert(conn: AsyncConnection, keyring: Keyring, settings: Settings,
                enrolment: Enrolment, *, reasons: tuple[str, ...], now: datetime,
                answers: Answers | None = None) -> int:
    """Record an alert and queue it to the case officer when one is linked, else to the
    commune's officers (the province, else the admin chat, when the commune has none); how
    many chats it went to."""
    alert_id = await checkins.add_alert(
        conn, enrolment.id, keyring.seal(",".join(reasons).encode(), purpose="content",
                                         associated=_bound(enrolment.id)), now)
    recipients = await case_targets(conn, enrolment, settings)
    return await _send_alert(conn, keyring, enrolment, alert_id, recipients, reasons=reasons,
                             answers=answers, now=now, heading="checkin.alert")


async def escalate(conn: AsyncConnection, keyring: Keyring, settings: Settings,
                   enrolment: Enrolment, alert_id: int, reasons: tuple[str, ...],
                   now: datetime) -> int:
    recipients = await province_targets(conn, enrolment, settings)
    return await _send_alert(conn, keyring, enrolment, alert_id, recipients, reasons=reasons,
                             answers=None, now=now, heading="checkin.alert_escalated",
                             dedupe="escalated")


def reasons_of(keyring: Keyring, alert: checkins.Alert) -> tuple[str, ...]:
    raw = keyring.open(alert.reason, purpose="content", associated=_bound(alert.enrolment_id))
    return tuple(raw.decode().split(","))


async def _send_alert(conn: AsyncConnection, keyring: Keyring, enrolment: Enrolment,
                      alert_id: int, recipients: list[Target], *, reasons: tuple[str, ...],
                      answers: Answers | None, now: datetime, heading: str,
                      dedupe: str = "alert") -> int:
    name = name_of(keyring, enrolment)
    officer = case_officer_of(keyring, enrolment)
    for target in recipients:
        with use_language(target.language):
            lines = [_(heading, name=name),
                     *(_(f"checkin.reason.{reason}") for reason in reasons)]
            if officer:
                lines.append(_("checkin.case_officer", officer=officer))
            if answers is not None:
                lines.append(describe(answers))
            lines.append(_("checkin.alert_todo"))
            reply = Reply("\n".join(lines),
                          (Option(_("checkin.acknowledge"), AlertButton(alert_id).pack()),))
        await push(conn, keyring, channel=target.channel, chat_id=target.chat_id, reply=reply,
                   dedupe_key=f"checkin-alert:{alert_id}:{dedupe}:{target.channel}:"
                              f"{target.chat_id}", due_at=now, now=now,
                   priority=outbox.URGENT)
    return len(recipients)


async def tell_officers(conn: AsyncConnection, keyring: Keyring, settings: Settings,
                        enrolment: Enrolment, text_id: str, *, dedupe: str,
                        now: datetime) -> None:
    """A notice about an enrolled person (consented, declined, paused...) to their case officer,
    else their commune."""
    name = name_of(keyring, enrolment)
    recipients = await case_targets(conn, enrolment, settings)
    for target in recipients:
        with use_language(target.language):
            reply = Reply(_(text_id, name=name))
        await push(conn, keyring, channel=target.channel, chat_id=target.chat_id, reply=reply,
                   dedupe_key=f"enrolment:{enrolment.id}:{dedupe}:{target.channel}:"
                              f"{target.chat_id}", due_at=now, now=now,
                   priority=outbox.ROUTED)
