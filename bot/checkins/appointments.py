"""Appointments of enrolled people (a drug test, counselling, the methadone clinic): reminders
to the person the day before and two hours before, their answer, and the officer's question
afterwards whether they came.

An appointment moves through stages, each at its moment: ``day`` (24 h before), ``soon``
(2 h before), ``officer`` (3 h after), then ``done``. Reminders never fall in the quiet hours
(they move to the morning) and are dropped when they could only come after the appointment; a
reminder that is late (the scheduler was down) goes at once unless the next one is due too.
What and where are sealed to the enrolment; messages about the person go through the outbox.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.checkins import address_of, name_of
from bot.checkins.buttons import AppointmentButton, AttendanceButton
from bot.clock import QuietHours, local
from bot.conversation.i18n import gettext as _
from bot.conversation.i18n import use_language
from bot.conversation.messages import Option, Reply
from bot.conversation.proactive import push
from bot.officials import case_targets
from bot.security.privacy import Keyring
from bot.settings import Settings
from bot.store import appointments, checkins
from bot.store.appointments import Appointment
from bot.store.checkins import Enrolment

KINDS = ("drug_test", "counselling", "methadone", "other")
MAX_PLACE = 120
DAY_BEFORE, SOON, OFFICER, DONE = "day", "soon", "officer", "done"
STAGES = (DAY_BEFORE, SOON, OFFICER)
BEFORE = {DAY_BEFORE: timedelta(hours=24), SOON: timedelta(hours=2)}
ASK_AFTER = timedelta(hours=3)
BOOKABLE = (checkins.INVITED, checkins.ACTIVE, checkins.PAUSED)
"""Whom an appointment can be made for: anyone enrolled whose management has not ended."""
REMINDED = (checkins.ACTIVE,)
"""Whose reminders go out: a person who paused the bot with /stop is left in peace."""


@dataclass(frozen=True, slots=True)
class Details:
    kind: str
    place: str = ""

    def seal(self, keyring: Keyring, enrolment_id: int) -> bytes:
        return keyring.seal(json.dumps(asdict(self)).encode(), purpose="content",
                            associated=_bound(enrolment_id))

    @classmethod
    def open(cls, keyring: Keyring, appointment: Appointment) -> Details:
        raw = keyring.open(appointment.details, purpose="content",
                           associated=_bound(appointment.enrolment_id))
        return cls(**json.loads(raw))


def _bound(enrolment_id: int) -> bytes:
    return f"appointment:{enrolment_id}".encode()


def next_stage(at: datetime, now: datetime, after: str | None = None,
               quiet: QuietHours | None = None) -> tuple[str, datetime | None]:
    """The stage that follows ``after`` (None: a new appointment) and its moment; ``DONE``
    and None when nothing is left."""
    quiet = quiet or QuietHours()
    left = STAGES[STAGES.index(after) + 1:] if after else STAGES
    moments = [(stage, quiet.next_allowed(at - BEFORE[stage]) if stage in BEFORE
                else at + ASK_AFTER) for stage in left]
    # a reminder that could only come once the appointment has begun is no reminder
    moments = [(stage, moment) for stage, moment in moments
               if stage == OFFICER or (moment < at and now < at)]
    due = [(stage, moment) for stage, moment in moments if moment <= now]
    if due:
        return due[-1]
    return moments[0] if moments else (DONE, None)


def before(stage: str) -> str | None:
    """The stage before ``stage`` (None for the first), to ask :func:`next_stage` which of
    ``stage`` and those after it is due."""
    index = STAGES.index(stage)
    return STAGES[index - 1] if index else None


def when(at: datetime) -> str:
    return local(at).strftime("%H:%M %d/%m/%Y")


def describe(details: Details, at: datetime) -> str:
    """What, when and where, in the current language."""
    text = _("appointment.what", kind=_(f"appointment.kind.{details.kind}"), when=when(at))
    return f"{text}\n{_('appointment.where', place=details.place)}" if details.place else text


async def record(conn: AsyncConnection, keyring: Keyring, enrolment: Enrolment, *,
                 at: datetime, details: Details, now: datetime) -> int:
    """Store an appointment and plan its first step."""
    stage, moment = next_stage(at, now)
    return await appointments.add(conn, enrolment_id=enrolment.id, at=at,
                                  details=details.seal(keyring, enrolment.id), stage=stage,
                                  next_at=moment, now=now)


async def remind(conn: AsyncConnection, keyring: Keyring, enrolment: Enrolment,
                 appointment: Appointment, stage: str, now: datetime) -> bool:
    """The reminder of ``stage`` to the person; False when there is nobody to remind (not
    linked, paused) or they already said they cannot come."""
    address = address_of(keyring, enrolment)
    if address is None or enrolment.status not in REMINDED \
            or appointment.status == appointments.CANNOT:
        return False
    details = Details.open(keyring, appointment)
    with use_language(address.language):
        heading = _("appointment.reminder_day") if stage == DAY_BEFORE \
            else _("appointment.reminder_soon")
        reply = Reply(f"{heading}\n{describe(details, appointment.at)}", (
            Option(_("appointment.coming"),
                   AppointmentButton(appointment.id, appointments.COMING).pack()),
            Option(_("appointment.cannot"),
                   AppointmentButton(appointment.id, appointments.CANNOT).pack())))
    return await push(conn, keyring, channel=address.channel, chat_id=address.chat_id,
                      reply=reply, dedupe_key=f"appointment:{appointment.id}:{stage}",
                      due_at=now, now=now, private=True)


async def tell_case_officer(conn: AsyncConnection, keyring: Keyring, settings: Settings,
                            enrolment: Enrolment, appointment: Appointment, text_id: str, *,
                            dedupe: str, now: datetime, options: bool = False) -> int:
    """A word about this appointment to the case officer (else the commune); with
    ``options``, the attended / did not attend buttons. How many chats it went to."""
    name = name_of(keyring, enrolment)
    details = Details.open(keyring, appointment)
    recipients = await case_targets(conn, enrolment, settings)
    for target in recipients:
        with use_language(target.language):
            buttons = (Option(_("appointment.attended"), AttendanceButton(
                appointment.id, appointments.ATTENDED).pack()),
                Option(_("appointment.absent"), AttendanceButton(
                    appointment.id, appointments.ABSENT).pack())) if options else ()
            lines = [_(text_id, name=name), describe(details, appointment.at)]
            if options:  # asked afterwards: what the person said beforehand helps
                lines.append(_(f"appointment.said.{appointment.status}"))
            reply = Reply("\n".join(lines), buttons)
        await push(conn, keyring, channel=target.channel, chat_id=target.chat_id, reply=reply,
                   dedupe_key=f"appointment:{appointment.id}:{dedupe}:{target.channel}:"
                              f"{target.chat_id}", due_at=now, now=now)
    return len(recipients)
