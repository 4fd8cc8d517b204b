"""A reporter following their report up: /status, police questions, answers and additions.

The ticket alone shows the status: police see tickets, so it proves nothing about who filed
the report. Police questions and writing back need the passphrase typed after the ticket, or
a button the bot sent to the reporter's own chat (see :mod:`bot.reports.access`).
"""

from __future__ import annotations

from datetime import timedelta

from bot.conversation.flows import Flow
from bot.conversation.i18n import gettext as _
from bot.conversation.messages import Option
from bot.conversation.routing import Context, Router
from bot.conversation.validators import Text
from bot.reports import (
    MAX_TEXT,
    category_label,
    notify,
    open_text,
    part_of_day_label,
    seal_text,
    status_label,
)
from bot.reports.access import access_key, opened_by_key, opened_by_passphrase
from bot.reports.buttons import StatusButton
from bot.security.privacy import read_ticket
from bot.store import audit, reports
from handlers.start import show_menu

router = Router("status")

FAILED_UNLOCKS_PER_DAY = 10
"""Failed passphrases one person may type in a day; after that, no passphrase is checked."""
FAILED_UNLOCK = "status.unlock_failed"

STATUS = router.flow(Flow("status"))


@STATUS.step("ticket")
def ask_ticket(ctx: Context) -> None:
    ctx.reply(_("status.ask_ticket"))


@STATUS.on_text("ticket")
async def status_typed(ctx: Context, typed: str) -> None:
    ctx.finish()
    await _typed(ctx, typed)


@router.command("status")
async def status_command(ctx: Context) -> None:
    if ctx.incoming.args:
        await _typed(ctx, ctx.incoming.args)
    else:
        STATUS.begin(ctx)


@router.choice("status")
async def status_menu(ctx: Context) -> None:
    STATUS.begin(ctx)


async def _typed(ctx: Context, typed: str) -> None:
    read = read_ticket(typed)
    report = await reports.by_ticket(ctx.conn, read[0]) if read else None
    if read is None or report is None:
        show_menu(ctx, _("status.not_found"))
        return
    passphrase = read[1]
    if passphrase is None:
        await _show(ctx, report, opened=False)
    elif await _passphrase_opens(ctx, report, passphrase):
        await _show(ctx, report, opened=True)
    else:
        await _show(ctx, report, opened=False, note=_("status.wrong_passphrase"))


async def _passphrase_opens(ctx: Context, report: reports.Report, passphrase: str) -> bool:
    actor = f"user:{ctx.user.id}"
    tried = await audit.count(ctx.conn, actor=actor, action=FAILED_UNLOCK,
                              since=ctx.now - timedelta(days=1))
    if tried >= FAILED_UNLOCKS_PER_DAY:
        return False
    if opened_by_passphrase(ctx.services.keyring, report, passphrase):
        return True
    await ctx.audit(FAILED_UNLOCK)  # no subject: the log must not tie a person to a ticket
    return False


@router.choice(StatusButton)
async def status_button(ctx: Context) -> None:
    button = ctx.button(StatusButton)
    report = await reports.by_ticket(ctx.conn, button.ticket)
    if report is None:
        show_menu(ctx, _("status.not_found"))
        return
    opened = opened_by_key(ctx.services.keyring, report, button.key)
    if button.action in ("answer", "info") and opened:
        await _begin_follow_up(ctx, report, button.action)
    else:
        await _show(ctx, report, opened=opened)


async def _show(ctx: Context, report: reports.Report, *, opened: bool,
                note: str | None = None) -> None:
    """The status; with ``opened``, police questions and the ways to write back too."""
    keyring = ctx.services.keyring
    lines = [note] if note else []
    lines.append(_("status.header", ticket=report.ticket, status=status_label(report.status),
                   day=report.received_day.strftime("%d/%m/%Y"),
                   part=part_of_day_label(report.received_part),
                   category=category_label(report.category)))
    options = []
    if not opened:
        lines.append(_("status.locked", ticket=report.ticket) if report.passphrase_hash
                     else _("status.read_only"))
    else:
        questions = [m for m in await reports.messages(ctx.conn, report.id)
                     if m.kind == "question" and not m.answered]
        lines.extend(_("status.question", question=open_text(keyring, report.ticket, m.body))
                     for m in questions)
        if report.status in reports.OPEN_STATUSES:
            key = access_key(keyring, report.ticket)
            if questions:
                options.append(Option(_("status.answer"),
                                      StatusButton(report.ticket, "answer", key).pack()))
            options.append(Option(_("status.add_info"),
                                  StatusButton(report.ticket, "info", key).pack()))
    options.append(Option(_("menu.title_short"), "menu"))
    ctx.reply("\n".join(lines), options)


# --- writing to police ----------------------------------------------------------------------

def _follow_up_prompt(ctx: Context) -> None:
    assert ctx.state is not None
    ctx.reply(_("status.type_answer") if ctx.state.data["kind"] == "answer"
              else _("status.type_info"))


FOLLOW_UP = router.flow(Flow("follow_up", label="flow.follow_up"))
FOLLOW_UP.step("text", validate=Text(1, MAX_TEXT))(_follow_up_prompt)


async def _begin_follow_up(ctx: Context, report: reports.Report, kind: str) -> None:
    if report.status not in reports.OPEN_STATUSES:
        show_menu(ctx, _("status.closed"))
        return
    # the state is the bot's own: once the key was checked, the typed text needs no proof
    FOLLOW_UP.begin(ctx, kind=kind, ticket=report.ticket)


@FOLLOW_UP.on_text("text")
async def follow_up_typed(ctx: Context, text: str) -> None:
    assert ctx.state is not None
    kind, ticket = ctx.state.data["kind"], ctx.state.data["ticket"]
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
    # Worded as the report's thread lists it: an answer is an answer everywhere.
    await notify(ctx.conn, report, keyring=keyring, settings=ctx.services.settings,
                 text_id="police.reporter_answered" if kind == "answer"
                 else "police.reporter_added", dedupe=f"msg:{message_id}", now=ctx.now,
                 text=text)
    await audit.record(ctx.conn, at=ctx.now, actor=audit.REPORTER, action=f"report.{kind}",
                       subject=ticket)
    show_menu(ctx, _("status.sent"))
