"""Reporting deadlines in police chats: ``/deadlines`` (where the caller's commune or province
stands), the buttons of reminders ("Submitted", "Remind me tomorrow") and ``/positive`` (a
positive test that starts a case deadline).

What a button acts on is decided by the pressing chat's scope, never by the button: an
officer submits for their own commune, a supervisor for their province.
"""

from __future__ import annotations

from datetime import date, timedelta

from bot import deadlines
from bot.clock import local
from bot.conversation.flows import Flow
from bot.conversation.i18n import gettext as _
from bot.conversation.messages import ChatKind, Option
from bot.conversation.routing import Context, Router
from bot.conversation.validators import Date, Invalid
from bot.deadlines import Book, Standing, open_book, open_deadlines
from bot.deadlines.notices import (
    DeadlineButton,
    Missing,
    day_label,
    due_phrase,
    list_option,
    missing_pages,
    period_label,
    submitted_option,
    working_days_between,
)
from bot.deadlines.rules import Rule
from bot.officials import ADMIN, Scope
from bot.store import deadlines as store
from bot.store.deadlines import Deadline
from handlers.officer import scope_of
from handlers.start import show_menu

router = Router("deadlines")

CASE_FLOW = "deadline_case"
MAX_REFERENCE = 40


def _not_allowed(ctx: Context) -> None:
    show_menu(ctx, _("officer.not_allowed"))


# --- the overview ----------------------------------------------------------------------------

@router.command("deadlines")
async def deadlines_command(ctx: Context) -> None:
    await _overview(ctx)


async def _overview(ctx: Context) -> None:
    scope = await scope_of(ctx)
    if scope is None:
        _not_allowed(ctx)
        return
    book = await open_book(ctx.conn)
    today = local(ctx.now).date()
    index = ctx.services.communes
    lines, options = [], []
    for rule, deadline in await open_deadlines(ctx.conn, book, ctx.services.settings, today,
                                               ctx.now):
        seen = await deadlines.standing(ctx.conn, rule, deadline, index, scope)
        if not seen.units:
            continue
        lines.append(_line(ctx, book, seen))
        own = deadlines.unit_of(rule, scope)
        if own in seen.missing:
            options.append(Option(_("deadlines.button.submit_one", title=rule.title_in(
                ctx.language), period=_period(ctx, rule, deadline)),
                DeadlineButton("done", deadline.id).pack()))
        elif seen.missing and scope.role != ADMIN and own is None:
            options.append(Option(_("deadlines.button.show", title=rule.title_in(ctx.language),
                                    period=_period(ctx, rule, deadline)),
                                  DeadlineButton("show", deadline.id).pack()))
    if scope.role == "officer":
        options.append(Option(_("deadlines.button.case"), DeadlineButton("case").pack()))
    await ctx.audit("deadline.list", subject=scope.commune_code or scope.province_code or "all")
    heading = _("deadlines.overview", count=len(lines)) if lines else _("deadlines.none")
    ctx.reply("\n\n".join([heading, *lines]), options)


def _period(ctx: Context, rule: Rule, deadline: Deadline) -> str:
    reference = ctx.services.open(deadline.reference) if deadline.reference else None
    return period_label(rule, deadline, reference)


def _line(ctx: Context, book: Book, seen: Standing) -> str:
    rule, deadline = seen.rule, seen.deadline
    title, period = rule.title_in(ctx.language), _period(ctx, rule, deadline)
    due = due_phrase(deadline.due_on, local(ctx.now).date(), book.calendar)
    if len(seen.units) == 1:
        done = seen.submitted.get(seen.units[0])
        if done is None:
            return _("deadlines.line_open", title=title, period=period, due=due)
        return _("deadlines.line_done", title=title, period=period,
                 at=f"{local(done.submitted_at):%d/%m %H:%M}")
    return _("deadlines.line_count", title=title, period=period, due=due,
             submitted=len(seen.submitted), total=len(seen.units))


# --- buttons ---------------------------------------------------------------------------------

@router.choice(DeadlineButton)
async def button(ctx: Context) -> None:
    pressed = ctx.button(DeadlineButton)
    if ctx.state is not None and ctx.state.flow == CASE_FLOW:
        ctx.finish()  # another button: the reference they were about to type is off
    if pressed.action == "list":
        await _overview(ctx)
        return
    if pressed.action == "case":
        await _begin_case(ctx)
        return
    scope = await scope_of(ctx)
    if scope is None:
        _not_allowed(ctx)
        return
    if pressed.action == "later" and pressed.deadline is None:
        await _later_all(ctx, scope)
        return
    found = await _deadline(ctx, pressed.deadline)
    if found is None:
        return
    rule, deadline, book = found
    if pressed.action == "show":
        await _show_missing(ctx, scope, rule, deadline)
        return
    unit = deadlines.unit_of(rule, scope)
    if unit is None or unit not in deadlines.units(rule, deadline, ctx.services.communes):
        ctx.reply(_("deadlines.not_yours"), [list_option()])
    elif pressed.action == "done":
        await _submit(ctx, book, rule, deadline, unit)
    elif pressed.action == "later":
        await _later(ctx, book, rule, deadline, unit)
    else:
        ctx.reply(_("error.stale_choice"))


async def _deadline(ctx: Context, deadline_id: int | None) -> tuple[Rule, Deadline, Book] | None:
    deadline = await store.by_id(ctx.conn, deadline_id) if deadline_id is not None else None
    book = await open_book(ctx.conn)
    rule = book.rules.get(deadline.rule_id) if deadline is not None else None
    if deadline is None or rule is None:
        ctx.reply(_("deadlines.gone"), [list_option()])
        return None
    return rule, deadline, book


async def _submit(ctx: Context, book: Book, rule: Rule, deadline: Deadline, unit: str) -> None:
    actor = f"user:{ctx.user.id}"
    recorded, now_recorded = await deadlines.submit(ctx.conn, deadline, unit, by=actor,
                                                    now=ctx.now)
    title, period = rule.title_in(ctx.language), _period(ctx, rule, deadline)
    at = f"{local(recorded.submitted_at):%d/%m/%Y %H:%M}"
    if not now_recorded:
        ctx.reply(_("deadlines.already", title=title, period=period, at=at), [list_option()])
        return
    await ctx.audit("deadline.submitted", subject=f"{rule.id}:{deadline.period}", detail=unit)
    day = local(ctx.now).date()
    late = working_days_between(deadline.due_on, day, book.calendar)
    timing = (_("deadlines.on_time") if day <= deadline.due_on
              else _("deadlines.late_by", count=late))
    ctx.reply(_("deadlines.recorded", title=title, period=period, at=at, timing=timing),
              [list_option()])


async def _later(ctx: Context, book: Book, rule: Rule, deadline: Deadline, unit: str) -> None:
    title, period = rule.title_in(ctx.language), _period(ctx, rule, deadline)
    if unit in await store.submissions(ctx.conn, deadline.id, [unit]):
        ctx.reply(_("deadlines.already_short", title=title, period=period), [list_option()])
        return
    day = await deadlines.remind_tomorrow(ctx.conn, deadline, unit, local(ctx.now).date(),
                                          book.calendar)
    if day is None:
        ctx.reply(_("deadlines.no_later", title=title, period=period),
                  [submitted_option(deadline)])
        return
    await ctx.audit("deadline.later", subject=f"{rule.id}:{deadline.period}", detail=unit)
    ctx.reply(_("deadlines.later_set", title=title, period=period, day=day_label(day)),
              [submitted_option(deadline)])


async def _later_all(ctx: Context, scope: Scope) -> None:
    """"Remind me tomorrow" under a reminder of several deadlines: each one the caller's unit
    still owes and that is not due today comes back on the next working day."""
    book = await open_book(ctx.conn)
    today = local(ctx.now).date()
    snoozed, day = [], None
    for rule, deadline in await open_deadlines(ctx.conn, book, ctx.services.settings, today,
                                               ctx.now):
        unit = deadlines.unit_of(rule, scope)
        if unit is None or unit not in deadlines.units(rule, deadline, ctx.services.communes):
            continue
        if unit in await store.submissions(ctx.conn, deadline.id, [unit]):
            continue
        moved = await deadlines.remind_tomorrow(ctx.conn, deadline, unit, today, book.calendar)
        if moved is not None:
            snoozed.append(_("deadlines.later_line", title=rule.title_in(ctx.language),
                             period=_period(ctx, rule, deadline)))
            day = moved if day is None else min(day, moved)
            await ctx.audit("deadline.later", subject=f"{rule.id}:{deadline.period}",
                            detail=unit)
    if day is None:
        ctx.reply(_("deadlines.no_later_all"), [list_option()])
        return
    ctx.reply(_("deadlines.later_all_set", day=day_label(day), lines="\n".join(snoozed)),
              [list_option()])


async def _show_missing(ctx: Context, scope: Scope, rule: Rule, deadline: Deadline) -> None:
    """A supervisor's list of the communes in their province that have not submitted."""
    if scope.role == ADMIN:
        ctx.reply(_("deadlines.admin_report"), [list_option()])
        return
    index = ctx.services.communes
    seen = await deadlines.standing(ctx.conn, rule, deadline, index, scope)
    linked = await store.inboxes_by_unit(ctx.conn, rule.role)
    missing = [Missing(deadlines.unit_name(rule, unit, index), bool(linked.get(unit)))
               for unit in seen.missing]
    heading = _("deadlines.missing_heading", title=rule.title_in(ctx.language),
                period=_period(ctx, rule, deadline), missing=len(missing),
                total=len(seen.units))
    if not missing:
        ctx.reply(heading, [list_option()])
        return
    ctx.replies.extend(missing_pages(heading, missing, rule.title_in(ctx.language)))
    await ctx.audit("deadline.missing", subject=f"{rule.id}:{deadline.period}",
                    detail=scope.province_code)


# --- a positive test starts a case deadline --------------------------------------------------

CASE = router.flow(Flow(CASE_FLOW, buttons=(DeadlineButton,), ttl=timedelta(minutes=30)))


@CASE.step("reference")
def _ask_reference(ctx: Context) -> None:
    ctx.reply(_("deadlines.case_prompt", limit=MAX_REFERENCE))


@CASE.on_text("reference")
async def _reference_typed(ctx: Context, text: str) -> None:
    await _record_case(ctx, text)


async def _begin_case(ctx: Context) -> None:
    scope = await scope_of(ctx)
    if scope is None or scope.role != "officer":
        ctx.reply(_("deadlines.case_officers_only"), [list_option()])
    elif ctx.incoming.chat_kind is ChatKind.GROUP:
        ctx.reply(_("deadlines.case_usage", limit=MAX_REFERENCE))
    else:
        CASE.begin(ctx)


@router.command("positive")
async def positive_command(ctx: Context) -> None:
    if ctx.incoming.args.strip():
        await _record_case(ctx, ctx.incoming.args)
    else:
        await _begin_case(ctx)


def _tested_on(ctx: Context, words: list[str]) -> tuple[list[str], date | None]:
    """A test date typed after the reference (a test read yesterday is recorded today), or
    today; None when the date is in the future or older than the follow-up window."""
    today = local(ctx.now).date()
    if len(words) < 2:
        return words, today
    try:
        day = Date().parse(words[-1])
    except Invalid:
        return words, today
    oldest = today - timedelta(days=ctx.services.settings.deadline_follow_up_days)
    return words[:-1], day if oldest <= day <= today else None


async def _record_case(ctx: Context, typed: str) -> None:
    words, tested_on = _tested_on(ctx, typed.split())
    reference = " ".join(words)
    if not reference or len(reference) > MAX_REFERENCE:
        ctx.note(_("deadlines.case_reference_bad", limit=MAX_REFERENCE))
        await _begin_case(ctx)
        return
    if tested_on is None:
        ctx.note(_("deadlines.case_date_bad",
                   days=ctx.services.settings.deadline_follow_up_days))
        await _begin_case(ctx)
        return
    ctx.finish()
    scope = await scope_of(ctx)
    if scope is None or scope.role != "officer":
        ctx.reply(_("deadlines.case_officers_only"), [list_option()])
        return
    assert scope.commune_code is not None and scope.province_code is not None
    book = await open_book(ctx.conn)
    started = await deadlines.record_case(
        ctx.conn, book, scope.commune_code, scope.province_code,
        reference=ctx.services.seal(reference), tested_on=tested_on, now=ctx.now)
    await ctx.audit("deadline.case", subject=scope.commune_code, detail=str(len(started)))
    if not started:
        ctx.reply(_("deadlines.case_no_rule"), [list_option()])
        return
    lines = [_("deadlines.case_recorded", reference=reference, day=day_label(tested_on))]
    lines += [_("deadlines.case_due", title=rule.title_in(ctx.language),
                due=day_label(deadline.due_on),
                count=working_days_between(tested_on, deadline.due_on, book.calendar))
              for rule, deadline in started]
    ctx.reply("\n".join(lines), [list_option()])
