"""Appointments in chat: an officer records one with ``/appointment`` (in their private chat:
it names a person), the person answers its reminders, the case officer records afterwards
whether they came."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from bot.checkins import appointments as planner
from bot.checkins import name_of
from bot.checkins.appointments import BOOKABLE, KINDS, MAX_PLACE, Details
from bot.checkins.buttons import AppointmentButton, AttendanceButton
from bot.clock import VIETNAM
from bot.conversation.callbacks import CallbackData
from bot.conversation.flows import Flow
from bot.conversation.i18n import gettext as _
from bot.conversation.messages import Option
from bot.conversation.routing import Context, Router
from bot.conversation.validators import Choice, Date, Text, Time
from bot.store import appointments, checkins
from bot.store.checkins import Enrolment
from handlers.enroll import private_scope
from handlers.officer import scope_of as officer_scope
from handlers.start import show_menu

router = Router("appointment")



@dataclass(frozen=True, slots=True)
class RecordButton(CallbackData, prefix="am"):
    field: str
    value: str = ""


FLOW = router.flow(Flow("appointment", label="flow.appointment", buttons=(RecordButton,)))


@router.command("appointment")
async def begin(ctx: Context) -> None:
    area = await private_scope(ctx)
    if area is None:
        return
    enrolled = [enrolment for enrolment in await checkins.in_area(
        ctx.conn, commune_code=area[0], province_code=area[1]) if enrolment.status in BOOKABLE]
    await ctx.audit("enrolment.list", detail=str(len(enrolled)))
    if not enrolled:
        show_menu(ctx, _("people.none"))
        return
    keyring = ctx.services.keyring
    ctx.reply(_("appointment.pick_person"),
              [Option(name_of(keyring, enrolment), RecordButton("person", str(enrolment.id))
                      .pack()) for enrolment in enrolled])


async def _enrolment_in_scope(ctx: Context, enrolment_id: int) -> Enrolment | None:
    scope = await officer_scope(ctx)
    enrolment = await checkins.by_id(ctx.conn, enrolment_id)
    if scope is None or enrolment is None or not scope.covers(enrolment) \
            or enrolment.status not in BOOKABLE:
        return None
    return enrolment


@FLOW.step("kind", fills="kind", validate=Choice({kind: kind for kind in KINDS}))
def ask_kind(ctx: Context) -> None:
    ctx.reply(_("appointment.ask_kind"),
              [Option(_(f"appointment.kind.{kind}"), RecordButton("kind", kind).pack())
               for kind in KINDS])


@FLOW.step("day", fills="day", validate=Date())
def ask_day(ctx: Context) -> None:
    ctx.reply(_("appointment.ask_day"))


@FLOW.step("time", fills="time", validate=Time())
def ask_time(ctx: Context) -> None:
    ctx.reply(_("appointment.ask_time"))


@FLOW.step("place", fills="place", validate=Text(1, MAX_PLACE))
def ask_place(ctx: Context) -> None:
    ctx.reply(_("appointment.ask_place"),
              [Option(_("appointment.no_place"), RecordButton("place").pack())])


async def _typed(ctx: Context, value: object) -> None:
    assert ctx.state is not None
    data = ctx.state.data
    if isinstance(value, date):
        value = value.isoformat()
    elif isinstance(value, time):
        value = value.strftime("%H:%M")
    data[ctx.state.step] = value
    if "time" in data and _moment(data) <= ctx.now:
        del data["day"], data["time"]
        ctx.note(_("appointment.in_past"))
    if "place" in data:
        await _record(ctx)
    else:
        FLOW.advance(ctx)


for _step in FLOW.steps:
    FLOW.on_text(_step)(_typed)


def _moment(data: dict[str, str]) -> datetime:
    return datetime.combine(date.fromisoformat(data["day"]), time.fromisoformat(data["time"]),
                            tzinfo=VIETNAM)


@router.choice(RecordButton, in_flow=True)
async def pressed(ctx: Context) -> None:
    button = ctx.button(RecordButton)
    if button.field == "person":
        enrolment = await _enrolment_in_scope(ctx, int(button.value)) \
            if button.value.isdigit() else None
        if enrolment is None:
            ctx.reply(_("officer.not_allowed"))
            return
        FLOW.begin(ctx, enrolment=enrolment.id)
        return
    if ctx.state is None or ctx.state.flow != FLOW.name or ctx.state.step != button.field:
        ctx.reply(_("error.stale_choice"))
        return
    if button.field == "place" and not button.value:
        await _typed(ctx, "")
    else:
        await FLOW.take(ctx, button.value)


async def _record(ctx: Context) -> None:
    assert ctx.state is not None
    data = ctx.state.data
    ctx.finish()
    enrolment = await _enrolment_in_scope(ctx, data["enrolment"])
    if enrolment is None:
        show_menu(ctx, _("officer.not_allowed"))
        return
    at = _moment(data)
    details = Details(data["kind"], data["place"])
    appointment_id = await planner.record(ctx.conn, ctx.services.keyring, enrolment, at=at,
                                          details=details, now=ctx.now)
    await ctx.audit("appointment.created", subject=f"appointment:{appointment_id}")
    show_menu(ctx, "\n".join([_("appointment.recorded",
                                name=name_of(ctx.services.keyring, enrolment)),
                              planner.describe(details, at)]))


# --- the person's answer and the officer's mark -------------------------------------------

@router.choice(AppointmentButton)
async def answered(ctx: Context) -> None:
    button = ctx.button(AppointmentButton)
    found = await appointments.get(ctx.conn, button.appointment_id)
    enrolment = await checkins.by_id(ctx.conn, found.enrolment_id) if found else None
    if found is None or enrolment is None or enrolment.user_id != ctx.user.id \
            or button.answer not in appointments.ANSWERS:
        ctx.reply(_("error.stale_choice"))
        return
    if found.at <= ctx.now or not await appointments.set_status(
            ctx.conn, found.id, button.answer, (appointments.PLANNED, *appointments.ANSWERS)):
        show_menu(ctx, _("appointment.too_late"))
        return
    if button.answer == appointments.COMING:
        show_menu(ctx, _("appointment.thanks_coming"))
        return
    await planner.tell_case_officer(ctx.conn, ctx.services.keyring, ctx.services.settings,
                                    enrolment, found, "appointment.officer_cannot",
                                    dedupe="cannot", now=ctx.now)
    show_menu(ctx, _("appointment.thanks_cannot"))


@router.choice(AttendanceButton)
async def marked(ctx: Context) -> None:
    button = ctx.button(AttendanceButton)
    scope = await officer_scope(ctx)
    found = await appointments.get(ctx.conn, button.appointment_id)
    enrolment = await checkins.by_id(ctx.conn, found.enrolment_id) if found else None
    if scope is None or found is None or enrolment is None or not scope.covers(enrolment) \
            or button.mark not in appointments.MARKS:
        ctx.reply(_("officer.not_allowed"))
        return
    await appointments.set_status(ctx.conn, found.id, button.mark,
                                  (appointments.PLANNED, *appointments.ANSWERS,
                                   *appointments.MARKS))
    await ctx.audit("appointment.attendance", subject=f"appointment:{found.id}",
                    detail=button.mark)
    ctx.reply(_(f"appointment.marked_{button.mark}",
                name=name_of(ctx.services.keyring, enrolment)))
