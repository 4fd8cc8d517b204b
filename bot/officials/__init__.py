"""Officers, supervisors and the admin chat: who may act on which reports and enrolled people,
and who receives what concerns them. Shared by reports, check-ins and deadlines.

- an **officer** chat (or a linked officer in private) covers one commune;
- a **supervisor** covers a province;
- the **admin chat** (``PCMT_ADMIN_CHAT``), the last resort for reports nobody else can
  receive, covers every commune, so it can act on the cards it is sent.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.conversation.messages import ChatKind
from bot.errors import ConfigError
from bot.settings import Settings
from bot.store import officers as inboxes
from bot.store.officers import Inbox
from bot.store.users import User

OFFICER_ROLES = ("officer", "supervisor")
ADMIN = "admin"


class Area(Protocol):
    """Anything that belongs to one commune: a report, an enrolled person."""

    @property
    def commune_code(self) -> str: ...

    @property
    def province_code(self) -> str: ...


class Case(Area, Protocol):
    """An enrolled person, who may have a case officer of their own."""

    @property
    def case_inbox_id(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Scope:
    """The reports and enrolled people one chat or person may act on."""

    role: str  # "officer": one commune; "supervisor": one province; "admin": all
    commune_code: str | None
    province_code: str | None

    def covers(self, area: Area) -> bool:
        if self.role == ADMIN:
            return True
        if self.role == "officer":
            return area.commune_code == self.commune_code
        return area.province_code == self.province_code


def scope(role: str, commune_code: str | None, province_code: str | None) -> Scope | None:
    if province_code is None or (role == "officer" and commune_code is None):
        return None
    return Scope(role, commune_code if role == "officer" else None, province_code)


async def scope_of(conn: AsyncConnection, settings: Settings, *, channel: str, chat_id: str,
                   chat_kind: ChatKind, user: User) -> Scope | None:
    """What the chat ``chat_id`` (or the person writing in private) may act on; None for a
    citizen."""
    if (channel, chat_id) == admin_chat(settings):
        return Scope(ADMIN, None, None)
    inbox = await inboxes.of_chat(conn, channel, chat_id)
    if inbox is not None:
        return scope(inbox.role, inbox.commune_code, inbox.province_code)
    # In an unlinked group everyone would read along: only the group's own link counts there.
    if chat_kind is ChatKind.PRIVATE and user.role in OFFICER_ROLES:
        return scope(user.role, user.commune_code, user.province_code)
    return None


# --- the admin chat --------------------------------------------------------------------------

def admin_chat(settings: Settings) -> tuple[str, str] | None:
    """``PCMT_ADMIN_CHAT`` as ``(channel, chat_id)``; checked at start-up by
    :func:`check_admin_chat`."""
    if not settings.admin_chat:
        return None
    channel, _, chat_id = settings.admin_chat.partition(":")
    return channel, chat_id


def check_admin_chat(settings: Settings, channels: Collection[str]) -> None:
    """Refuse an admin chat that could never receive anything: not ``channel:chat_id``, a
    channel this process does not run, or a chat id of the wrong shape."""
    if not settings.admin_chat:
        return
    channel, separator, chat_id = settings.admin_chat.partition(":")
    if not separator or not channel or not chat_id:
        raise ConfigError("PCMT_ADMIN_CHAT", "must be channel:chat_id, e.g. telegram:-1001234")
    if channel not in channels:
        raise ConfigError("PCMT_ADMIN_CHAT", f"channel {channel!r} is not configured "
                          f"(configured: {', '.join(sorted(channels)) or 'none'})")
    if channel == "telegram" and not chat_id.lstrip("-").isdigit():
        raise ConfigError("PCMT_ADMIN_CHAT", "a Telegram chat id is a number, e.g. -1001234")


# --- who receives a report -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Target:
    channel: str
    chat_id: str
    language: str


async def targets(conn: AsyncConnection, area: Area,
                  settings: Settings) -> tuple[str | None, list[Target]]:
    """Who should see what concerns ``area``: the commune, else the province, else the admin
    chat."""
    commune = await inboxes.for_commune(conn, area.commune_code)
    if commune:
        return "commune", [_target(inbox) for inbox in commune]
    province = await inboxes.supervisors(conn, area.province_code)
    if province:
        return "province", [_target(inbox) for inbox in province]
    return _admin_level(settings)


async def case_targets(conn: AsyncConnection, case: Case, settings: Settings) -> list[Target]:
    """The case officer's own inbox while it is linked, else whoever sees the commune: what
    concerns one person alone (an appointment missed, their week) need not reach everyone."""
    if case.case_inbox_id is not None:
        inbox = await inboxes.by_id(conn, case.case_inbox_id)
        # a chat linked since to another commune no longer covers this person
        if inbox is not None and inbox.commune_code == case.commune_code:
            return [_target(inbox)]
    return (await targets(conn, case, settings))[1]


async def province_targets(conn: AsyncConnection, area: Area,
                           settings: Settings) -> list[Target]:
    """The province's supervisors, else the admin chat: where escalations go."""
    return await supervisor_targets(conn, area.province_code, settings)


async def supervisor_targets(conn: AsyncConnection, province_code: str,
                             settings: Settings) -> list[Target]:
    """The supervisors of ``province_code``, else the admin chat."""
    province = await inboxes.supervisors(conn, province_code)
    return [_target(inbox) for inbox in province] or admin_targets(settings)


def admin_targets(settings: Settings) -> list[Target]:
    """The admin chat, when there is one."""
    return _admin_level(settings)[1]


def _admin_level(settings: Settings) -> tuple[str | None, list[Target]]:
    admin = admin_chat(settings)
    if admin is None:
        return None, []
    return ADMIN, [Target(admin[0], admin[1], settings.default_language)]


def _target(inbox: Inbox) -> Target:
    return Target(inbox.channel, inbox.chat_id, inbox.language)
