"""The weekly digest: to each case officer (else each officer chat of the commune) how their
people's week went, answered and missed check-ins and alerts, so that nobody drifts away
unnoticed between alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.checkins import name_of
from bot.clock import local
from bot.conversation.i18n import gettext as _
from bot.conversation.i18n import use_language
from bot.conversation.messages import Reply
from bot.conversation.proactive import push
from bot.officials import Target, case_targets
from bot.security.privacy import Keyring
from bot.settings import Settings
from bot.store import checkins, digests
from bot.store.checkins import Enrolment


async def send(conn: AsyncConnection, keyring: Keyring, settings: Settings, week: str,
               since: datetime, now: datetime) -> int:
    """Queue ``week``'s digest, about what happened since ``since``, to every chat that
    follows someone; how many chats."""
    stats = await digests.weeks(conn, since)
    recipients: dict[tuple[int | None, str], list[Target]] = {}
    cared: dict[Target, list[Enrolment]] = {}
    for enrolment in await checkins.followed(conn):
        key = (enrolment.case_inbox_id, enrolment.commune_code)
        if key not in recipients:  # one lookup per case officer and commune, not per person
            recipients[key] = await case_targets(conn, enrolment, settings)
        for target in recipients[key]:
            cared.setdefault(target, []).append(enrolment)
    for target, people in cared.items():
        with use_language(target.language):
            reply = Reply(_text(keyring, people, stats, since))
        await push(conn, keyring, channel=target.channel, chat_id=target.chat_id, reply=reply,
                   dedupe_key=f"digest:{week}:{target.channel}:{target.chat_id}", due_at=now,
                   now=now)
    return len(cared)


def _text(keyring: Keyring, people: list[Enrolment], stats: dict[int, digests.Week],
          since: datetime) -> str:
    lines = [_("digest.title", count=len(people), since=local(since).strftime("%d/%m"))]
    still_open = 0
    for enrolment in people:
        week = stats.get(enrolment.id, digests.Week())
        still_open += week.open_alerts
        lines.append(_("digest.line", name=name_of(keyring, enrolment),
                       status=_(f"people.status.{enrolment.status}"), answered=week.answered,
                       missed=week.missed, alerts=week.alerts))
    if still_open:
        lines.append(_("digest.open_alerts", count=still_open))
    return "\n".join(lines)
