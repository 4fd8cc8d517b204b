"""The person under management: linking with the officer's code, consent, the check-in itself,
pausing, and officers acknowledging the alerts check-ins raise.

The check-in is a flow a scheduler job opens (:func:`bot.conversation.proactive.open_flow`);
its buttons carry the answer, and channels without buttons take the option's number.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.checkins import (
    CHECKIN_TTL,
    CRAVING_LEVELS,
    SLEEP,
    Answers,
    alert,
    risks,
    schedule_of,
    seal_address,
    tell_officers,
)
from bot.checkins import enrolment as enrolments
from bot.checkins.buttons import AlertButton, CheckinButton
from bot.clock import local
from bot.conversation.flows import Flow, Interrupt
from bot.conversation.i18n import gettext as _
from bot.conversation.messages import Option
from bot.conversation.routing import Context, Router
from bot.conversation.validators import Choice, Number, Text, YesNo
from bot.reports import Address
from bot.security.privacy import normalize_ticket_code
from bot.store import checkins, users
from bot.text import fold
from handlers import faq
from handlers.officer import scope_of as officer_scope
from handlers.start import resume_kept, show_menu

router = Router("checkin")

TIPS = 4
"""How many ``checkin.tip.N`` messages there are; the slot picks one."""


def _button(field: str, value: object = "") -> str:
    return CheckinButton(field, str(value)).pack()


# --- linking and consent --------------------------------------------------------------------

async def link(ctx: Context, typed: str) -> bool:
    """``typed`` is an enrolment code: show what the person is agreeing to. False, having
    said nothing, when it is no valid code."""
    code = normalize_ticket_code(typed)
    found = await enrolments.find(ctx.conn, ctx.services.keyring, code, ctx.now) if code else None
    if found is None:
        return False
    CONSENT.begin(ctx, enrolment=found.id)
    return True


CONSENT = router.flow(Flow("consent", label="flow.consent", buttons=(CheckinButton,),
                           ttl=timedelta(days=1)))


@CONSENT.step("agree", validate=YesNo())
def ask_consent(ctx: Context) -> None:
    assert ctx.state is not None
    ctx.reply(_("checkin.consent"), [Option(_("checkin.agree"), _button("agree", "yes")),
                                     Option(_("checkin.decline"), _button("agree", "no"))])


@CONSENT.on_text("agree")
async def consent_given(ctx: Context, agreed: bool) -> None:
    assert ctx.state is not None
    enrolment = await checkins.by_id(ctx.conn, ctx.state.data["enrolment"])
    ctx.finish()
    if enrolment is None or enrolment.status != checkins.INVITED:
        show_menu(ctx, _("checkin.code_gone"))
        return
    keyring, settings = ctx.services.keyring, ctx.services.settings
    if not agreed:
        await checkins.set_status(ctx.conn, enrolment.id, checkins.DECLINED)
        await tell_officers(ctx.conn, keyring, settings, enrolment, "checkin.officer_declined",
                            dedupe="declined", now=ctx.now)
        show_menu(ctx, _("checkin.declined"))
        return
    address = Address(ctx.incoming.channel, ctx.incoming.chat_id, enrolment.language)
    first = schedule_of(enrolment).next_slot(ctx.now)
    await checkins.link(ctx.conn, enrolment.id, ctx.user.id,
                        seal_address(keyring, enrolment.id, address), first)
    await users.set_role(ctx.conn, ctx.user.id, "managed", commune_code=enrolment.commune_code,
                         province_code=enrolment.province_code)
    ctx.user = await users.get(ctx.conn, ctx.user.id) or ctx.user
    await tell_officers(ctx.conn, keyring, settings, enrolment, "checkin.officer_consented",
                        dedupe="consented", now=ctx.now)
    show_menu(ctx, _("checkin.welcome", first=_local(first) if first else "-"))


def _local(moment: datetime) -> str:
    return local(moment).strftime("%H:%M %d/%m/%Y")


# --- the check-in ---------------------------------------------------------------------------

CHECKIN = router.flow(Flow("checkin", label="flow.checkin", buttons=(CheckinButton,),
                           ttl=CHECKIN_TTL, interrupt=Interrupt.SUSPEND,
                           kept=CHECKIN_TTL))


@CHECKIN.step("mood", fills="mood", validate=Number(1, 5))
def ask_mood(ctx: Context) -> None:
    ctx.reply(_("checkin.ask_mood"),
              [Option(_(f"checkin.mood.{value}"), _button("mood", value)) for value in range(1, 6)])


@CHECKIN.step("craving", fills="craving", validate=Number(0, 10))
def ask_craving(ctx: Context) -> None:
    ctx.reply(_("checkin.ask_craving"),
              [Option(_(f"checkin.craving.{value}"), _button("craving", value))
               for value in CRAVING_LEVELS])


@CHECKIN.step("sleep", fills="sleep",
              validate=Choice({"tot": "good", "good": "good", "binh thuong": "fair",
                               "fair": "fair", "kem": "poor", "poor": "poor"}))
def ask_sleep(ctx: Context) -> None:
    ctx.reply(_("checkin.ask_sleep"),
              [Option(_(f"checkin.sleep.{value}"), _button("sleep", value)) for value in SLEEP])


@CHECKIN.step("used", fills="used", validate=YesNo())
def ask_used(ctx: Context) -> None:
    ctx.reply(_("checkin.ask_used"), _yes_no("used"))


@CHECKIN.step("support", fills="support", validate=YesNo())
def ask_support(ctx: Context) -> None:
    ctx.reply(_("checkin.ask_support"), _yes_no("support"))


@CHECKIN.step("note", fills="note", validate=Text(1, 500))
def ask_note(ctx: Context) -> None:
    ctx.reply(_("checkin.ask_note"), [Option(_("checkin.skip_note"), _button("note"))])


def _yes_no(field: str) -> list[Option]:
    return [Option(_("input.yes"), _button(field, "yes")),
            Option(_("input.no"), _button(field, "no"))]


async def _answered(ctx: Context, value: object) -> None:
    assert ctx.state is not None
    ctx.state.data[ctx.state.step] = value
    if "note" in ctx.state.data:
        await _finish(ctx)
    else:
        CHECKIN.advance(ctx)


for _step in ("mood", "craving", "sleep", "used", "support", "note"):
    CHECKIN.on_text(_step)(_answered)


async def _finish(ctx: Context) -> None:
    assert ctx.state is not None
    data = ctx.state.data
    ctx.finish()
    enrolment = await checkins.by_id(ctx.conn, data["enrolment"])
    if enrolment is None:
        show_menu(ctx, _("checkin.closed"))
        return
    answers = Answers(mood=data["mood"], craving=data["craving"], sleep=data["sleep"],
                      support=data["support"], used=data.get("used"), note=data["note"])
    keyring, settings = ctx.services.keyring, ctx.services.settings
    if not await checkins.answer(ctx.conn, data["checkin"],
                                 answers.seal(keyring, enrolment.id), ctx.now):
        show_menu(ctx, _("checkin.closed"))
        return
    found = risks(answers, settings)
    if found:
        await alert(ctx.conn, keyring, settings, enrolment, reasons=found, now=ctx.now,
                    answers=answers)
        show_menu(ctx, _("checkin.safety"))
        return
    tip = _(f"checkin.tip.{data['checkin'] % TIPS + 1}")
    show_menu(ctx, f"{_('checkin.thanks')}\n{tip}")


@router.choice(CheckinButton, in_flow=True)
async def pressed(ctx: Context) -> None:
    button = ctx.button(CheckinButton)
    flow = CONSENT if ctx.state is not None and ctx.state.flow == CONSENT.name else CHECKIN
    if ctx.state is None or ctx.state.flow != flow.name or ctx.state.step != button.field:
        if button.field == "resume":
            await _resume(ctx)
        else:
            ctx.reply(_("error.stale_choice"))
        return
    if button.field == "note" and not button.value:
        await _answered(ctx, "")
    else:
        await flow.take(ctx, button.value)


async def _resume(ctx: Context) -> None:
    """The reminder's button: back to the check-in that waits for an answer."""
    if ctx.state is not None and ctx.state.flow == CHECKIN.name:
        CHECKIN.reprompt(ctx)
    elif not await resume_kept(ctx, CHECKIN.name):
        show_menu(ctx, _("checkin.closed"))


# --- pausing and asking for help ------------------------------------------------------------

@router.command("stop")
async def stop(ctx: Context) -> None:
    enrolment = await checkins.of_user(ctx.conn, ctx.user.id)
    if enrolment is None or enrolment.status != checkins.ACTIVE:
        show_menu(ctx, _("checkin.not_enrolled"))
        return
    await checkins.set_status(ctx.conn, enrolment.id, checkins.PAUSED)
    await tell_officers(ctx.conn, ctx.services.keyring, ctx.services.settings, enrolment,
                        "checkin.officer_paused", dedupe=f"paused:{ctx.now:%Y%m%d%H%M}",
                        now=ctx.now)
    show_menu(ctx, _("checkin.paused"))


@router.choice("checkin")
async def menu_entry(ctx: Context) -> None:
    """The menu's check-in entry: resume paused check-ins, or say when the next one comes."""
    enrolment = await checkins.of_user(ctx.conn, ctx.user.id)
    if enrolment is None or enrolment.status not in (checkins.ACTIVE, checkins.PAUSED):
        show_menu(ctx, _("checkin.not_enrolled"))
        return
    if enrolment.status == checkins.PAUSED:
        following = schedule_of(enrolment).next_slot(ctx.now)
        await checkins.set_status(ctx.conn, enrolment.id, checkins.ACTIVE, next_due_at=following)
        await tell_officers(ctx.conn, ctx.services.keyring, ctx.services.settings, enrolment,
                            "checkin.officer_resumed", dedupe=f"resumed:{ctx.now:%Y%m%d%H%M}",
                            now=ctx.now)
        enrolment = await checkins.by_id(ctx.conn, enrolment.id) or enrolment
    due = enrolment.next_due_at
    show_menu(ctx, _("checkin.next", next=_local(due) if due else "-"))


async def help_asked(ctx: Context) -> bool:
    """``/help`` or "I need help" from an enrolled person: their officers are alerted and they
    get the safety message. False for anyone else."""
    enrolment = await checkins.of_user(ctx.conn, ctx.user.id)
    if enrolment is None or enrolment.status not in (checkins.ACTIVE, checkins.PAUSED):
        return False
    await alert(ctx.conn, ctx.services.keyring, ctx.services.settings, enrolment,
                reasons=("help",), now=ctx.now)
    show_menu(ctx, _("checkin.safety"))
    return True


HELP_WORDS = frozenset({"toi can giup do", "can giup do", "giup toi", "giup em voi",
                        "i need help", "help me"})


@router.text
async def text(ctx: Context) -> None:
    """Free text outside a flow: an enrolment code, a call for help, or a question."""
    typed = ctx.incoming.text or ""
    if await link(ctx, typed):
        return
    if fold(typed).strip(" .!?") in HELP_WORDS and await help_asked(ctx):
        return
    await faq.question(ctx)


# --- officers -------------------------------------------------------------------------------

@router.choice(AlertButton)
async def acknowledge(ctx: Context) -> None:
    button = ctx.button(AlertButton)
    scope = await officer_scope(ctx)
    found = await checkins.alert(ctx.conn, button.alert_id)
    enrolment = await checkins.by_id(ctx.conn, found.enrolment_id) if found else None
    if scope is None or enrolment is None or not scope.covers(enrolment):
        ctx.reply(_("officer.not_allowed"))
        return
    done = await checkins.acknowledge(ctx.conn, button.alert_id, ctx.now)
    await ctx.audit("checkin.alert_ack", subject=f"alert:{button.alert_id}")
    ctx.reply(_("checkin.acknowledged") if done else _("checkin.acknowledged_before"))
