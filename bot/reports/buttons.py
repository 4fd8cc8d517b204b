"""The buttons that travel with report messages: police cards and notices, and what the
reporter is sent. Built by the reports domain and read by the handlers, so both sides agree
on one packed form."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversation.callbacks import CallbackData


@dataclass(frozen=True, slots=True)
class CardButton(CallbackData, prefix="r"):
    """An action of police on a report: view, ack, st (offer statuses), set, ask, note, ph."""

    verb: str
    ticket: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class StatusButton(CallbackData, prefix="st"):
    """The reporter's view of their report; ``action`` "answer" or "info" starts writing to
    police. ``key`` (see :mod:`bot.reports.access`) is there only on buttons the reporter got
    in their own chat or after giving the passphrase."""

    ticket: str
    action: str = ""
    key: str = ""
