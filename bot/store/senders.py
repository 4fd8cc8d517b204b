"""Who sends for a channel token, and until when the platform asked every sender to pause.

One row per channel. The holder renews its hold well before ``held_until``; a holder that
died stops renewing and another replica takes the row over once the hold has run out (a
leader row with expiry, as procrastinate and Oban keep theirs). The pause lives in the same row,
so a platform's "retry after" that one replica was told holds every replica back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store._upsert import insert_ignore
from bot.store.schema import channel_senders


async def hold(conn: AsyncConnection, channel: str, holder: str, now: datetime,
               until: datetime) -> bool:
    """Take or renew the hold on ``channel`` for ``holder`` until ``until``; False while
    another holder's hold runs."""
    await conn.execute(insert_ignore(conn, channel_senders).values(channel=channel)
                       .on_conflict_do_nothing(index_elements=["channel"]))
    result = await conn.execute(update(channel_senders).where(
        channel_senders.c.channel == channel,
        or_(channel_senders.c.holder == holder, channel_senders.c.holder.is_(None),
            channel_senders.c.held_until < now)).values(holder=holder, held_until=until))
    return bool(result.rowcount)


async def let_go(conn: AsyncConnection, channel: str, holder: str) -> None:
    """Give the hold up at once (a clean shutdown): the next replica needs no wait."""
    await conn.execute(update(channel_senders).where(
        channel_senders.c.channel == channel, channel_senders.c.holder == holder)
        .values(holder=None, held_until=None))


async def pause(conn: AsyncConnection, channel: str, until: datetime) -> None:
    """Hold every sender of ``channel`` back until ``until`` (a longer pause already set
    stays)."""
    await conn.execute(insert_ignore(conn, channel_senders).values(channel=channel)
                       .on_conflict_do_nothing(index_elements=["channel"]))
    await conn.execute(update(channel_senders).where(
        channel_senders.c.channel == channel,
        or_(channel_senders.c.paused_until.is_(None),
            channel_senders.c.paused_until < until)).values(paused_until=until))


async def paused_until(conn: AsyncConnection, channel: str) -> datetime | None:
    return (await conn.execute(select(channel_senders.c.paused_until).where(
        channel_senders.c.channel == channel))).scalar_one_or_none()
