"""The police side of anonymous reports: joining with an invite, the report list, the card and
what police do with a report (acknowledge, ask the reporter, change status, note, see photos).

Who may see a report is decided here and nowhere else: the inbox of the chat the command comes
from (a linked police group or private chat), else, in a private chat, the role the person
joined with. An officer acts on their commune only, a supervisor on their province only. A
report outside the caller's scope is answered exactly like a ticket that does not exist, and
every view and change is written to the audit log.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot import officials
from bot.conversation.flows import Flow
from bot.conversation.i18n import gettext as _
from bot.conversation.messages import ChatKind, Option, Reply
from bot.conversation.routing import Context, Router
from bot.officials import Scope, invites
from bot.reports import (
    MAX_TEXT,
    Content,
    card,
    category_label,
    open_text,
    place_of,
    relay_to_reporter,
    route_waiting,
    seal_text,
    status_label,
)
from bot.reports import status as report_status
from bot.reports.buttons import CardButton
from bot.security.privacy import normalize_ticket_code
from bot.store import reports
from bot.store.reports import CLOSED_STATUSES, OPEN_STATUSES, Report
from handlers.start import show_menu

router = Router("officer")

QUESTION_FLOW = "police_question"
NOTE_FLOW = "police_note"
TEXT_FLOWS = (QUESTION_FLOW, NOTE_FLOW)
LIST_LIMIT = 200  # shown ten at a time by the pager; beyond this, /report TICKET
THREAD_LIMIT = 10



async def scope_of(ctx: Context) -> Scope | None:
    incoming = ctx.incoming
    return await officials.scope_of(ctx.conn, ctx.services.settings, channel=incoming.channel,
                                    chat_id=incoming.chat_id, chat_kind=incoming.chat_kind,
                                    user=ctx.user)


def _not_allowed(ctx: Context) -> None:
    show_menu(ctx, _("officer.not_allowed"))


def _scope_name(ctx: Context, scope: Scope) -> str:
    if scope.role == officials.ADMIN:
        return _("officer.scope_all")
    index = ctx.services.communes
    if scope.commune_code is not None and (commune := index.get(scope.commune_code)):
        return f"{commune.name}, {commune.province_name}"
    province = next((p for p in index.provinces() if p.code == scope.province_code), None)
    return province.name if province else str(scope.province_code)


async def _report_in_scope(ctx: Context, scope: Scope, typed: str) -> Report | None:
    """The report behind ``typed`` if the caller may see it; else answers "not found"."""
    ticket = normalize_ticket_code(typed)
    report = await reports.by_ticket(ctx.conn, ticket) if ticket else None
    if report is not None and not scope.covers(report):
        await ctx.audit("report.denied", subject=report.ticket)
        report = None
    if report is None:
        ctx.reply(_("officer.not_found"))
    return report


# --- joining ---------------------------------------------------------------------------------

@router.command("join")
async def join(ctx: Context) -> None:
    typed = ctx.incoming.args.strip()
    if not typed:
        ctx.reply(_("officer.join_usage"))
        return
    incoming = ctx.incoming
    joined = await invites.redeem(ctx.conn, ctx.services.keyring, typed, user_id=ctx.user.id,
                                  channel=incoming.channel, chat_id=incoming.chat_id,
                                  chat_kind=incoming.chat_kind.value, language=ctx.language,
                                  now=ctx.now)
    if isinstance(joined, str):
        ctx.reply(_(joined))
        return
    ctx.user = replace(ctx.user, role=joined.role, commune_code=joined.commune_code,
                       province_code=joined.province_code)
    services = ctx.services
    delivered = await route_waiting(ctx.conn, commune_code=joined.commune_code,
                                    province_code=joined.province_code,
                                    keyring=services.keyring, settings=services.settings,
                                    communes=services.communes, now=ctx.now)
    scope = Scope(joined.role, joined.commune_code, joined.province_code)
    hours = f"{services.settings.report_ack_hours:g}"
    lines = [_("officer.joined" if joined.role == "officer" else "supervisor.joined",
               place=_scope_name(ctx, scope), hours=hours)]
    if delivered:
        lines.append(_("officer.join_delivered", count=delivered))
    ctx.reply("\n".join(lines), [Option(_("menu.reports"), "reports")])


# --- listing and viewing ---------------------------------------------------------------------

@router.command("reports")
async def list_command(ctx: Context) -> None:
    await _list(ctx)


@router.choice("reports")
async def list_choice(ctx: Context) -> None:
    await _list(ctx)


async def _list(ctx: Context) -> None:
    scope = await scope_of(ctx)
    if scope is None:
        _not_allowed(ctx)
        return
    found = await reports.open_in_scope(ctx.conn, commune_code=scope.commune_code,
                                        province_code=scope.province_code, limit=LIST_LIMIT)
    await ctx.audit("report.list", subject=scope.commune_code or scope.province_code or "all")
    name = _scope_name(ctx, scope)
    if not found:
        ctx.reply(_("officer.reports_none", place=name))
        return
    ctx.reply(_("officer.reports_title", place=name, count=len(found)),
              [Option(_list_label(ctx, scope, report), CardButton("view", report.ticket).pack())
               for report in found])


def _list_label(ctx: Context, scope: Scope, report: Report) -> str:
    ticket = f"🆕 {report.ticket}" if report.status == "new" else report.ticket
    parts = [ticket, category_label(report.category), report.received_day.strftime("%d/%m")]
    if scope.commune_code is None:
        parts.append(place_of(ctx.services.communes, report).commune)
    return " · ".join(parts)


@router.command("report")
async def report_command(ctx: Context) -> None:
    if not ctx.incoming.args.strip():
        await _list(ctx)
        return
    scope = await scope_of(ctx)
    if scope is None:
        _not_allowed(ctx)
        return
    report = await _report_in_scope(ctx, scope, ctx.incoming.args)
    if report is not None:
        await _view(ctx, report)


async def _card(ctx: Context, report: Report, heading: str | None = None) -> Reply:
    keyring = ctx.services.keyring
    photos = await reports.attachment_count(ctx.conn, report.id)
    base = card(report, Content.open(keyring, report), place_of(ctx.services.communes, report),
                photos, heading=heading or _("police.card.view", ticket=report.ticket))
    thread = [_thread_line(message.kind, message.created_at.strftime("%d/%m"),
                           open_text(keyring, report.ticket, message.body))
              for message in (await reports.messages(ctx.conn, report.id))[-THREAD_LIMIT:]]
    if not thread:
        return base
    return replace(base, text=base.text + "\n\n" + "\n".join(thread))


def _thread_line(kind: str, day: str, text: str) -> str:
    if kind == "question":
        return _("police.thread.question", day=day, text=text)
    if kind == "answer":
        return _("police.thread.answer", day=day, text=text)
    if kind == "note":
        return _("police.thread.note", day=day, text=text)
    return _("police.thread.info", day=day, text=text)


async def _view(ctx: Context, report: Report) -> None:
    ctx.replies.append(await _card(ctx, report))
    await ctx.audit("report.view", subject=report.ticket)


# --- buttons on a card -----------------------------------------------------------------------

@router.choice(CardButton)
async def action(ctx: Context) -> None:
    button = ctx.button(CardButton)
    verb, ticket, value = button.verb, button.ticket, button.value
    scope = await scope_of(ctx)
    if scope is None:
        _not_allowed(ctx)
        return
    if ctx.state is not None and ctx.state.flow in TEXT_FLOWS:
        ctx.finish()  # another button: the question or note they were about to type is off
    report = await _report_in_scope(ctx, scope, ticket)
    if report is None:
        return
    if verb == "view":
        await _view(ctx, report)
    elif verb == "ack":
        await _set_status(ctx, report, "acknowledged")
    elif verb == "st":
        _offer_statuses(ctx, report)
    elif verb == "set" and value in report_status.SETTABLE:
        await _set_status(ctx, report, value)
    elif verb == "ask":
        await _begin_question(ctx, report)
    elif verb == "note":
        ctx.begin(NOTE_FLOW, "text", ticket=report.ticket)
        ctx.reply(_prompt(ctx, NOTE_FLOW, report.ticket))
    elif verb == "ph":
        await _photos(ctx, report)
    else:
        ctx.reply(_("error.stale_choice"))


def _open_option(ticket: str) -> Option:
    return Option(_("police.action.open"), CardButton("view", ticket).pack())


def _offer_statuses(ctx: Context, report: Report) -> None:
    if report.status in CLOSED_STATUSES:
        ctx.reply(_("officer.closed", ticket=report.ticket), [_open_option(report.ticket)])
        return
    labels = {
        "verifying": _("police.set.verifying"),
        "handled": _("police.set.handled"),
        "unfounded": _("police.set.unfounded"),
        "spam": _("police.set.spam"),
    }
    options = [Option(labels[status], CardButton("set", report.ticket, status).pack())
               for status in report_status.choices(report.status)]
    options.append(_open_option(report.ticket))
    ctx.reply(_("officer.pick_status", ticket=report.ticket,
                status=status_label(report.status)), options)


async def _set_status(ctx: Context, report: Report, status: str) -> None:
    if report.status in CLOSED_STATUSES:
        ctx.reply(_("officer.closed", ticket=report.ticket), [_open_option(report.ticket)])
        return
    if not report_status.can_move(report.status, status):
        ctx.reply(_("officer.status_unchanged", ticket=report.ticket,
                    status=status_label(report.status)), [_open_option(report.ticket)])
        return
    conn, now, services = ctx.conn, ctx.now, ctx.services
    await reports.set_status(conn, report.id, status, now)
    await ctx.audit("report.status", subject=report.ticket, detail=f"{report.status}->{status}")
    if status == "spam":
        # The reporter is not told; their next reports reach police later, for a while.
        alias = await reports.alias_of(conn, report.id)
        if alias is not None:
            until = now + timedelta(days=services.settings.spam_slowdown_days)
            await reports.slow_down(conn, alias, until)
    else:
        await relay_to_reporter(conn, report, keyring=services.keyring,
                                text_id="reporter.status_changed", dedupe=f"status:{status}",
                                now=now, status_id=status)
    if status in CLOSED_STATUSES:
        await reports.forget_reporter(conn, report.id)
    updated = await reports.by_id(conn, report.id)
    assert updated is not None
    ctx.replies.append(await _card(ctx, updated, heading=_(
        "officer.status_set", ticket=report.ticket, status=status_label(status))))


# --- questions to the reporter and internal notes ---------------------------------------------

async def _begin_question(ctx: Context, report: Report) -> None:
    if not await _can_ask(ctx, report):
        return
    ctx.begin(QUESTION_FLOW, "text", ticket=report.ticket)
    ctx.reply(_prompt(ctx, QUESTION_FLOW, report.ticket))


async def _can_ask(ctx: Context, report: Report) -> bool:
    """Whether a question can reach the reporter; says why not when it cannot."""
    back = [_open_option(report.ticket)]
    if report.status not in OPEN_STATUSES:
        ctx.reply(_("officer.closed", ticket=report.ticket), back)
    elif not report.follow_up:
        ctx.reply(_("officer.no_follow_up", ticket=report.ticket), back)
    elif await reports.handle_of(ctx.conn, report.id, ctx.now) is None:
        ctx.reply(_("officer.handle_expired", ticket=report.ticket), back)
    else:
        return True
    return False


def _prompt(ctx: Context, flow: str, ticket: str) -> str:
    # Groups only pass commands to the bot, so there the text comes after /ask or /note.
    in_group = ctx.incoming.chat_kind is ChatKind.GROUP
    if flow == QUESTION_FLOW:
        return (_("officer.ask_prompt_group", ticket=ticket) if in_group
                else _("officer.ask_prompt", ticket=ticket))
    return (_("officer.note_prompt_group", ticket=ticket) if in_group
            else _("officer.note_prompt", ticket=ticket))


def _text_flow(name: str) -> Flow:
    """A flow of one step: the question or note being typed about one report."""
    flow = router.flow(Flow(name, buttons=(CardButton,)))

    @flow.step("text")
    def prompt(ctx: Context) -> None:
        assert ctx.state is not None
        ctx.reply(_prompt(ctx, name, str(ctx.state.data.get("ticket", ""))))

    @flow.on_text("text")
    async def typed(ctx: Context, text: str) -> None:
        await _text_received(ctx, name, text)

    return flow


_text_flow(QUESTION_FLOW)
_text_flow(NOTE_FLOW)


@router.command("ask", "note", in_flow=True)
async def text_command(ctx: Context) -> None:
    flow = QUESTION_FLOW if ctx.incoming.command == "ask" else NOTE_FLOW
    if ctx.state is None or ctx.state.flow != flow:
        if await scope_of(ctx) is None:
            _not_allowed(ctx)
        else:
            ctx.reply(_("officer.no_flow"))
        return
    await _text_received(ctx, flow, ctx.incoming.args)


async def _text_received(ctx: Context, flow: str, typed: str) -> None:
    assert ctx.state is not None
    ticket = str(ctx.state.data.get("ticket", ""))
    text = typed.strip()
    if not text:
        ctx.reply(_prompt(ctx, flow, ticket))
        return
    if len(text) > MAX_TEXT:
        ctx.reply(_("officer.too_long", limit=MAX_TEXT))
        return
    ctx.finish()
    scope = await scope_of(ctx)
    if scope is None:
        _not_allowed(ctx)
        return
    report = await _report_in_scope(ctx, scope, ticket)
    if report is None:
        return
    keyring, author = ctx.services.keyring, f"user:{ctx.user.id}"
    back = [_open_option(report.ticket)]
    if flow == NOTE_FLOW:
        await reports.add_message(ctx.conn, report.id, kind="note", author=author,
                                  body=seal_text(keyring, report.ticket, text), now=ctx.now)
        await ctx.audit("report.note", subject=report.ticket)
        ctx.reply(_("officer.noted", ticket=report.ticket), back)
        return
    if not await _can_ask(ctx, report):
        return
    message_id = await reports.add_message(ctx.conn, report.id, kind="question", author=author,
                                           body=seal_text(keyring, report.ticket, text),
                                           now=ctx.now)
    await relay_to_reporter(ctx.conn, report, keyring=keyring, text_id="reporter.question",
                            dedupe=f"msg:{message_id}", now=ctx.now, answer=True, question=text)
    await ctx.audit("report.question", subject=report.ticket)
    ctx.reply(_("officer.asked", ticket=report.ticket), back)


# --- photos ----------------------------------------------------------------------------------

async def _photos(ctx: Context, report: Report) -> None:
    sealed = await reports.attachments(ctx.conn, report.id)
    back = (_open_option(report.ticket),)
    if not sealed:
        ctx.reply(_("officer.no_photos", ticket=report.ticket), back)
        return
    keyring, associated = ctx.services.keyring, report.ticket.encode()
    photos = tuple(keyring.open(item, purpose="content", associated=associated)
                   for item in sealed)
    ctx.replies.append(Reply(_("officer.photos", ticket=report.ticket, count=len(photos)),
                             back, photos=photos))
    await ctx.audit("report.photos", subject=report.ticket)
