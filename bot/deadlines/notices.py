"""What deadline reminders and digests say, in the language of the chat they go to, and the
buttons they carry.

A button names the deadline, never the commune: the unit it acts for is the one the pressing
chat answers for, so a forwarded or forged button cannot mark another commune's report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.clock import Calendar
from bot.conversation.callbacks import CallbackData
from bot.conversation.i18n import gettext as _
from bot.conversation.messages import Option, Reply
from bot.deadlines.periods import parse_period
from bot.deadlines.rules import Rule
from bot.store.deadlines import Deadline

PAGE_LINES = 40
"""Communes listed in one digest message; a longer list comes as several pages."""


@dataclass(frozen=True, slots=True)
class DeadlineButton(CallbackData, prefix="dl"):
    action: str  # done, later, list, show, case
    deadline: int | None = None


def submitted_option(deadline: Deadline) -> Option:
    return Option(_("deadlines.button.submitted"), DeadlineButton("done", deadline.id).pack())


def later_option(deadline: Deadline) -> Option:
    return Option(_("deadlines.button.later"), DeadlineButton("later", deadline.id).pack())


def list_option() -> Option:
    return Option(_("deadlines.button.list"), DeadlineButton("list").pack())


def day_label(day: date) -> str:
    return _(f"deadlines.weekday.{day.weekday()}") + f" {day:%d/%m/%Y}"


def period_label(rule: Rule, deadline: Deadline, reference: str | None = None) -> str:
    if rule.kind == "case":
        tested = deadline.period.split("-", 1)[0]
        return _("deadlines.period.case", reference=reference or "-",
                 day=f"{tested[6:8]}/{tested[4:6]}/{tested[:4]}")
    if rule.kind == "once":
        return date.fromisoformat(deadline.period).strftime("%d/%m/%Y")
    parsed = parse_period(deadline.period)
    assert parsed is not None
    every, period = parsed
    quarter = period.month // 3
    return _(f"deadlines.period.{every}", year=period.year, month=period.month, quarter=quarter)


def working_days_between(start: date, end: date, days: Calendar) -> int:
    """Working days after ``start`` up to and including ``end`` (``end`` later)."""
    count, day = 0, start
    while day < end:
        day = days.add_working_days(day, 1)
        if day <= end:
            count += 1
    return count


def due_phrase(due: date, today: date, days: Calendar) -> str:
    if today == due:
        return _("deadlines.due.today", day=day_label(due))
    if today < due:
        return _("deadlines.due.ahead", day=day_label(due),
                 count=working_days_between(today, due, days))
    return _("deadlines.due.late", day=day_label(due),
             count=working_days_between(due, today, days))


@dataclass(frozen=True, slots=True)
class Due:
    """A deadline a unit is reminded of."""

    rule: Rule
    deadline: Deadline
    reference: str | None = None
    """A case's reference, opened."""


def reminders(dues: Sequence[Due], language: str, today: date, days: Calendar) -> Reply:
    """The day's reminder to a unit that has not submitted: one deadline with its own two
    buttons, several in one list with a "Submitted" button each and one "remind me tomorrow"
    for all of them."""
    if len(dues) == 1:
        [one] = dues
        text = _("deadlines.reminder", title=one.rule.title_in(language),
                 period=period_label(one.rule, one.deadline, one.reference),
                 due=due_phrase(one.deadline.due_on, today, days))
        options = [submitted_option(one.deadline)]
        if today < one.deadline.due_on:
            options.append(later_option(one.deadline))
        return Reply(text, tuple(options))
    lines, options = [], []
    for due in dues:
        title = due.rule.title_in(language)
        period = period_label(due.rule, due.deadline, due.reference)
        lines.append(_("deadlines.reminder_line", title=title, period=period,
                       due=due_phrase(due.deadline.due_on, today, days)))
        options.append(Option(_("deadlines.button.submit_one", title=title, period=period),
                              DeadlineButton("done", due.deadline.id).pack()))
    if any(today < due.deadline.due_on for due in dues):
        options.append(Option(_("deadlines.button.later"), DeadlineButton("later").pack()))
    return Reply(_("deadlines.reminders", count=len(dues), lines="\n".join(lines)),
                 tuple(options))


@dataclass(frozen=True, slots=True)
class Missing:
    name: str
    linked: bool
    """Some chat is linked for the unit: someone was reminded."""


def digest(rule: Rule, deadline: Deadline, language: str, missing: Sequence[Missing], *,
           first: bool, total: int, today: date, days: Calendar,
           reference: str | None = None) -> list[Reply]:
    """The message to the level above about units that have not submitted, in pages."""
    params = {"title": rule.title_in(language), "total": total, "missing": len(missing),
              "period": period_label(rule, deadline, reference),
              "due": due_phrase(deadline.due_on, today, days)}
    heading = _("deadlines.missed", **params) if first else _("deadlines.digest", **params)
    return missing_pages(heading, missing, rule.title_in(language))


def missing_pages(heading: str, missing: Sequence[Missing], title: str) -> list[Reply]:
    """``heading`` and the units that have not submitted, :data:`PAGE_LINES` a message."""
    lines = [_("deadlines.missing_line", name=item.name) if item.linked
             else _("deadlines.missing_unlinked", name=item.name) for item in missing]
    pages = [lines[start:start + PAGE_LINES] for start in range(0, len(lines), PAGE_LINES)]
    replies = []
    for number, page in enumerate(pages, start=1):
        text = heading if number == 1 else _("deadlines.digest_continued", title=title)
        if len(pages) > 1:
            text += "\n" + _("deadlines.page", page=number, pages=len(pages))
        replies.append(Reply(text + "\n\n" + "\n".join(page),
                             (list_option(),) if number == len(pages) else ()))
    return replies
