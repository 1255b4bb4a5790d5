"""One row by its id, for a read or for a change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, select


def row_by_id(
    connection: Connection, table: Table, row_id: str, *, for_update: bool = False
) -> Any:
    """The row of ``table`` whose ``id`` is ``row_id``, or None. ``for_update`` locks it on
    PostgreSQL until the transaction ends; SQLite needs no row lock, as its writers hold the
    database's write lock from ``BEGIN IMMEDIATE`` (``charter.storage.engine``)."""
    query = select(table).where(table.c.id == row_id)
    if for_update and connection.dialect.name == "postgresql":
        query = query.with_for_update()
    return connection.execute(query).first()
