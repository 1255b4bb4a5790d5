"""Engines for SQLite (the embedded default) and PostgreSQL, set up for safety first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and secure_delete.

    ``secure_delete`` overwrites freed pages with zeros, so that deleted rows do not linger in the
    file; WAL lets readers run beside the single writer; ``synchronous=FULL`` makes a commit
    durable once acknowledged, even on power loss. Every engine hides statement parameters from
    its errors and logs (``hide_parameters``): they are identities and values (an e-mail looked
    up in a shop), and an error's text reaches logs and a failed step's record.
    """
    parsed = make_url(url)
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database not in (None, "", ":memory:") and "poolclass" not in kwargs:
        # As many connections as the server's thread pool (40) may use at once, so that none is
        # closed and reopened (with its PRAGMAs) under load; idle ones cost a file handle.
        kwargs.setdefault("pool_size", 40)
        kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN; let SQLAlchemy emit it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
            "secure_delete=ON",
            "synchronous=FULL",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Writers take the write lock at BEGIN (IMMEDIATE), so two of them queue on busy_timeout
        # instead of one failing later with "database is locked" when it upgrades a read lock.
        # Read-only work (execution option readonly=True) begins deferred and never waits.
        # A single statement (option single_statement=True) needs no BEGIN: it is atomic alone.
        options = connection.get_execution_options()
        if options.get("single_statement", False):
            return
        connection.exec_driver_sql("BEGIN" if options.get("readonly", False) else "BEGIN IMMEDIATE")

    return engine


def utc(value: dt.datetime) -> dt.datetime:
    """A stored time as aware UTC: SQLite hands back naive datetimes for timezone-aware columns
    (they were stored in UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
