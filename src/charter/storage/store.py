"""The store: one engine, one vault, and transactions handed to services (which own them)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine

from charter.storage.vault import Vault

logger = logging.getLogger("charter.storage")


class Store:
    def __init__(self, engine: Engine, vault: Vault) -> None:
        self.engine = engine
        self.vault = vault
        self.embedded = engine.dialect.name == "sqlite"
        """Whether the database runs in this process (a short read costs no network wait)."""
        # SQLite has one writer at a time; queueing this process's writers here hands the lock
        # over at once, where SQLite's busy handler would poll with sleeps of 1 to 100 ms.
        # Re-entrant, so a nested write still behaves as before (it waits on SQLite).
        self._write_lock = threading.RLock() if self.embedded else None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that commits when the block ends and rolls back on any error."""
        if self._write_lock is None:
            with self.engine.begin() as connection:
                yield connection
            return
        with self._write_lock, self.engine.begin() as connection:
            yield connection

    @contextmanager
    def session(self) -> Iterator[Callable[[], AbstractContextManager[Connection]]]:
        """Write transactions one after another on one connection held across them (the run
        of a rights request), each as ``write()`` gives one. Taking a connection from the pool
        for each would cost, on PostgreSQL, the pool's pre-ping: a round trip per transaction."""
        with self.engine.connect() as connection:

            @contextmanager
            def transaction() -> Iterator[Connection]:
                with self._write_lock or nullcontext(), connection.begin():
                    yield connection

            yield transaction

    @contextmanager
    def bulk(
        self, cache_mib: int = 64
    ) -> Iterator[Callable[[], AbstractContextManager[Connection]]]:
        """Many write transactions on one connection (a sweep's windows), each as ``write()``
        gives one. On SQLite the connection's page cache grows to ``cache_mib`` meanwhile, so
        the index pages one transaction read are still there for the next: deleting from a
        table with several indexes runs about twice as fast. Shrunk back at the end."""
        with self.engine.connect() as connection:
            pragma = f"PRAGMA cache_size=-{cache_mib * 1024}"

            @contextmanager
            def transaction() -> Iterator[Connection]:
                with self._write_lock or nullcontext(), connection.begin():
                    if self.embedded:
                        connection.exec_driver_sql(pragma)
                    yield connection

            try:
                yield transaction
            finally:
                if self.embedded:
                    pragma = "PRAGMA cache_size=-2000"  # SQLite's default
                    with transaction():
                        pass

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (SQLite begins it deferred, so it never waits on writers)."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(readonly=True)
            with connection.begin():
                yield connection

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """For exactly one read statement: no explicit transaction (SQLite runs it in autocommit
        mode, which one statement sees consistently; PostgreSQL's driver wraps it in its own).
        Cheaper than ``read()`` on the hot path of single decisions."""
        with self.engine.connect() as connection:
            yield connection.execution_options(readonly=True, single_statement=True)

    def checkpoint(self) -> bool:
        """After an erasure: copy SQLite's WAL into the database file and empty it, so that no
        old image of an erased row's page stays behind (see ``checkpoint``); nothing on
        PostgreSQL. Whether the WAL is empty now."""
        return checkpoint(self.engine, self._write_lock)

    def dispose(self) -> None:
        self.engine.dispose()


def checkpoint(engine: Engine, lock: AbstractContextManager[Any] | None = None) -> bool:
    """``PRAGMA wal_checkpoint(TRUNCATE)`` on a SQLite engine; ``True`` elsewhere.

    In WAL mode a change is appended to the ``-wal`` file as a new image of each page it
    touched, and the old images stay in the file until a checkpoint has copied the newest into
    the database and the WAL is reset; a reset WAL is written over from its start, not
    shortened, so older frames may survive after it. TRUNCATE waits (the busy timeout) for
    readers of older snapshots, copies every frame and truncates the WAL to zero bytes. With
    ``secure_delete`` on, the freed space of the pages copied in holds zeros, not the erased
    rows. ``False`` when a reader kept it from finishing (the next checkpoint finishes it).
    """
    if engine.dialect.name != "sqlite":
        return True
    with lock or nullcontext(), engine.connect() as connection:
        row = (
            connection.execution_options(single_statement=True)
            .exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            .first()
        )
    done = row is None or row[0] == 0
    if not done:
        logger.warning("WAL checkpoint held up by a reader; the next checkpoint finishes it")
    return done
