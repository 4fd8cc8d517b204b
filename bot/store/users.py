"""Users and the channel identities that point at them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.conversations import Conversation, Transform, live
from bot.store.schema import conversations, identities, users

ROLES = ("citizen", "managed", "officer", "supervisor")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    role: str
    language: str | None
    commune_code: str | None
    province_code: str | None
    unreachable: bool


def _user(row: object) -> User:
    return User(*(getattr(row, name) for name in User.__slots__))


# Built once: building a statement and deriving its cache key costs more than running it.
# The row is locked on PostgreSQL so that two replicas handling the same person's messages take
# turns, which keeps their conversation state consistent.
_BY_IDENTITY = (
    select(users, identities.c.chat_key)
    .join(identities, identities.c.user_id == users.c.id)
    .where(identities.c.channel == bindparam("channel"),
           identities.c.external_key == bindparam("user_key"))
    .with_for_update(of=users)
)
_WITH_STATE = (
    _BY_IDENTITY
    .add_columns(conversations.c.flow, conversations.c.step, conversations.c.data,
                 conversations.c.expires_at)
    .outerjoin(conversations, conversations.c.user_id == users.c.id)
)
# On PostgreSQL the state is read by a statement of its own, after the lock is held: under READ
# COMMITTED a statement that waited for the users row sees that row as the other replica left
# it, but a joined conversation row as it was when the statement began.
_STATE = select(conversations.c.flow, conversations.c.step, conversations.c.data,
                conversations.c.expires_at).where(conversations.c.user_id == bindparam("user_id"))


async def resolve(conn: AsyncConnection, channel: str, user_key: str, chat_key: str,
                  now: datetime) -> User:
    """The user behind a channel identity, created on first contact.

    ``user_key`` and ``chat_key`` are keyed hashes of the platform ids (see
    :mod:`bot.security.identity`): the database never holds a raw platform id for a citizen.
    """
    user, _ = await _resolve(conn, _BY_IDENTITY, channel, user_key, chat_key, now)
    return user


async def resolve_with_state(conn: AsyncConnection, channel: str, user_key: str, chat_key: str,
                             now: datetime, decode: Transform,
                             ) -> tuple[User, Conversation | None]:
    """:func:`resolve` and the user's conversation state, read after the user's row is
    locked; ``decode`` reverses the ``encode`` given to :func:`bot.store.conversations.save`.
    SQLite has one writer at a time, so there one statement does both."""
    if conn.dialect.name == "sqlite":
        user, row = await _resolve(conn, _WITH_STATE, channel, user_key, chat_key, now)
        return user, live(row, now, decode)
    user, _ = await _resolve(conn, _BY_IDENTITY, channel, user_key, chat_key, now)
    state = (await conn.execute(_STATE, {"user_id": user.id})).first()
    return user, live(state, now, decode)


async def _resolve(conn: AsyncConnection, query: Select[Any], channel: str, user_key: str,
                   chat_key: str, now: datetime) -> tuple[User, Row[Any] | None]:
    row = (await conn.execute(query, {"channel": channel, "user_key": user_key})).first()
    if row is not None:
        user = _user(row)
        if user.unreachable:
            await conn.execute(update(users).where(users.c.id == user.id).values(unreachable=False))
            user = User(user.id, user.role, user.language, user.commune_code, user.province_code,
                        False)
        if row.chat_key != chat_key:
            await _remember_chat(conn, channel, user_key, chat_key)
        return user, row
    try:
        async with conn.begin_nested():
            user_id = (await conn.execute(
                insert(users).values(role="citizen", unreachable=False, created_at=now)
                .returning(users.c.id)
            )).scalar_one()
            await conn.execute(insert(identities).values(
                channel=channel, external_key=user_key, chat_key=chat_key, user_id=user_id,
                created_at=now,
            ))
    except IntegrityError:
        # Another replica created this identity a moment ago.
        return await _resolve(conn, query, channel, user_key, chat_key, now)
    return User(user_id, "citizen", None, None, None, False), None


async def _remember_chat(conn: AsyncConnection, channel: str, user_key: str,
                         chat_key: str) -> None:
    await conn.execute(
        update(identities)
        .where(identities.c.channel == channel, identities.c.external_key == user_key)
        .values(chat_key=chat_key)
    )


async def set_language(conn: AsyncConnection, user_id: int, language: str) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(language=language))


async def set_role(conn: AsyncConnection, user_id: int, role: str, *,
                   commune_code: str | None = None, province_code: str | None = None) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    await conn.execute(update(users).where(users.c.id == user_id).values(
        role=role, commune_code=commune_code, province_code=province_code))


async def mark_unreachable(conn: AsyncConnection, channel: str, chat_key: str) -> None:
    """The platform says this chat blocked the bot: stop scheduling to it until it writes again."""
    owners = select(identities.c.user_id).where(
        identities.c.channel == channel, identities.c.chat_key == chat_key)
    await conn.execute(update(users).where(users.c.id.in_(owners)).values(unreachable=True))


async def chat_unreachable(conn: AsyncConnection, channel: str, chat_key: str) -> bool:
    """Whether the person behind this chat blocked the bot and has not written since."""
    owners = select(identities.c.user_id).where(
        identities.c.channel == channel, identities.c.chat_key == chat_key)
    found = await conn.execute(select(users.c.id).where(
        users.c.id.in_(owners), users.c.unreachable.is_(True)).limit(1))
    return found.first() is not None


async def mark_reachable(conn: AsyncConnection, channel: str, chat_key: str) -> None:
    """The platform says this chat accepts the bot again (unblocked, added back)."""
    owners = select(identities.c.user_id).where(
        identities.c.channel == channel, identities.c.chat_key == chat_key)
    await conn.execute(update(users).where(users.c.id.in_(owners)).values(unreachable=False))


async def get(conn: AsyncConnection, user_id: int) -> User | None:
    row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
    return _user(row) if row is not None else None
