"""The Zalo Official Account's tokens and the messaging window of each person on it.

Zalo hands out a new refresh token with every access token and takes each refresh token once:
the pair is written in one statement, or a crash between two writes would leave a refresh
token Zalo no longer takes. Both are sealed by the caller.

A window is a person's last message to the OA: replies quoting its id are free, up to a
number of them within hours of it (Zalo's rule, applied by the channel).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store._upsert import insert_ignore
from bot.store.schema import zalo_oa_tokens, zalo_oa_windows


@dataclass(frozen=True, slots=True)
class StoredTokens:
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime


async def load_tokens(conn: AsyncConnection, app_id: str) -> StoredTokens | None:
    row = (await conn.execute(select(
        zalo_oa_tokens.c.access_token, zalo_oa_tokens.c.refresh_token,
        zalo_oa_tokens.c.access_expires_at, zalo_oa_tokens.c.refresh_expires_at,
    ).where(zalo_oa_tokens.c.app_id == app_id))).first()
    return StoredTokens(*row) if row is not None else None


async def save_tokens(conn: AsyncConnection, app_id: str, tokens: StoredTokens,
                      now: datetime) -> None:
    """Replace the pair of ``app_id`` (or store the first one) in one statement."""
    values = {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
              "access_expires_at": tokens.access_expires_at,
              "refresh_expires_at": tokens.refresh_expires_at, "updated_at": now}
    await conn.execute(
        insert_ignore(conn, zalo_oa_tokens).values(app_id=app_id, **values)
        .on_conflict_do_update(index_elements=["app_id"], set_=values))


async def heard(conn: AsyncConnection, chat_key: str, message_key: str, message_id: str,
                now: datetime) -> None:
    """The person wrote (``message_id`` sealed, ``message_key`` its keyed hash): a new
    window, no free reply spent on it. The same message delivered again changes nothing."""
    values = {"message_key": message_key, "message_id": message_id, "heard_at": now,
              "free_replies": 0}
    statement = insert_ignore(conn, zalo_oa_windows).values(chat_key=chat_key, **values)
    await conn.execute(statement.on_conflict_do_update(
        index_elements=["chat_key"], set_=values,
        where=zalo_oa_windows.c.message_key != statement.excluded.message_key))


async def spend_free_reply(conn: AsyncConnection, chat_key: str, *, heard_after: datetime,
                           most: int) -> str | None:
    """The (sealed) id of the person's last message, with one more free reply counted on it;
    None when it is older than ``heard_after`` or ``most`` replies were spent on it."""
    row = (await conn.execute(
        update(zalo_oa_windows)
        .where(zalo_oa_windows.c.chat_key == chat_key,
               zalo_oa_windows.c.heard_at > heard_after,
               zalo_oa_windows.c.free_replies < most)
        .values(free_replies=zalo_oa_windows.c.free_replies + 1)
        .returning(zalo_oa_windows.c.message_id))).first()
    return row.message_id if row is not None else None


async def last_heard(conn: AsyncConnection, chat_key: str) -> datetime | None:
    return (await conn.execute(select(zalo_oa_windows.c.heard_at).where(
        zalo_oa_windows.c.chat_key == chat_key))).scalar_one_or_none()
