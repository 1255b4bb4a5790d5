"""``charter audit verify`` and ``charter audit anchor`` as an operator runs them, against a SQLite
file tampered with by raw SQL: a detail changed, a row deleted, two rows' content swapped, the
last rows deleted (with and without the head set back, and an anchor exported before)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charter.cli import app

runner = CliRunner()
ROWS = 8


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CHARTER_") and name != "CHARTER_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CHARTER_DATABASE_URL", f"sqlite:///{tmp_path / 'charter.db'}")
    return tmp_path


@pytest.fixture
def pristine(workdir: Path) -> Path:
    """A database whose audit log has ``ROWS`` rows, its anchor exported, and a copy kept."""
    assert runner.invoke(app, ["init"]).exit_code == 0
    ids = []
    for _ in range(6):
        created = runner.invoke(app, ["token", "create", "--role", "service"])
        assert created.exit_code == 0, created.output
        ids.append(created.stderr.split()[1])
    for token_id in ids[:2]:
        assert runner.invoke(app, ["token", "revoke", token_id]).exit_code == 0
    exported = runner.invoke(app, ["audit", "anchor", "--output", "anchors.jsonl"])
    assert exported.exit_code == 0, exported.output
    assert f"appended the anchor at row {ROWS} to anchors.jsonl" in exported.stderr
    # Every connection is closed when a command ends, so the file alone is the database.
    assert not (workdir / "charter.db-wal").exists()
    shutil.copy(workdir / "charter.db", workdir / "pristine.db")
    return workdir / "pristine.db"


def verify(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["audit", "verify", *args])
    return result.exit_code, result.stdout, result.stderr


def tamper(workdir: Path, pristine: Path, change: Callable[[sqlite3.Connection], None]) -> None:
    shutil.copy(pristine, workdir / "charter.db")
    with sqlite3.connect(workdir / "charter.db") as connection:
        change(connection)
    connection.close()


def test_an_intact_log_verifies_and_its_anchor_prints_as_one_json_line(
    workdir: Path, pristine: Path
) -> None:
    assert verify() == (0, f"{ROWS} rows, chain intact\n", "")
    assert verify("--anchors", "anchors.jsonl")[0] == 0
    printed = runner.invoke(app, ["audit", "anchor"])
    assert printed.exit_code == 0
    anchor = json.loads(printed.stdout)
    assert anchor["seq"] == ROWS
    assert len(anchor["hash"]) == 64
    assert anchor["at"].endswith("Z")
    (line,) = (workdir / "anchors.jsonl").read_text().splitlines()
    assert json.loads(line)["hash"] == anchor["hash"]
    runner.invoke(app, ["audit", "anchor", "--output", "anchors.jsonl"])  # appended, not rewritten
    assert (workdir / "anchors.jsonl").read_text().splitlines()[0] == line
    assert len((workdir / "anchors.jsonl").read_text().splitlines()) == 2


def test_a_changed_detail_is_named(workdir: Path, pristine: Path) -> None:
    tamper(
        workdir,
        pristine,
        lambda db: db.execute(
            "UPDATE audit_events SET details = json_set(details, '$.role', 'admin') WHERE seq = 3"
        ),
    )
    code, out, err = verify()
    assert (code, out) == (1, "")
    assert "error: row 3 was changed: its hash does not match its content" in err


def test_a_deleted_middle_row_is_named(workdir: Path, pristine: Path) -> None:
    tamper(workdir, pristine, lambda db: db.execute("DELETE FROM audit_events WHERE seq = 4"))
    code, _, err = verify()
    assert code == 1
    assert "error: row 4 is missing" in err


def test_two_rows_with_their_content_swapped_are_named(workdir: Path, pristine: Path) -> None:
    columns = "at, actor, action, target, details, prev_hash, hash"

    def swap(db: sqlite3.Connection) -> None:
        two, five = (
            db.execute(f"SELECT {columns} FROM audit_events WHERE seq = ?", (seq,)).fetchone()  # noqa: S608
            for seq in (2, 5)
        )
        assignments = ", ".join(f"{c} = ?" for c in columns.split(", "))
        db.execute(f"UPDATE audit_events SET {assignments} WHERE seq = 2", five)  # noqa: S608
        db.execute(f"UPDATE audit_events SET {assignments} WHERE seq = 5", two)  # noqa: S608

    tamper(workdir, pristine, swap)
    code, _, err = verify()
    assert code == 1
    assert "error: row 2 is out of order: it links to row 4, not to row 1" in err


def test_deleted_last_rows_are_found_by_the_head_or_by_an_exported_anchor(
    workdir: Path, pristine: Path
) -> None:
    tamper(workdir, pristine, lambda db: db.execute("DELETE FROM audit_events WHERE seq > 6"))
    code, _, err = verify()
    assert code == 1
    assert "error: the log was truncated: the head recorded in the database (row 8) is gone" in err

    def cut_and_hide(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM audit_events WHERE seq > 6")
        db.execute(
            "UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit_events WHERE seq = 6)"
        )

    tamper(workdir, pristine, cut_and_hide)
    assert verify() == (0, "6 rows, chain intact\n", "")  # a valid shorter log: hence anchors
    code, _, err = verify("--anchors", "anchors.jsonl")
    assert code == 1
    anchor = json.loads((workdir / "anchors.jsonl").read_text())
    assert (
        f"error: the log was truncated: anchor at row 8 ({anchor['at']}) is gone; "
        "the log ends at row 6"
    ) in err


def test_a_bad_anchors_file_is_bad_usage_naming_the_line(workdir: Path, pristine: Path) -> None:
    (workdir / "bad.jsonl").write_text('\n{"seq": 1, "hash": "xyz"}\n')
    code, _, err = verify("--anchors", "bad.jsonl")
    assert code == 2
    assert "error: bad.jsonl:2: anchor hash: 64 lower-case hexadecimal digits" in err
    assert verify("--anchors", "absent.jsonl")[0] == 2
