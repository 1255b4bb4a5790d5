"""The store: one engine, one vault, and transactions handed to services (which own them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from charter.storage.vault import Vault


class Store:
    def __init__(self, engine: Engine, vault: Vault) -> None:
        self.engine = engine
        self.vault = vault

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that commits when the block ends and rolls back on any error."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (SQLite begins it deferred, so it never waits on writers)."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(readonly=True)
            with connection.begin():
                yield connection

    def dispose(self) -> None:
        self.engine.dispose()
