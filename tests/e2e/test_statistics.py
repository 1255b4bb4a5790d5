"""Aggregate releases end to end (issue 8 items 2 and 5): every public cell listed, people's
contributions bounded, the budget enforced, suppression that margins cannot undo, and the
release in the disclosures register. Data: small synthetic event lakes in the contract layout."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from charter.cli import app
from charter.domain.lake import COLUMNS, TABLE, bucket_of, partition_path
from charter.facade import Charter
from charter.manifest.countries import COUNTRY_NAMES
from charter.services.release_query import bounded_aggregates
from charter.services.statistics import ReleaseRequest
from charter.storage.tables import disclosures, stat_releases

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LAKE_ENV = "STATS_TEST_LAKE"
DAY = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def write_events(
    root: Path, rows: Iterable[dict[str, Any]], extra: dict[str, pa.DataType] | None = None
) -> None:
    """Write ``rows`` under ``root`` in the lake layout: one file per (day, bucket)."""
    extra = extra or {}
    fields = [
        pa.field(
            n, pa.timestamp("us", tz="UTC") if t.startswith("timestamp") else pa.string(), nullable
        )
        for n, t, nullable in COLUMNS
    ]
    fields += [pa.field(n, t) for n, t in extra.items()]
    schema = pa.schema(fields)
    groups: dict[str, list[dict[str, Any]]] = {}
    for i, row in enumerate(rows):
        full = {
            "event_id": f"e{i}-{uuid.uuid4().hex[:8]}",
            "occurred_at": DAY,
            "brand": "acme",
            "account_id": None,
            "ip_address": "192.0.2.0",
            "country": "DE",
            "device_type": "desktop",
            "operating_system": "Linux",
            "browser": "Firefox",
            "page_url": "https://acme.example.org/",
            "referrer": None,
            "product_line": None,
            "category": "analytics",
            **row,
        }
        path = partition_path(full["occurred_at"].date(), bucket_of(full["cookie_id"]))
        groups.setdefault(path, []).append(full)
    for path, group in groups.items():
        folder = root / path
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(group, schema=schema)
        temporary = folder / f".{uuid.uuid4()}.parquet.tmp"
        pq.write_table(table, temporary)
        temporary.rename(folder / f"{uuid.uuid4()}.parquet")


def _manifest(path: Path, **statistics: Any) -> Path:
    document = yaml.safe_load((FIXTURES / "minimal.yaml").read_text(encoding="utf-8"))
    document["policy"]["shares_aggregate_statistics"] = True
    document["recipients"]["market_research"] = {
        "name": "Example Market Research Ltd",
        "kind": "third_party",
        "description": "Receives anonymous statistics of visits.",
        "country": "IE",
    }
    document["systems"]["events"] = {
        "name": "Website event lake",
        "connector": "parquet",
        "connection_env": LAKE_ENV,
        "tables": {
            TABLE: {
                "identities": {"cookie_id": "cookie_id"},
                "columns": {
                    "cookie_id": {"category": "user.device.cookie_id", "erasure": "delete_row"}
                },
            }
        },
    }
    document["statistics"] = {
        "k": 10,
        "epsilon_budget": 100,
        "epsilon": 1,
        "max_rows_per_cell": 1,
        "max_cells_per_person": 4,
        "dimensions": {"country": {}, "device_type": {}, "brand": {}},
        **statistics,
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lake"
    root.mkdir()
    monkeypatch.setenv(LAKE_ENV, f"file://{root}")
    return root


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    return _manifest(tmp_path / "charter.yaml")


@pytest.fixture
def tokens(charter: Charter) -> dict[str, dict[str, str]]:
    return {
        role: {"Authorization": f"Bearer {charter.create_token(role).token}"}
        for role in ("admin", "privacy_officer", "support", "auditor")
    }


def _people(prefix: str, count: int, **row: Any) -> list[dict[str, Any]]:
    return [{"cookie_id": f"{prefix}-{i}", **row} for i in range(count)]


def _count(charter: Charter, table: Any) -> int:
    with charter.store.read() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def test_a_release_lists_every_public_cell_and_is_a_disclosure(
    client: TestClient, charter: Charter, lake: Path, tokens: dict[str, dict[str, str]]
) -> None:
    write_events(lake, _people("de", 40) + _people("fr", 30, country="FR", device_type="mobile"))
    body = {
        "dataset": "events",
        "by": ["country", "device_type"],
        "epsilon": 1,
        "recipient": "market_research",
        "purpose": "Quarterly visits report",
    }
    response = client.post("/v1/statistics/releases", json=body, headers=tokens["privacy_officer"])
    assert response.status_code == 201, response.text
    release = response.json()
    cells = {(c["country"], c["device_type"]): c["value"] for c in release["cells"]}
    # Every ISO country x every device type, not only the two present.
    assert set(cells) == {
        (c, d) for c in COUNTRY_NAMES for d in ("desktop", "mobile", "tablet", "other")
    }
    assert len(cells) == len(COUNTRY_NAMES) * 4
    assert release["noise_scale"] == pytest.approx(4.0)  # K*M / epsilon
    assert cells[("DE", "desktop")] is not None and abs(cells[("DE", "desktop")] - 40) < 60
    assert release["suppressed"] == sum(1 for v in cells.values() if v is None)
    assert all(v is None or v >= 10 for v in cells.values())

    listed = client.get("/v1/disclosures", params={"kind": "aggregate"}, headers=tokens["auditor"])
    assert listed.status_code == 200
    [entry] = listed.json()["disclosures"]
    assert entry["kind"] == "aggregate" and entry["recipient"] == "market_research"
    assert entry["id"] == release["disclosure_id"]
    assert entry["about_a_person"] is False

    budget = client.get("/v1/statistics/budget", headers=tokens["admin"]).json()
    assert budget == [
        {"dataset": "events", "budget": 100.0, "spent": 1.0, "remaining": 99.0, "releases": 1}
    ]
    assert client.get("/v1/statistics/budget", headers=tokens["support"]).status_code == 403
    with charter.store.read() as connection:
        row = connection.execute(select(stat_releases)).one()
    assert row.query["by"] == ["country", "device_type"] and row.recipient == "market_research"
    assert row.noise_scale == pytest.approx(4.0) and row.created_by.startswith("token:")


def test_a_named_third_party_and_bad_input(
    client: TestClient, charter: Charter, lake: Path, tokens: dict[str, dict[str, str]]
) -> None:
    write_events(lake, _people("de", 12))
    headers = tokens["admin"]
    named = client.post(
        "/v1/statistics/releases",
        headers=headers,
        json={"dataset": "events", "by": ["brand"], "recipient": "Example University"},
    )
    assert named.status_code == 201, named.text
    assert named.json()["recipient"] == "third_party"
    assert named.json()["recipient_name"] == "Example University"
    assert [c["brand"] for c in named.json()["cells"]] == ["acme", "zeta"]
    for bad, field in [
        ({"by": ["cookie_id"]}, "by"),
        ({"by": ["country", "country"]}, "by"),
        ({"where": {"country": ["XX"]}}, "where"),
        ({"dataset": "shop"}, "dataset"),
        ({"measure": "sum", "column": "amount"}, "lower"),
    ]:
        request = {"dataset": "events", "recipient": "market_research", **bad}
        refused = client.post("/v1/statistics/releases", headers=headers, json=request)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["error"]["message"].startswith(field), refused.text
    assert _count(charter, stat_releases) == 1


def test_a_person_counts_at_most_k_rows_in_at_most_m_cells(charter: Charter, lake: Path) -> None:
    heavy = [{"cookie_id": "heavy"}] * 50  # 50 events in one cell
    roaming = [{"cookie_id": "roamer", "country": c} for c in ("DE", "FR", "IE", "US", "ES", "IT")]
    linked = [  # one account on two cookies is one person
        {"cookie_id": "laptop", "account_id": "acct-1", "device_type": "desktop"},
        {"cookie_id": "phone", "account_id": "acct-1", "device_type": "desktop"},
        {"cookie_id": "phone", "device_type": "desktop"},  # same cookie before signing in
    ]
    write_events(lake, heavy + roaming + linked)
    service = charter.statistics
    plan = service.plan(
        ReleaseRequest(dataset="events", by=["country"], recipient="market_research")
    )
    counts, _ = bounded_aggregates(plan, service.files(plan), "salt-1")
    # heavy: 1 (K=1); laptop + phone: one person, 1; roamer: in at most M=4 of its 6 countries.
    assert counts[("DE",)] in (2, 3)
    roamer_cells = (counts[("DE",)] - 2) + sum(n for c, n in counts.items() if c != ("DE",))
    assert roamer_cells == 4
    assert sum(counts.values()) == 6
    # Deterministic: the same salt keeps the same cells.
    assert bounded_aggregates(plan, service.files(plan), "salt-1")[0] == counts


def test_releases_stop_at_the_budget(
    client: TestClient,
    charter: Charter,
    lake: Path,
    manifest_path: Path,
    tokens: dict[str, dict[str, str]],
) -> None:
    write_events(lake, _people("de", 20))
    headers = tokens["admin"]
    body = {"dataset": "events", "by": ["country"], "recipient": "market_research", "epsilon": 40}
    assert client.post("/v1/statistics/releases", json=body, headers=headers).status_code == 201
    assert client.post("/v1/statistics/releases", json=body, headers=headers).status_code == 201
    before = (_count(charter, stat_releases), _count(charter, disclosures))
    refused = client.post("/v1/statistics/releases", json=body, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "budget_exhausted"
    assert "20 of the dataset's budget of 100 left" in refused.json()["error"]["message"]
    assert (_count(charter, stat_releases), _count(charter, disclosures)) == before
    body["epsilon"] = 20  # exactly what is left
    assert client.post("/v1/statistics/releases", json=body, headers=headers).status_code == 201
    body["epsilon"] = 0.001
    assert client.post("/v1/statistics/releases", json=body, headers=headers).status_code == 422


# -- the margin attack -------------------------------------------------------------------------

SMALL = 1  # people in the small cell (DE, tablet)
MARGIN_DATA = (
    _people("dd", 60, device_type="desktop")
    + _people("dm", 50, device_type="mobile")
    + _people("dt", SMALL, device_type="tablet")
    + _people("fd", 45, country="FR", device_type="desktop")
)


@pytest.fixture
def margin_manifest(tmp_path: Path) -> Path:
    return _manifest(
        tmp_path / "charter.yaml",
        k=20,
        dimensions={"country": {"values": ["DE", "FR"]}, "device_type": {}},
    )


def test_the_naive_release_leaks_a_suppressed_cell_through_its_margin(lake: Path) -> None:
    write_events(lake, MARGIN_DATA)
    files = f"{lake}/{TABLE}/*/*/*.parquet"
    with duckdb.connect() as connection:
        released = {
            (country, device): n
            for country, device, n in connection.execute(
                "SELECT country, device_type, count(DISTINCT cookie_id) AS n FROM read_parquet($1) "
                "GROUP BY ALL HAVING count(DISTINCT cookie_id) >= 20",
                [files],
            ).fetchall()
        }
        margin = dict(
            connection.execute(
                "SELECT country, count(DISTINCT cookie_id) FROM read_parquet($1) GROUP BY ALL",
                [files],
            ).fetchall()
        )
    assert ("DE", "tablet") not in released  # "suppressed"
    recovered = margin["DE"] - sum(n for (c, _), n in released.items() if c == "DE")
    assert recovered == SMALL  # the attack works on HAVING count >= k with a true margin


def test_our_releases_do_not_give_back_a_suppressed_cell(
    charter: Charter, lake: Path, margin_manifest: Path
) -> None:
    write_events(lake, MARGIN_DATA)
    from charter.facade import Charter as Facade
    from charter.manifest import load_manifest

    service = Facade(load_manifest(margin_manifest), charter.store, charter.clock).statistics
    by_cell = ReleaseRequest(
        dataset="events", by=["country", "device_type"], recipient="market_research"
    )
    by_country = ReleaseRequest(dataset="events", by=["country"], recipient="market_research")
    errors = []
    for _ in range(12):
        for _attempt in range(8):  # until the small cell is suppressed (noise may lift it)
            a = service.release(by_cell, "test")
            cells = {(c["country"], c["device_type"]): c["value"] for c in a.cells}
            if cells[("DE", "tablet")] is None:
                break
        else:
            pytest.fail("the small cell was never suppressed")
        released_de = sum(v for (c, _), v in cells.items() if c == "DE" and v is not None)
        # Our margins are sums of released noisy cells: subtracting gives released values only.
        assert a.margins["country"]["DE"] == released_de
        assert a.margins["country"]["DE"] - released_de == 0 != SMALL
        assert a.margins["*"]["*"] == sum(v for v in cells.values() if v is not None)
        # A second, overlapping release by country: its own noise, its own epsilon.
        b = service.release(by_country, "test")
        de = next(c["value"] for c in b.cells if c["country"] == "DE")
        assert de is not None
        errors.append((de - released_de) - SMALL)
    assert sum(1 for e in errors if e == 0) <= len(errors) // 2
    mean_error = sum(abs(e) for e in errors) / len(errors)
    assert 1.0 <= mean_error <= 80.0  # of the order of the noise (scale 4 per cell)
    assert service.budget()[0].spent >= 24


def test_sum_and_histogram(charter: Charter, lake: Path) -> None:
    rows = [{"cookie_id": f"p{i}", "seconds": float(i % 7) * 100} for i in range(200)]
    write_events(lake, rows, extra={"seconds": pa.float64()})
    service = charter.statistics
    total = service.release(
        ReleaseRequest(
            dataset="events",
            measure="sum",
            by=["device_type"],
            column="seconds",
            lower=0,
            upper=300,
            recipient="market_research",
            epsilon=2,
        ),
        "test",
    )
    assert total.sensitivity == 4 * 300 and total.noise_scale == pytest.approx(1200.0)
    assert [c["device_type"] for c in total.cells] == ["desktop", "mobile", "tablet", "other"]
    assert set(total.cells[0]) == {"device_type", "count", "sum"}
    histogram = service.release(
        ReleaseRequest(
            dataset="events",
            measure="histogram",
            by=["brand"],
            column="seconds",
            bins=[0, 100, 300, 600],
            recipient="market_research",
        ),
        "test",
    )
    assert [(c["brand"], c["seconds"]) for c in histogram.cells] == [
        (b, label) for b in ("acme", "zeta") for label in ("[0, 100)", "[100, 300)", "[300, 600]")
    ]
    plan = service.plan(
        ReleaseRequest(
            dataset="events",
            measure="histogram",
            column="seconds",
            bins=[0, 100, 300, 600],
            recipient="market_research",
        )
    )
    counts, _ = bounded_aggregates(plan, service.files(plan), "s")
    assert counts == {("[0, 100)",): 29, ("[100, 300)",): 58, ("[300, 600]",): 113}


def test_cli_release_and_budget(workdir: Path, lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    _manifest(workdir / "charter.yaml")
    assert runner.invoke(app, ["init"]).exit_code == 0
    write_events(lake, _people("de", 30) + _people("ak", 12, brand="zeta"))
    result = runner.invoke(
        app,
        [
            "stats",
            "release",
            "--dataset",
            "events",
            "--measure",
            "count",
            "--by",
            "country,device_type",
            "--where",
            "brand=acme",
            "--epsilon",
            "1",
            "--recipient",
            "market_research",
            "--format",
            "csv",
            "--output",
            "out.csv",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = (workdir / "out.csv").read_text().splitlines()
    assert lines[0] == "country,device_type,value"
    assert len(lines) == 1 + len(COUNTRY_NAMES) * 4
    budget = runner.invoke(app, ["stats", "budget"])
    assert budget.exit_code == 0 and '"spent": 1.0' in budget.stdout
    bad = runner.invoke(
        app,
        [
            "stats",
            "release",
            "--dataset",
            "events",
            "--by",
            "cookie_id",
            "--recipient",
            "market_research",
        ],
    )
    assert bad.exit_code == 2 and "by:" in bad.output
    malformed = runner.invoke(
        app,
        [
            "stats",
            "release",
            "--dataset",
            "events",
            "--where",
            "brand",
            "--recipient",
            "market_research",
        ],
    )
    assert malformed.exit_code == 2
    assert os.path.exists(workdir / "out.csv")
