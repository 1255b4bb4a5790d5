"""Migrations build the schema from empty on SQLite and PostgreSQL, match the tables, and carry
existing data forward."""

from __future__ import annotations

import datetime as dt

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, DateTime, MetaData, String, Table, insert, inspect, select

from charter.storage import migrate
from charter.storage.engine import make_engine
from charter.storage.ledger import decode, project
from charter.storage.tables import (
    contest_transfers,
    decision_states,
    metadata,
    subject_states,
    subjects,
    submissions,
)


def test_upgrade_from_empty_matches_the_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
        migrate.downgrade(engine, "base")
        assert not set(metadata.tables) & set(inspect(engine).get_table_names())
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def test_sqlite_connections_are_set_up_for_safety(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/pragmas.db")
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in (
                    "journal_mode",
                    "foreign_keys",
                    "busy_timeout",
                    "secure_delete",
                    "synchronous",
                )
            }
    finally:
        engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 30000,
        "secure_delete": 1,
        "synchronous": 2,
    }


def test_0003_projects_every_existing_state_and_gives_every_subject_one(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    state = {
        "v": 1,
        "c": [
            ["nova", "surveys", "any", "given", 2, now.isoformat()],
            ["akkord_pro", "marketing", "email", "withdrawn", 1, now.isoformat()],
        ],
        "o": ["product_analysis"],
        "r": True,
        "m": True,
        "p": False,
    }
    try:
        migrate.upgrade(engine, "0002")
        with engine.begin() as connection:
            for subject_id in ("with-state", "without-state"):
                connection.execute(
                    insert(subjects).values(
                        id=subject_id, wrapped_key=b"k", key_id="k", created_at=now, updated_at=now
                    )
                )
            connection.execute(
                insert(subject_states).values(subject_id="with-state", state=state, updated_at=now)
            )
        migrate.upgrade(engine)
        with engine.connect() as connection:
            projected = {
                row.subject_id: (row.flags, row.objections, row.consent_index)
                for row in connection.execute(select(decision_states))
            }
            states = dict(
                connection.execute(
                    select(subject_states.c.subject_id, subject_states.c.state)
                ).all()
            )
    finally:
        engine.dispose()
    expected = project(decode(state))
    assert projected["with-state"] == (
        expected["flags"],
        expected["objections"],
        expected["consent_index"],
    )
    assert projected["with-state"] == (
        3,
        "product_analysis",
        " akkord_pro/marketing/email=withdrawn/1 nova/surveys/any=given/2",
    )
    empty = project(decode(None))
    assert projected["without-state"] == (
        empty["flags"],
        empty["objections"],
        empty["consent_index"],
    )
    assert decode(states["without-state"]) == decode(None)


def test_0021_gives_each_earlier_sponsor_transfer_its_own_id(database_url: str) -> None:
    engine = make_engine(database_url)
    first = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    second = first + dt.timedelta(days=1)
    # contest_transfers as revision 0020 has it (no transfer_id yet).
    before = Table(
        "contest_transfers",
        MetaData(),
        Column("submission_id", String(36)),
        Column("touchpoint", String(64)),
        Column("brand", String(64)),
        Column("recipient", String(64)),
        Column("passed_at", DateTime(timezone=True)),
    )
    try:
        migrate.upgrade(engine, "0020")
        with engine.begin() as connection:
            connection.execute(
                insert(subjects).values(
                    id="s", wrapped_key=b"k", key_id="k", created_at=first, updated_at=first
                )
            )
            for n, passed_at in enumerate((first, first, second)):
                connection.execute(
                    insert(submissions).values(
                        id=f"e{n}",
                        subject_id="s",
                        brand="nova",
                        touchpoint="sponsored_contest",
                        policy_version="1",
                        received_at=first,
                    )
                )
                connection.execute(
                    insert(before).values(
                        submission_id=f"e{n}",
                        touchpoint="sponsored_contest",
                        brand="nova",
                        recipient="sponsor",
                        passed_at=passed_at,
                    )
                )
        migrate.upgrade(engine)
        with engine.connect() as connection:
            ids = dict(
                connection.execute(
                    select(contest_transfers.c.submission_id, contest_transfers.c.transfer_id)
                ).all()
            )
    finally:
        engine.dispose()
    # The two entries passed together share one transfer; the later one is a transfer of its own.
    assert ids["e0"] == ids["e1"] != ids["e2"]
    assert all(len(value) == 36 for value in ids.values())
