"""``INSERT ... ON CONFLICT DO NOTHING`` for whichever backend the connection speaks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_ignore(conn: AsyncConnection, table: Table) -> Any:
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return dialect_insert(table)
