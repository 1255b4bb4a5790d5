"""Personal values are ciphertext at rest: the raw database bytes never hold them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from charter.config import Settings
from charter.facade import Charter
from charter.storage.tables import identities, personal_values

EMAIL = "rosalind.quillfeather@example.org"
NAME = "Rosalind Quillfeather"
MESSAGE = "My Xylophonic Z-9000 hums at night"


def _submit(charter: Charter) -> str:
    receipt = charter.submit(
        "support",
        brand="acme",
        identities={"email": EMAIL, "device_serial": "QF-778899"},
        data={"name": NAME, "message": MESSAGE},
    )
    return receipt.subject_id


def _raw_bytes(settings: Settings) -> bytes:
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    files = [database, database.with_name(database.name + "-wal")]
    return b"".join(path.read_bytes() for path in files if path.exists())


def test_sqlite_file_and_wal_hold_no_plaintext(charter: Charter, settings: Settings) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("reads the SQLite file and its WAL")
    _submit(charter)
    raw = _raw_bytes(settings)
    assert len(raw) > 0
    for secret in (EMAIL, NAME, MESSAGE, "QF778899", EMAIL.upper(), "Quillfeather"):
        assert secret.encode() not in raw
        assert secret.encode("utf-16-le") not in raw
    # The WAL holds the new pages until a checkpoint; after one, the main file is checked alone.
    raw_connection = charter.store.engine.raw_connection()
    try:
        raw_connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw_connection.close()
    raw = _raw_bytes(settings)
    assert NAME.encode() not in raw and EMAIL.encode() not in raw


def test_stored_columns_are_ciphertext_on_every_database(charter: Charter) -> None:
    subject_id = _submit(charter)
    with charter.store.read() as connection:
        sealed = [
            bytes(row[0]) for row in connection.execute(select(personal_values.c.value_sealed))
        ] + [bytes(row[0]) for row in connection.execute(select(identities.c.value_sealed))]
        dumped = " ".join(
            str(value)
            for table in ("subjects", "identities", "personal_values", "submissions")
            for row in connection.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
            for value in row
        )
    assert sealed
    for blob in sealed:
        assert NAME.encode() not in blob and EMAIL.encode() not in blob
    assert NAME not in dumped and EMAIL not in dumped and subject_id in dumped


def test_a_wrong_master_key_cannot_read_values(
    charter: Charter, settings: Settings, tmp_path: Path
) -> None:
    from charter.storage.store import Store
    from charter.storage.subjects import SubjectRepository
    from charter.storage.vault import DecryptionError, MasterKey, Vault, create_key_file

    subject_id = _submit(charter)
    other_key = tmp_path / "other.key"
    create_key_file(other_key)
    wrong = Store(charter.store.engine, Vault(MasterKey.from_file(other_key)))
    with wrong.read() as connection, pytest.raises(DecryptionError):
        SubjectRepository(connection, wrong.vault).values_of(subject_id)
