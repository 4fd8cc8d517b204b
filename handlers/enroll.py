"""The officers' side of check-ins: ``/enroll`` one person step by step, as the CSV of
``pcmt-bot admin enroll`` would describe them (an officer enrols in their own commune; a
supervisor names a commune of their province), and ``/people``, the enrolled people they may
see. Both only in a private chat: names and answers are not for a whole group."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time

from bot.checkins import enrolment as enrolments
from bot.checkins import name_of
from bot.checkins.schedule import CADENCES, KINDS, end_of
from bot.clock import local
from bot.conversation import menus
from bot.conversation.callbacks import CallbackData
from bot.conversation.flows import Flow
from bot.conversation.i18n import LANGUAGES
from bot.conversation.i18n import gettext as _
from bot.conversation.messages import ChatKind, Option
from bot.conversation.routing import Context, Router
from bot.conversation.validators import Choice, Date, Text, Time
from bot.store import checkins, officers
from handlers.officer import scope_of as officer_scope
from handlers.start import main_menu, show_menu

router = Router("enroll")


@dataclass(frozen=True, slots=True)
class EnrollButton(CallbackData, prefix="en"):
    field: str
    value: str


def _options(field: str, values: Iterable[str], label: str) -> list[Option]:
    return [Option(_(f"{label}.{value}"), EnrollButton(field, value).pack()) for value in values]


FLOW = router.flow(Flow("enroll", label="flow.enroll", buttons=(EnrollButton,)))


async def private_scope(ctx: Context) -> tuple[str | None, str] | None:
    """The commune (None for a supervisor) and province of the officer, in a private chat only
    (a name is not for a whole group); None, having said why, for anyone or anywhere else."""
    scope = await officer_scope(ctx)
    if scope is None or scope.province_code is None:
        show_menu(ctx, _("officer.not_allowed"))
        return None
    if ctx.incoming.chat_kind is ChatKind.GROUP:
        show_menu(ctx, _("enroll.private_only"))
        return None
    return scope.commune_code, scope.province_code


@router.command("enroll")
async def begin(ctx: Context) -> None:
    area = await private_scope(ctx)
    if area is None:
        return
    commune_code, province_code = area
    known = {"commune": commune_code} if commune_code else {}
    FLOW.begin(ctx, province=province_code, **known)


@FLOW.step("name", fills="name", validate=Text(1, enrolments.MAX_NAME))
def ask_name(ctx: Context) -> None:
    ctx.reply(_("enroll.ask_name"))


@FLOW.step("commune", fills="commune", validate=Text(1, 16))
def ask_commune(ctx: Context) -> None:
    ctx.reply(_("enroll.ask_commune"))


@FLOW.step("kind", fills="kind", validate=Choice({kind: kind for kind in KINDS}))
def ask_kind(ctx: Context) -> None:
    ctx.reply(_("enroll.ask_kind"), _options("kind", KINDS, "enroll.kind"))


@FLOW.step("start", fills="start", validate=Date())
def ask_start(ctx: Context) -> None:
    today = local(ctx.now).date().isoformat()
    ctx.reply(_("enroll.ask_start"), [Option(_("enroll.today"),
                                             EnrollButton("start", today).pack())])


@FLOW.step("end", fills="end", validate=Date())
def ask_end(ctx: Context) -> None:
    ctx.reply(_("enroll.ask_end"))


@FLOW.step("cadence", fills="cadence", validate=Choice({c: c for c in CADENCES}))
def ask_cadence(ctx: Context) -> None:
    ctx.reply(_("enroll.ask_cadence"), _options("cadence", CADENCES, "enroll.cadence"))


@FLOW.step("time", fills="time", validate=Time())
def ask_time(ctx: Context) -> None:
    # button data cannot hold ":", and the time validator reads 08.00 as well
    ctx.reply(_("enroll.ask_time"), [Option(at, EnrollButton("time", at.replace(":", ".")).pack())
                                     for at in ("08:00", "09:00", "18:00")])


@FLOW.step("language", fills="language", validate=Choice({lang: lang for lang in LANGUAGES}))
def ask_language(ctx: Context) -> None:
    ctx.reply(_("enroll.ask_language"),
              [Option("Tiếng Việt", EnrollButton("language", "vi").pack()),
               Option("English", EnrollButton("language", "en").pack())])


async def _typed(ctx: Context, value: object) -> None:
    assert ctx.state is not None
    data, step = ctx.state.data, ctx.state.step
    if step == "commune":
        commune = ctx.services.communes.get(str(value))
        if commune is None or commune.province_code != data["province"]:
            ctx.note(_("enroll.bad_commune"))
            FLOW.reprompt(ctx)
            return
        value = commune.code
    elif step == "kind" and value != "custom":
        data["end"] = None  # the period's end follows from the start
    elif isinstance(value, date):
        value = value.isoformat()
    elif isinstance(value, time):
        value = value.strftime("%H:%M")
    data[step] = value
    if step == "end" and data["end"] <= data["start"]:
        del data["end"]
        ctx.note(_("enroll.end_before_start"))
    if "language" in data:
        await _enrol(ctx)
    else:
        FLOW.advance(ctx)


for _step in FLOW.steps:
    FLOW.on_text(_step)(_typed)


@router.choice(EnrollButton, in_flow=True)
async def pressed(ctx: Context) -> None:
    button = ctx.button(EnrollButton)
    if ctx.state is None or ctx.state.flow != FLOW.name or ctx.state.step != button.field:
        ctx.reply(_("error.stale_choice"))
        return
    await FLOW.take(ctx, button.value)


async def _enrol(ctx: Context) -> None:
    assert ctx.state is not None
    data = ctx.state.data
    ctx.finish()
    commune = ctx.services.communes.get(data["commune"])
    assert commune is not None
    starts_on = date.fromisoformat(data["start"])
    ends_on = end_of(data["kind"], starts_on) or date.fromisoformat(data["end"])
    # enrolled from the officer's own linked chat: they are the person's case officer
    inbox = await officers.of_chat(ctx.conn, ctx.incoming.channel, ctx.incoming.chat_id)
    person = enrolments.Enrolee(data["name"], commune.code, commune.province_code, data["kind"],
                                starts_on, ends_on, data["cadence"], data["time"],
                                data["language"],
                                case_inbox_id=inbox.id if inbox and inbox.role == "officer"
                                else None)
    settings = ctx.services.settings
    code = await enrolments.enrol(ctx.conn, ctx.services.keyring, settings, person, ctx.now)
    await ctx.audit("enrolment.created", subject=commune.code)
    show_menu(ctx, _("enroll.done", name=data["name"], code=code,
                     days=settings.checkin_link_days))


@dataclass(frozen=True, slots=True)
class PeopleButton(CallbackData, prefix="pp"):
    page: int


PEOPLE_PAGE = 15
"""People a page of ``/people``: a commune can follow hundreds."""


@router.command("people")
async def people(ctx: Context) -> None:
    await _people(ctx, 0)


@router.choice(PeopleButton)
async def people_page(ctx: Context) -> None:
    await _people(ctx, ctx.button(PeopleButton).page)


async def _people(ctx: Context, number: int) -> None:
    """A page of the enrolled people the caller may see, read afresh (and audited) at each
    turn: names and misses are not kept aside for paging."""
    area = await private_scope(ctx)
    if area is None:
        return
    enrolled = await checkins.in_area(ctx.conn, commune_code=area[0], province_code=area[1])
    shown, number, pages = menus.window(enrolled, number, PEOPLE_PAGE)
    await ctx.audit("enrolment.list", detail=f"{len(shown)} of {len(enrolled)}")
    if not enrolled:
        show_menu(ctx, _("people.none"))
        return
    lines = [_("people.title", count=len(enrolled))]
    for enrolment in shown:
        last = await checkins.last_answered(ctx.conn, enrolment.id)
        lines.append(_("people.line", name=name_of(ctx.services.keyring, enrolment),
                       status=_(f"people.status.{enrolment.status}"),
                       last=local(last).strftime("%d/%m") if last else "-",
                       misses=enrolment.misses,
                       alerts=await checkins.open_alerts(ctx.conn, enrolment.id)))
    if pages == 1:
        show_menu(ctx, "\n".join(lines))
        return
    lines.append(f"\n{menus.heading(number, pages)}")
    ctx.reply("\n".join(lines), [*menus.turns(number, pages, lambda other: PeopleButton(
        other).pack()), *main_menu(ctx)], edit=ctx.incoming.choice is not None)
