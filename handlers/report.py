"""The citizen's side of an anonymous report: the report flow, /status and follow-up answers.

Eight messages or taps from the menu to a ticket when nothing optional is used: menu, category,
commune typed, commune picked, where and when, description, follow-up choice (which also ends
the photo step), confirm. Nothing here stores who the reporter is: abuse limits count by a
keyed alias, the way back for police questions is a sealed reply handle, and only if the
reporter accepts follow-up.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

from bot.conversation.i18n import gettext as _
from bot.conversation.messages import Option
from bot.conversation.routing import Context, Router
from bot.geo import Candidate
from bot.reports import (
    CATEGORIES,
    MAX_TEXT,
    Address,
    Content,
    Place,
    category_label,
    notify,
    open_text,
    part_of_day_label,
    route,
    seal_text,
    status_label,
)
from bot.security.privacy import (
    ImageRejected,
    new_ticket_code,
    normalize_ticket_code,
    sanitize_image,
    time_bucket,
)
from bot.store import audit, reports
from bot.text import fold
from handlers.start import show_menu

router = Router("report")

FLOW = "report"
MAX_PHOTOS = 5
PHOTO_SIDE = 1600
EDITABLE = ("category", "commune", "where", "description")
# Reports from someone whose earlier report police marked as spam still arrive, only later:
# a real tip is not lost, a flood loses its urgency, and the sender cannot tell.
SLOWED_DELAY = timedelta(hours=12)


# --- entering the flow ---------------------------------------------------------------------

@router.choice("report")
async def begin(ctx: Context) -> None:
    ctx.begin(FLOW, "category")
    ask_category(ctx)


def ask_category(ctx: Context) -> None:
    ctx.reply(_("report.intro"), [*(Option(category_label(c), f"rp:cat:{c}") for c in CATEGORIES),
                                  Option(_("report.cancel"), "rp:cancel")])


# --- button choices inside the flow ---------------------------------------------------------

@router.choice("rp")
async def choice(ctx: Context) -> None:
    assert ctx.incoming.choice is not None
    if ctx.state is None or ctx.state.flow != FLOW:
        show_menu(ctx, _("error.stale_choice"))
        return
    _prefix, action, value = [*ctx.incoming.choice.split(":", 2), "", ""][:3]
    data = ctx.state.data
    if action == "cancel":
        ctx.finish()
        show_menu(ctx, _("report.cancelled"))
    elif action == "cat" and value in CATEGORIES:
        data["category"] = value
        _after(ctx, "commune")
    elif action == "com" and ctx.services.communes.get(value) is not None:
        data["commune"] = value
        _after(ctx, "where")
    elif action == "provs":
        ctx.goto("commune")
        ctx.reply(_("report.pick_province"),
                  [Option(p.name, f"rp:prov:{p.code}") for p in ctx.services.communes.provinces()])
    elif action == "prov" and any(p.code == value for p in ctx.services.communes.provinces()):
        data["province"] = value
        ctx.goto("commune")
        ctx.reply(_("report.ask_commune_in_province"))
    elif action == "fu" and value in ("yes", "no") and ctx.state.step == "photos":
        data["follow_up"] = value == "yes"
        _after(ctx, "confirm")
    elif action == "edit" and value in EDITABLE:
        data["editing"] = True
        _ask(ctx, value)
    elif action == "edit":
        ctx.reply(_("report.edit_which"), [
            Option(_("report.field.category"), "rp:edit:category"),
            Option(_("report.field.commune"), "rp:edit:commune"),
            Option(_("report.field.where"), "rp:edit:where"),
            Option(_("report.field.description"), "rp:edit:description"),
        ])
    elif action == "send" and ctx.state.step == "confirm":
        await submit(ctx)
    else:
        ctx.reply(_("report.use_buttons"))


def _after(ctx: Context, next_step: str) -> None:
    """Go to ``next_step``, or back to the summary when the user was editing one field."""
    assert ctx.state is not None
    if ctx.state.data.pop("editing", False) and "follow_up" in ctx.state.data:
        next_step = "confirm"
    _ask(ctx, next_step)


def _ask(ctx: Context, step: str) -> None:
    ctx.goto(step)
    if step == "category":
        ask_category(ctx)
    elif step == "commune":
        ctx.reply(_("report.ask_commune"), [Option(_("report.by_province"), "rp:provs")])
    elif step == "where":
        ctx.reply(_("report.ask_where"))
    elif step == "description":
        ctx.reply(_("report.ask_description"))
    elif step == "photos":
        ctx.reply(_("report.ask_photos", limit=MAX_PHOTOS), _follow_up_options())
    else:
        summary(ctx)


def _follow_up_options() -> list[Option]:
    return [Option(_("report.follow_up_yes"), "rp:fu:yes"),
            Option(_("report.follow_up_no"), "rp:fu:no")]


# --- typed messages and photos inside the flow ----------------------------------------------

@router.flow(FLOW)
async def step(ctx: Context) -> None:
    assert ctx.state is not None
    current = ctx.state.step
    text = (ctx.incoming.text or "").strip()
    if current == "photos" or ctx.incoming.attachments:
        await _photo(ctx)
    elif current == "commune" and text:
        _search_commune(ctx, text)
    elif current in ("where", "description") and text:
        if len(text) > MAX_TEXT:
            ctx.reply(_("report.too_long", limit=MAX_TEXT))
            return
        ctx.state.data[current] = text
        _after(ctx, "description" if current == "where" else "photos")
    elif current == "commune":
        ctx.reply(_("report.ask_commune"), [Option(_("report.by_province"), "rp:provs")])
    else:
        ctx.reply(_("report.use_buttons"))


def _search_commune(ctx: Context, text: str) -> None:
    assert ctx.state is not None
    index = ctx.services.communes
    candidates = index.search(text, limit=5, province_code=ctx.state.data.get("province"))
    if not candidates:
        ctx.reply(_("report.commune_not_found"), [Option(_("report.by_province"), "rp:provs")])
        return
    if index.is_ambiguous(candidates):
        prompt = _("report.commune_ambiguous")
    else:
        prompt = _("report.commune_pick")
    options = [Option(_place_label(candidate), f"rp:com:{candidate.commune.code}")
               for candidate in candidates]
    options.append(Option(_("report.by_province"), "rp:provs"))
    ctx.reply(prompt, options)


def _place_label(candidate: Candidate) -> str:
    return f"{candidate.commune.name}, {candidate.commune.province_name}"


async def _photo(ctx: Context) -> None:
    assert ctx.state is not None
    photos: list[str] = ctx.state.data.setdefault("photos", [])
    if ctx.state.step != "photos":
        ctx.reply(_("report.photo_not_now"))
        return
    if not ctx.incoming.attachments:
        ctx.reply(_("report.ask_photos", limit=MAX_PHOTOS), _follow_up_options())
        return
    for attachment in ctx.incoming.attachments:
        if len(photos) >= MAX_PHOTOS:
            ctx.reply(_("report.photo_limit", limit=MAX_PHOTOS), _follow_up_options())
            return
        try:
            # Decoding a phone photo takes a few hundred ms: keep the event loop free.
            clean = await asyncio.to_thread(sanitize_image, attachment.data, max_side=PHOTO_SIDE)
        except ImageRejected:
            ctx.reply(_("report.photo_rejected"), _follow_up_options())
            return
        sealed = ctx.services.keyring.seal(clean, purpose="content")
        photos.append(base64.b64encode(sealed).decode("ascii"))
    ctx.reply(_("report.photo_received", count=len(photos), limit=MAX_PHOTOS),
              _follow_up_options())


# --- summary and submission -----------------------------------------------------------------

def summary(ctx: Context) -> None:
    assert ctx.state is not None
    data = ctx.state.data
    commune = ctx.services.communes.get(data["commune"])
    assert commune is not None
    ctx.reply(_("report.summary",
                category=category_label(data["category"]),
                commune=commune.name, province=commune.province_name,
                where=data["where"], description=data["description"],
                photos=len(data.get("photos", [])),
                follow_up=_("report.follow_up_yes") if data["follow_up"]
                else _("report.follow_up_no")),
              [Option(_("report.send"), "rp:send"), Option(_("report.edit"), "rp:edit"),
               Option(_("report.cancel"), "rp:cancel")])


async def submit(ctx: Context) -> None:
    assert ctx.state is not None
    data = ctx.state.data
    services, settings, conn, now = ctx.services, ctx.services.settings, ctx.conn, ctx.now
    keyring = services.keyring
    alias = services.pseudonyms.reporter(ctx.incoming.channel, ctx.incoming.user_id)
    day, part = time_bucket(now)
    ctx.finish()
    if await reports.reports_today(conn, alias, day) >= settings.reports_per_day:
        show_menu(ctx, _("report.daily_limit"))
        return
    digest = keyring.alias(f"same-text/{alias}", fold(data["where"] + " " + data["description"]))
    earlier = await reports.same_text_today(conn, digest, day)
    if earlier is not None:
        show_menu(ctx, _("report.duplicate", ticket=earlier))
        return
    commune = services.communes.get(data["commune"])
    assert commune is not None
    ticket = await _unused_ticket(ctx)
    report_id = await reports.create(
        conn, ticket=ticket, commune_code=commune.code, province_code=commune.province_code,
        category=data["category"], follow_up=bool(data["follow_up"]),
        content=Content(data["where"], data["description"]).seal(keyring, ticket),
        received_day=day, received_part=part,
        received_hour=now.replace(minute=0, second=0, microsecond=0))
    for photo in data.get("photos", []):
        clean = keyring.open(base64.b64decode(photo), purpose="content")
        await reports.add_attachment(conn, report_id, keyring.seal(
            clean, purpose="content", associated=ticket.encode()))
    await reports.record_source(conn, report_id, alias=alias, text_digest=digest, day=day)
    if data["follow_up"]:
        address = Address(ctx.incoming.channel, ctx.incoming.chat_id, ctx.language)
        await reports.save_handle(conn, report_id, address.seal(keyring, ticket),
                                  now + timedelta(days=settings.report_retention_days))
    slowed = await reports.slowed_until(conn, alias, now)
    delay = SLOWED_DELAY if slowed else timedelta()
    report = await reports.by_id(conn, report_id)
    assert report is not None
    await route(conn, report, keyring=keyring, settings=settings,
                place=Place(commune.name, commune.province_name), now=now, delay=delay)
    await audit.record(conn, at=now, actor="reporter", action="report.created", subject=ticket)
    show_menu(ctx, _("report.sent", ticket=ticket))


async def _unused_ticket(ctx: Context) -> str:
    while True:  # 60 random bits: a collision is astronomically rare, but never reuse one
        ticket = new_ticket_code()
        if await reports.by_ticket(ctx.conn, ticket) is None:
            return ticket


# --- following a report up ------------------------------------------------------------------

@router.command("status")
async def status_command(ctx: Context) -> None:
    if ctx.incoming.args:
        await show_status(ctx, ctx.incoming.args)
    else:
        ctx.begin("status", "ticket")
        ctx.reply(_("status.ask_ticket"))


@router.choice("status")
async def status_menu(ctx: Context) -> None:
    ctx.begin("status", "ticket")
    ctx.reply(_("status.ask_ticket"))


@router.flow("status")
async def status_typed(ctx: Context) -> None:
    ctx.finish()
    await show_status(ctx, ctx.incoming.text or "")


@router.choice("st")
async def status_button(ctx: Context) -> None:
    assert ctx.incoming.choice is not None
    await show_status(ctx, ctx.incoming.choice.partition(":")[2])


async def _report_for(ctx: Context, typed: str) -> reports.Report | None:
    ticket = normalize_ticket_code(typed)
    report = await reports.by_ticket(ctx.conn, ticket) if ticket else None
    if report is None:
        show_menu(ctx, _("status.not_found"))
    return report


async def show_status(ctx: Context, typed: str) -> None:
    report = await _report_for(ctx, typed)
    if report is None:
        return
    keyring = ctx.services.keyring
    lines = [_("status.header", ticket=report.ticket, status=status_label(report.status),
               day=report.received_day.strftime("%d/%m/%Y"),
               part=part_of_day_label(report.received_part),
               category=category_label(report.category))]
    questions = [m for m in await reports.messages(ctx.conn, report.id)
                 if m.kind == "question" and not m.answered]
    lines.extend(_("status.question", question=open_text(keyring, report.ticket, m.body))
                 for m in questions)
    options = []
    if report.status in reports.OPEN_STATUSES:
        if questions:
            options.append(Option(_("status.answer"), f"rpa:{report.ticket}"))
        options.append(Option(_("status.add_info"), f"rpi:{report.ticket}"))
    options.append(Option(_("menu.title_short"), "menu"))
    ctx.reply("\n".join(lines), options)


@router.choice("rpa")
async def answer_question(ctx: Context) -> None:
    await _begin_follow_up(ctx, "answer")


@router.choice("rpi")
async def add_information(ctx: Context) -> None:
    await _begin_follow_up(ctx, "info")


async def _begin_follow_up(ctx: Context, kind: str) -> None:
    assert ctx.incoming.choice is not None
    report = await _report_for(ctx, ctx.incoming.choice.partition(":")[2])
    if report is None:
        return
    if report.status not in reports.OPEN_STATUSES:
        show_menu(ctx, _("status.closed"))
        return
    ctx.begin("follow_up", kind, ticket=report.ticket)
    ctx.reply(_("status.type_answer") if kind == "answer" else _("status.type_info"))


@router.flow("follow_up")
async def follow_up_typed(ctx: Context) -> None:
    assert ctx.state is not None
    kind, ticket = ctx.state.step, ctx.state.data["ticket"]
    text = (ctx.incoming.text or "").strip()
    if not text:
        ctx.reply(_("status.type_answer") if kind == "answer" else _("status.type_info"))
        return
    if len(text) > MAX_TEXT:
        ctx.reply(_("report.too_long", limit=MAX_TEXT))
        return
    ctx.finish()
    report = await reports.by_ticket(ctx.conn, ticket)
    if report is None or report.status not in reports.OPEN_STATUSES:
        show_menu(ctx, _("status.closed"))
        return
    keyring = ctx.services.keyring
    message_id = await reports.add_message(ctx.conn, report.id, kind=kind, author=None,
                                           body=seal_text(keyring, ticket, text), now=ctx.now)
    if kind == "answer":
        await reports.mark_questions_answered(ctx.conn, report.id)
    await notify(ctx.conn, report, keyring=keyring, settings=ctx.services.settings,
                 text_id="police.reporter_wrote", dedupe=f"msg:{message_id}", now=ctx.now,
                 text=text)
    await audit.record(ctx.conn, at=ctx.now, actor="reporter", action=f"report.{kind}",
                       subject=ticket)
    show_menu(ctx, _("status.sent"))
