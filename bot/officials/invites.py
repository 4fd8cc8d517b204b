"""One-time invite codes that link a police chat to a commune (officer) or a province
(supervisor): what is kept of a code, how many wrong codes one person may try, and redeeming.
``pcmt-bot admin invite`` makes them; ``/join CODE`` redeems them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.security.privacy import Keyring, normalize_ticket_code
from bot.store import audit, officers, users

JOIN_ATTEMPTS = 5
"""Wrong invite codes one person may try per :data:`JOIN_WINDOW`; codes carry 60 bits."""
JOIN_WINDOW = timedelta(hours=1)
JOIN_FAILED = "invite.failed"


def invite_hash(keyring: Keyring, code: str) -> str:
    """What the invites table keeps of a code (``pcmt-bot admin invite`` prints the code)."""
    return keyring.alias("invite", code)


@dataclass(frozen=True, slots=True)
class Joined:
    role: str
    commune_code: str | None
    province_code: str


async def redeem(conn: AsyncConnection, keyring: Keyring, typed: str, *, user_id: int,
                 channel: str, chat_id: str, chat_kind: str, language: str,
                 now: datetime) -> Joined | str:
    """Link the chat with the invite behind ``typed``; else the message id saying why not
    (too many wrong codes lately, or a wrong, used or expired code). Audited either way."""
    actor = f"user:{user_id}"
    failures = await audit.count(conn, actor=actor, action=JOIN_FAILED, since=now - JOIN_WINDOW)
    if failures >= JOIN_ATTEMPTS:
        return "officer.join_limited"
    code = normalize_ticket_code(typed)
    invite = await officers.redeem_invite(conn, invite_hash(keyring, code), now) if code else None
    if invite is None or invite.province_code is None:
        await audit.record(conn, at=now, actor=actor, action=JOIN_FAILED)
        return "officer.join_failed"
    commune_code = invite.commune_code if invite.role == "officer" else None
    await officers.link(conn, channel=channel, chat_id=chat_id, role=invite.role,
                        commune_code=commune_code, province_code=invite.province_code,
                        language=language, now=now)
    await users.set_role(conn, user_id, invite.role, commune_code=commune_code,
                         province_code=invite.province_code)
    await audit.record(conn, at=now, actor=actor, action="invite.redeemed",
                       subject=commune_code or invite.province_code,
                       detail=f"{invite.role} {chat_kind}")
    return Joined(invite.role, commune_code, invite.province_code)
