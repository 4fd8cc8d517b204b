"""Reading many plain rows straight from the driver.

A planning tick reads every submission of a deadline and every linked inbox, thousands of rows
each time; SQLAlchemy's per-row processing (a Row object and type handling for each) costs
several times the query itself. These queries select only text, integer and boolean columns,
whose values the drivers already return as Python wants them, so the statement is compiled
once by SQLAlchemy and run on the driver's own connection, inside the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, TextClause
from sqlalchemy.ext.asyncio import AsyncConnection


async def rows(conn: AsyncConnection,
               query: Select[Any] | TextClause) -> Sequence[Sequence[Any]]:
    """The rows of ``query`` as the driver returns them (tuples, or asyncpg records)."""
    compiled = query.compile(dialect=conn.dialect)
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    if conn.dialect.name == "postgresql":
        return await driver.fetch(str(compiled), *params)  # type: ignore[no-any-return]
    cursor = await driver.execute(str(compiled), params)
    return await cursor.fetchall()  # type: ignore[no-any-return]
