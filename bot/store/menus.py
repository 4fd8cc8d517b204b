"""Numbered option menus and paged option lists: what a number or a "more" button means.

Both may name a ticket or a draft's choices, so callers store them sealed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import identities, option_lists, option_menus


async def menu(conn: AsyncConnection, user_id: int, now: datetime) -> str | None:
    row = await conn.execute(select(option_menus.c.entries).where(
        option_menus.c.user_id == user_id, option_menus.c.expires_at > now))
    return row.scalar_one_or_none()


async def save_menu(conn: AsyncConnection, user_id: int, entries: str | None, now: datetime,
                    expires_at: datetime) -> None:
    """Replace the user's menu; None clears it."""
    if entries is None:
        await conn.execute(delete(option_menus).where(option_menus.c.user_id == user_id))
        return
    values = {"entries": entries, "expires_at": expires_at, "updated_at": now}
    changed = await conn.execute(
        update(option_menus).where(option_menus.c.user_id == user_id).values(**values))
    if changed.rowcount == 0:
        await conn.execute(insert(option_menus).values(user_id=user_id, **values))


async def user_of_chat(conn: AsyncConnection, channel: str, chat_key: str) -> int | None:
    """The user whose private chat this is (numbered channels have only private chats)."""
    row = await conn.execute(select(identities.c.user_id).where(
        identities.c.channel == channel, identities.c.chat_key == chat_key).limit(1))
    return row.scalar_one_or_none()


async def save_list(conn: AsyncConnection, list_id: str, body: str,
                    expires_at: datetime) -> None:
    await conn.execute(insert(option_lists).values(id=list_id, body=body, expires_at=expires_at))


async def load_list(conn: AsyncConnection, list_id: str, now: datetime) -> str | None:
    row = await conn.execute(select(option_lists.c.body).where(
        option_lists.c.id == list_id, option_lists.c.expires_at > now))
    return row.scalar_one_or_none()


async def forget_lists(conn: AsyncConnection, now: datetime) -> int:
    result = await conn.execute(delete(option_lists).where(option_lists.c.expires_at <= now))
    return int(result.rowcount)
