"""The Parquet connector on a small lake in the contract layout, on DuckDB and on Spark (local
mode, ``slow``): the same tests, the same answers. Access finds exactly the person's rows by
cookie id and by account id; erasure removes exactly their rows, rewrites only the files that
held them, through temporary files that never stay behind, and a failure half-way leaves every
file whole (old or new) and the next run finishes the job."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from fixtures.lake import SCHEMA, event, write_events

from charter.connectors import parquet as parquet_module
from charter.connectors.parquet import (
    LOCK_FILE,
    DuckDBEngine,
    EngineUnavailable,
    LakeEngine,
    ParquetConnector,
    engine_from_env,
    lake_root,
)
from charter.connectors.sql import MASK
from charter.domain.errors import InvalidInput, InvalidValue
from charter.domain.lake import bucket_of
from charter.manifest.models import System

ALICE_COOKIES = ("ck-alice-laptop", "ck-alice-phone")
ALICE_ACCOUNT = "acct-alice"
OTHERS = [f"ck-other-{i:02d}" for i in range(40)]


def lake_system(*, deletes: bool) -> System:
    erase = "delete_row" if deletes else "null"
    return System.model_validate(
        {
            "name": "Event lake",
            "connector": "parquet",
            "connection_env": "EVENTS_LAKE_URL",
            "tables": {
                "page_views": {
                    "identities": {"cookie_id": "cookie_id", "account_id": "account_id"},
                    "primary_key": "event_id",
                    "columns": {
                        "cookie_id": {"category": "user.device.cookie_id", "erasure": erase},
                        "account_id": {"category": "user.unique_id"},
                        "ip_address": {"category": "user.device.ip_address", "erasure": "mask"},
                        "page_url": {"category": "user.behavior.browsing_history"},
                    },
                }
            },
        }
    )


ALICE = {"cookie_id": list(ALICE_COOKIES), "account_id": [ALICE_ACCOUNT]}


def build_lake(root: Path) -> set[str]:
    """Three days of events: Alice's two cookies, a shared-device cookie where she logged in
    (found by account id only), forty other people (some in Alice's buckets); returns the
    event ids of Alice's rows."""
    rows: list[dict[str, Any]] = []
    alice: set[str] = set()
    n = 0
    for day in range(3):
        for cookie in ALICE_COOKIES:
            for _ in range(3):
                n += 1
                rows.append(event(n, cookie, account_id=ALICE_ACCOUNT, day=day))
                alice.add(rows[-1]["event_id"])
        n += 1  # on a family tablet: anonymous, then logged in as Alice
        rows.append(event(n, "ck-family-tablet", day=day))
        n += 1
        rows.append(event(n, "ck-family-tablet", account_id=ALICE_ACCOUNT, day=day))
        alice.add(rows[-1]["event_id"])
        for cookie in OTHERS:
            for _ in range(2):
                n += 1
                rows.append(event(n, cookie, account_id=f"acct-{cookie}", day=day))
    write_events(root, rows)
    # Alice's buckets also hold other people's events (so those files are rewritten, not
    # deleted), and some other files hold no event of hers.
    buckets = {bucket_of(c) for c in ALICE_COOKIES}
    assert any(bucket_of(c) in buckets for c in OTHERS)
    assert any(bucket_of(c) not in buckets for c in OTHERS)
    return alice


def all_rows(root: Path) -> list[dict[str, Any]]:
    files = visible_files(root)
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def visible_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.parquet") if not p.name.startswith("."))


def leftovers(root: Path) -> list[Path]:
    """Hidden files and folders left in the lake (the erasures' lock file is meant to stay)."""
    return [p for p in root.rglob("*") if p.name.startswith(".") and p.name != LOCK_FILE]


def stamps(root: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in visible_files(root)}


def files_holding(root: Path, event_ids: set[str]) -> set[Path]:
    return {
        f
        for f in visible_files(root)
        if set(pq.read_table(f, columns=["event_id"]).column(0).to_pylist()) & event_ids
    }


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """One local Spark for the whole test session: starting one costs seconds."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("charter-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.slow)])
def engine(request: pytest.FixtureRequest) -> LakeEngine:
    if request.param == "duckdb":
        return DuckDBEngine()
    from charter.connectors.spark import SparkEngine

    return SparkEngine(request.getfixturevalue("spark_session"))


def connect(root: Path, engine: LakeEngine, *, deletes: bool = True) -> ParquetConnector:
    return ParquetConnector("events", lake_system(deletes=deletes), root, engine, {})


def test_access_finds_exactly_the_persons_rows_by_cookie_and_account(
    tmp_path: Path, engine: LakeEngine
) -> None:
    alice = build_lake(tmp_path)
    connector = connect(tmp_path, engine)
    found = connector.collect_table("page_views", ALICE, {})
    assert {row["event_id"] for row in found.rows} == alice
    assert found.keys == sorted(alice)
    first = found.rows[0]
    assert set(first) == set(SCHEMA.names)  # every column, no day/bucket from the path
    assert first["occurred_at"].startswith("2026-03-01T") and first["occurred_at"].endswith(
        "+00:00"
    )
    # by cookie id alone: only the rows of those cookies; by account id alone: the tablet too
    by_cookie = connector.collect_table("page_views", {"cookie_id": [ALICE_COOKIES[0]]}, {})
    assert {r["cookie_id"] for r in by_cookie.rows} == {ALICE_COOKIES[0]}
    assert len(by_cookie.rows) == 9
    by_account = connector.collect_table("page_views", {"account_id": [ALICE_ACCOUNT]}, {})
    assert {r["event_id"] for r in by_account.rows} == alice
    # someone the lake has never seen, and a person with no identity the table knows
    assert connector.collect_table("page_views", {"cookie_id": ["ck-nobody"]}, {}).rows == []
    assert connector.collect_table("page_views", {"email": ["a@example.org"]}, {}).rows == []


def test_erasure_removes_the_person_only_and_rewrites_only_their_files(
    tmp_path: Path, engine: LakeEngine
) -> None:
    alice = build_lake(tmp_path)
    before = all_rows(tmp_path)
    holding = files_holding(tmp_path, alice)
    old = stamps(tmp_path)
    outcome = connect(tmp_path, engine).erase(ALICE)[0]
    after = all_rows(tmp_path)
    assert not [r for r in after if r["event_id"] in alice]
    assert sorted(after, key=lambda r: r["event_id"]) == sorted(
        (r for r in before if r["event_id"] not in alice), key=lambda r: r["event_id"]
    )  # everyone else's rows, every value as it was
    assert outcome.rows_deleted == len(alice)
    assert outcome.files_rewritten + outcome.files_deleted == len(holding)
    assert outcome.files_rewritten > 0
    new = stamps(tmp_path)
    for path, stamp in old.items():
        if path in holding:  # replaced by a new file, or deleted when nothing was left
            assert new.get(path) != stamp
        else:
            assert new[path] == stamp  # not rewritten, not even touched
    assert leftovers(tmp_path) == []
    # the rewritten files keep the lake's column types (timestamps in UTC microseconds)
    for path in holding & set(new):
        schema = pq.read_schema(path)
        assert [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in SCHEMA]
    # again: nothing more to do, nothing rewritten
    again = stamps(tmp_path)
    second = connect(tmp_path, engine).erase(ALICE)[0]
    assert (second.rows_deleted, second.files_rewritten, second.files_deleted) == (0, 0, 0)
    assert stamps(tmp_path) == again


def test_erasure_nulls_and_masks_as_the_manifest_says(tmp_path: Path, engine: LakeEngine) -> None:
    alice = build_lake(tmp_path)
    before = {r["event_id"]: r for r in all_rows(tmp_path)}
    outcome = connect(tmp_path, engine, deletes=False).erase(ALICE)[0]
    after = {r["event_id"]: r for r in all_rows(tmp_path)}
    assert set(after) == set(before)  # no row deleted
    assert outcome.rows_minimised == len(alice) and outcome.rows_deleted == 0
    for event_id, row in after.items():
        if event_id in alice:
            assert row["cookie_id"] is None and row["account_id"] is None
            assert row["page_url"] is None
            assert row["ip_address"] == MASK
            # what the manifest does not name stays (it identifies no one on its own)
            assert row["browser"] == before[event_id]["browser"]
            assert row["occurred_at"] == before[event_id]["occurred_at"]
        else:
            assert row == before[event_id]
    assert leftovers(tmp_path) == []
    second = connect(tmp_path, engine, deletes=False).erase(ALICE)[0]
    assert (second.rows_minimised, second.files_rewritten) == (0, 0)


class FailingEngine:
    """An engine whose rewrite writes its temporary files, then fails (a full disk, a killed
    executor): nothing may be replaced and nothing may stay behind."""

    def __init__(self, inner: LakeEngine) -> None:
        self.inner = inner
        self.name = inner.name

    def files_holding(self, *args: Any) -> set[str]:
        return self.inner.files_holding(*args)

    def select(self, *args: Any) -> list[dict[str, Any]]:
        return self.inner.select(*args)

    def tally(self, *args: Any) -> Any:
        return self.inner.tally(*args)

    def rewrite(self, jobs: Any, match: Any, erasure: Any, scratch: str) -> None:
        self.inner.rewrite(jobs, match, erasure, scratch)
        assert all(Path(target).exists() for _, target in jobs)
        raise OSError("no space left on device")


def test_a_failed_rewrite_leaves_the_lake_as_it_was(tmp_path: Path, engine: LakeEngine) -> None:
    alice = build_lake(tmp_path)
    before = stamps(tmp_path)
    rows = all_rows(tmp_path)
    connector = ParquetConnector(
        "events", lake_system(deletes=True), tmp_path, FailingEngine(engine), {}
    )
    with pytest.raises(parquet_module.SystemUnavailable, match="OSError from the"):
        connector.erase(ALICE)
    assert stamps(tmp_path) == before
    assert all_rows(tmp_path) == rows
    assert leftovers(tmp_path) == []
    assert connect(tmp_path, engine).erase(ALICE)[0].rows_deleted == len(alice)


def test_a_crash_between_files_leaves_each_file_whole_and_a_rerun_finishes(
    tmp_path: Path, engine: LakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = build_lake(tmp_path)
    holding = files_holding(tmp_path, alice)
    others = [r for r in all_rows(tmp_path) if r["event_id"] not in alice]
    replaced: list[str] = []
    install = parquet_module._install

    def install_then_die(temporary: str, original: str) -> None:
        if replaced:  # the process dies before the second file is renamed into place
            raise KeyboardInterrupt
        install(temporary, original)
        replaced.append(original)

    monkeypatch.setattr(parquet_module, "_install", install_then_die)
    with pytest.raises(KeyboardInterrupt):
        connect(tmp_path, engine, deletes=False).erase(ALICE)
    monkeypatch.setattr(parquet_module, "_install", install)
    # every file reads whole: the first one new (Alice masked there), the others as they were
    assert leftovers(tmp_path) == []
    rows = {r["event_id"]: r for r in all_rows(tmp_path)}
    assert len(rows) == len(others) + len(alice)
    done = {r["event_id"] for r in pq.read_table(replaced[0]).to_pylist()} & alice
    assert done and all(rows[e]["cookie_id"] is None for e in done)
    assert all(rows[e]["cookie_id"] is not None for e in alice - done)
    assert len(holding) > 1
    # the step runs again and finishes; DuckDB reads the whole lake as before
    outcome = connect(tmp_path, engine, deletes=False).erase(ALICE)[0]
    assert outcome.rows_minimised == len(alice - done)
    with duckdb.connect() as db:
        left = db.execute(
            "SELECT count(*) FROM read_parquet(?) WHERE cookie_id IN (?, ?) OR account_id = ?",
            [[str(p) for p in visible_files(tmp_path)], *ALICE_COOKIES, ALICE_ACCOUNT],
        ).fetchone()
    assert left == (0,)


def test_a_file_holding_only_the_person_is_deleted(tmp_path: Path, engine: LakeEngine) -> None:
    write_events(tmp_path, [event(1, ALICE_COOKIES[0]), event(2, "ck-someone-else")])
    mine = [
        f
        for f in visible_files(tmp_path)
        if f.parent.name == f"bucket={bucket_of(ALICE_COOKIES[0]):02d}"
    ]
    outcome = connect(tmp_path, engine).erase({"cookie_id": [ALICE_COOKIES[0]]})[0]
    assert outcome.files_deleted == 1 and outcome.files_rewritten == 0
    assert not mine[0].exists()
    assert [r["event_id"] for r in all_rows(tmp_path)] == ["ev-000002"]


def test_stale_temporary_files_are_swept_fresh_ones_kept(tmp_path: Path) -> None:
    build_lake(tmp_path)
    folder = (
        tmp_path / "page_views" / "day=2026-03-01" / f"bucket={bucket_of(ALICE_COOKIES[0]):02d}"
    )
    stale, fresh = folder / ".stale.parquet.tmp", folder / ".fresh.parquet.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"busy")
    os.utime(stale, (1, 1))
    connect(tmp_path, DuckDBEngine()).erase(ALICE)
    assert not stale.exists() and fresh.exists()


def test_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EVENTS_LAKE_URL", raising=False)
    with pytest.raises(InvalidInput) as unset:
        lake_root("EVENTS_LAKE_URL")
    assert unset.value.code == "system_unset"
    monkeypatch.setenv("EVENTS_LAKE_URL", f"file://{tmp_path}/lake%20one")
    assert lake_root("EVENTS_LAKE_URL") == tmp_path / "lake one"
    monkeypatch.setenv("EVENTS_LAKE_URL", str(tmp_path))
    assert lake_root("EVENTS_LAKE_URL") == tmp_path
    monkeypatch.setenv("EVENTS_LAKE_URL", "s3://bucket/lake")
    with pytest.raises(InvalidInput, match="s3://"):
        lake_root("EVENTS_LAKE_URL")
    monkeypatch.delenv("CHARTER_LAKE_ENGINE", raising=False)
    assert isinstance(engine_from_env(), DuckDBEngine)
    monkeypatch.setenv("CHARTER_LAKE_ENGINE", "presto")
    with pytest.raises(InvalidInput, match="duckdb or spark"):
        engine_from_env()
    # Spark configured on a machine without Java: a clear error, not a stack trace from py4j
    monkeypatch.setenv("CHARTER_LAKE_ENGINE", "spark")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(EngineUnavailable, match="needs Java"):
        engine_from_env()
    # a lake directory that does not exist is an unavailable system, not "no rows"
    missing = connect(tmp_path / "nowhere", DuckDBEngine())
    with pytest.raises(parquet_module.SystemUnavailable):
        missing.collect_table("page_views", ALICE, {})


def test_a_declared_column_missing_from_the_files_is_a_schema_error(tmp_path: Path) -> None:
    build_lake(tmp_path)
    system = lake_system(deletes=True)
    system.tables["page_views"].columns["user_agent"] = system.tables["page_views"].columns[
        "page_url"
    ]
    connector = ParquetConnector("events", system, tmp_path, DuckDBEngine(), {})
    with pytest.raises(parquet_module.SchemaMismatch, match="user_agent"):
        connector.erase(ALICE)
    assert leftovers(tmp_path) == []


def test_erasures_of_one_lake_wait_for_each_other(tmp_path: Path) -> None:
    """Two runners erasing two people of one bucket at once would each write back the other's
    rows: the second waits for the first."""
    alice = build_lake(tmp_path)
    finished = threading.Event()

    def erase() -> None:
        connect(tmp_path, DuckDBEngine()).erase(ALICE)
        finished.set()

    with parquet_module._locked(tmp_path / LOCK_FILE):  # another runner's erasure
        worker = threading.Thread(target=erase)
        worker.start()
        assert not finished.wait(0.5)
    worker.join(timeout=30)
    assert finished.is_set()
    assert not [r for r in all_rows(tmp_path) if r["event_id"] in alice]


# ---- rectification (Art. 16) --------------------------------------------------------------------

CORRECTED = {"page_url": "https://akkord.example/corrected", "ip_address": "198.51.100.7"}


def lake_by_duckdb(root: Path) -> dict[str, dict[str, Any]]:
    """Every row of the lake read as DuckDB reads it, by event id."""
    with duckdb.connect() as db:
        table = db.sql(
            "SELECT * FROM read_parquet(?, hive_partitioning=false)",
            params=[[str(p) for p in visible_files(root)]],
        ).to_arrow_table()
    return {row["event_id"]: row for row in table.to_pylist()}


def test_rectify_corrects_the_persons_rows_only_and_rewrites_only_their_files(
    tmp_path: Path, engine: LakeEngine
) -> None:
    alice = build_lake(tmp_path)
    before = lake_by_duckdb(tmp_path)
    holding = files_holding(tmp_path, alice)
    old = stamps(tmp_path)
    done = connect(tmp_path, engine).rectify(ALICE, {"page_views": CORRECTED})
    after = lake_by_duckdb(tmp_path)
    assert set(after) == set(before)  # no row added or lost
    for event_id, row in after.items():
        if event_id in alice:
            assert row == {**before[event_id], **CORRECTED}
        else:
            assert row == before[event_id]  # everyone else's rows, every value as it was
    # the old and new values, for the request's sealed history
    assert sorted(r.key for r in done) == sorted(alice)
    first = next(r for r in done if r.key == min(alice))
    assert first.table == "page_views"
    assert first.old == {c: before[first.key][c] for c in CORRECTED}
    assert first.new == CORRECTED
    new = stamps(tmp_path)
    assert set(new) == set(old)  # every file still there
    for path, stamp in old.items():
        assert (new[path] != stamp) is (path in holding)
    for path in holding:
        schema = pq.read_schema(path)
        assert [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in SCHEMA]
        assert pq.read_metadata(path).num_rows == len(pq.read_table(path))
    assert leftovers(tmp_path) == []
    # again: nothing differs any more, nothing is rewritten
    assert connect(tmp_path, engine).rectify(ALICE, {"page_views": CORRECTED}) == []
    assert stamps(tmp_path) == new


def rectifiable_system() -> System:
    system = lake_system(deletes=False)
    system.tables["page_views"].columns["occurred_at"] = system.tables["page_views"].columns[
        "page_url"
    ]
    return system


def test_new_values_take_the_columns_type_or_nothing_changes(
    tmp_path: Path, engine: LakeEngine
) -> None:
    alice = build_lake(tmp_path)
    connector = ParquetConnector("events", rectifiable_system(), tmp_path, engine, {})
    old = stamps(tmp_path)
    for columns in ({"page_url": 42}, {"occurred_at": "not a time"}, {"occurred_at": 7}):
        with pytest.raises(InvalidValue) as refused:
            connector.rectify(ALICE, {"page_views": columns})
        [name] = columns
        assert f"'{name}'" in refused.value.message
        assert str(columns[name]) not in refused.value.message  # never the value
    assert stamps(tmp_path) == old
    for columns, why in (
        ({"cookie_id": "ck-new"}, "cannot be corrected"),  # it says the row's bucket
        ({"browser": "Lynx"}, "cannot be corrected"),  # not declared
    ):
        with pytest.raises(InvalidInput, match=why):
            connector.rectify(ALICE, {"page_views": columns})
    with pytest.raises(InvalidInput, match="not declared"):
        connector.rectify(ALICE, {"clicks": {"page_url": "x"}})
    assert stamps(tmp_path) == old
    # a time given as ISO 8601 text is cast to the column's timestamp
    moved = dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC)
    done = connector.rectify(ALICE, {"page_views": {"occurred_at": "2026-03-09T12:00:00Z"}})
    assert len(done) == len(alice) and done[0].new == {"occurred_at": moved.isoformat()}
    after = lake_by_duckdb(tmp_path)
    assert {after[e]["occurred_at"] for e in alice} == {moved}


def test_a_failed_rectify_leaves_the_lake_as_it_was(tmp_path: Path, engine: LakeEngine) -> None:
    alice = build_lake(tmp_path)
    before = stamps(tmp_path)
    rows = lake_by_duckdb(tmp_path)
    failing = ParquetConnector(
        "events", lake_system(deletes=False), tmp_path, FailingEngine(engine), {}
    )
    with pytest.raises(parquet_module.SystemUnavailable, match="OSError from the"):
        failing.rectify(ALICE, {"page_views": CORRECTED})
    assert stamps(tmp_path) == before
    assert lake_by_duckdb(tmp_path) == rows
    assert leftovers(tmp_path) == []
    assert len(connect(tmp_path, engine).rectify(ALICE, {"page_views": CORRECTED})) == len(alice)


def test_a_crash_mid_rectify_leaves_each_file_whole_and_a_rerun_finishes(
    tmp_path: Path, engine: LakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = build_lake(tmp_path)
    before = lake_by_duckdb(tmp_path)
    replaced: list[str] = []
    install = parquet_module._install

    def install_then_die(temporary: str, original: str) -> None:
        if replaced:  # the process dies before the second file is renamed into place
            raise KeyboardInterrupt
        install(temporary, original)
        replaced.append(original)

    monkeypatch.setattr(parquet_module, "_install", install_then_die)
    with pytest.raises(KeyboardInterrupt):
        connect(tmp_path, engine).rectify(ALICE, {"page_views": CORRECTED})
    monkeypatch.setattr(parquet_module, "_install", install)
    assert leftovers(tmp_path) == []
    middle = lake_by_duckdb(tmp_path)
    assert set(middle) == set(before)
    done = {r["event_id"] for r in pq.read_table(replaced[0]).to_pylist()} & alice
    assert done and all(middle[e]["page_url"] == CORRECTED["page_url"] for e in done)
    assert all(middle[e] == before[e] for e in set(before) - done)
    # the step runs again and corrects the rest only
    again = connect(tmp_path, engine).rectify(ALICE, {"page_views": CORRECTED})
    assert {r.key for r in again} == alice - done
    after = lake_by_duckdb(tmp_path)
    assert all(after[e] == {**before[e], **CORRECTED} for e in alice)
    assert all(after[e] == before[e] for e in set(before) - alice)
