"""The official provinces and communes, copied from the ``vietnam-provinces`` package."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.geo import Commune, Province
from bot.store._upsert import insert_ignore
from bot.store.schema import communes, provinces


async def sync(conn: AsyncConnection, province_list: Sequence[Province],
               commune_list: Sequence[Commune]) -> int:
    """Insert what is missing; returns how many communes were added. Cheap when up to date."""
    stored = (await conn.execute(select(func.count()).select_from(communes))).scalar_one()
    if stored == len(commune_list):
        return 0
    await conn.execute(
        insert_ignore(conn, provinces).on_conflict_do_nothing(index_elements=["code"]),
        [{"code": p.code, "name": p.name} for p in province_list],
    )
    await conn.execute(
        insert_ignore(conn, communes).on_conflict_do_nothing(index_elements=["code"]),
        [{"code": c.code, "name": c.name, "kind": c.kind, "province_code": c.province_code}
         for c in commune_list],
    )
    return len(commune_list) - stored
