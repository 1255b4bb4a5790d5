"""POST /v1/events over HTTP on both databases: page views are kept only for the cookie
categories their cookie id consented to (through the banner), with the IP truncated, in the
lake's day/bucket layout, and counted when dropped; DuckDB reads them back."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from charter.api import create_app
from charter.bootstrap import initialise
from charter.cli import app
from charter.config import Settings
from charter.domain.errors import InvalidValue
from charter.domain.lake import bucket_of
from charter.facade import Charter
from charter.services.consents import ConsentRequest

ACCEPTED = "accepted-cookie-0001"
REFUSED = "refused-cookie-0002"
SILENT = "silent-cookie-00003"
FULL_IPV4 = "198.51.100.77"
FULL_IPV6 = "2001:db8:abcd:12:34:56:78:9a"


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    """The test manifest with an event lake (a parquet system) and the events section."""
    source = Path(__file__).parents[1] / "fixtures" / "minimal.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["systems"]["events"] = {
        "name": "Event lake",
        "connector": "parquet",
        "connection_env": "EVENTS_LAKE_URL",
        "tables": {"page_views": {"identities": {"cookie_id": "cookie_id"}}},
    }
    data["events"] = {"system": "events", "ip_truncation": {"ipv4": 24, "ipv6": 48}}
    path = tmp_path / "charter.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lake"
    monkeypatch.setenv("EVENTS_LAKE_URL", root.as_uri())  # a file:// URL
    return root


def choose(client: TestClient, method: str, cookie_id: str) -> None:
    config = client.get("/v1/cookie-banner/acme").json()
    response = client.post(
        "/v1/cookie-consent",
        json={
            "brand": "acme",
            "method": method,
            "language": config["language"],
            "config_version": config["config_version"],
            "text_version": config["text_version"],
            "cookie_id": cookie_id,
        },
    )
    assert response.status_code in (200, 201), response.text


def event(cookie_id: str, category: str = "analytics", **changes: Any) -> dict[str, Any]:
    return {
        "occurred_at": "2026-11-28T10:15:00+00:00",
        "cookie_id": cookie_id,
        "ip_address": FULL_IPV4,
        "country": "DE",
        "category": category,
        "device_type": "desktop",
        "operating_system": "Linux",
        "browser": "Firefox",
        "page_url": "https://acme.example.org/synths?email=someone@example.org#top",
        "product_line": "synths",
        **changes,
    }


def post(client: TestClient, headers: dict[str, str], events: list[dict[str, Any]]) -> Any:
    return client.post("/v1/events", json={"brand": "acme", "events": events}, headers=headers)


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def stored(root: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect() as connection:
        return connection.execute(
            "SELECT day, bucket, cookie_id, ip_address, country, category, page_url "
            "FROM read_parquet(?, hive_partitioning = true, "
            "hive_types = {'day': DATE, 'bucket': INTEGER}) ORDER BY cookie_id, ip_address",
            [str(root / "page_views" / "*" / "*" / "*.parquet")],
        ).fetchall()


def test_only_consented_categories_are_stored_truncated_and_partitioned(
    client: TestClient, charter: Charter, service_headers: dict[str, str], lake: Path
) -> None:
    choose(client, "accept_all", ACCEPTED)
    choose(client, "reject_all", REFUSED)
    batch = [
        event(ACCEPTED),
        event(ACCEPTED, ip_address=FULL_IPV6, country="XX"),
        event(REFUSED),
        event(SILENT),
        event(SILENT, "strictly_necessary"),  # needs no consent
        event(ACCEPTED, ip_address="not-an-address"),
    ]
    response = post(client, service_headers, batch)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 3, "dropped": {"invalid": 1, "no_consent": 2}}

    rows = stored(lake)
    day = dt.date(2026, 11, 28)
    assert [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        (day, bucket_of(ACCEPTED), ACCEPTED, "198.51.100.0", "DE", "analytics"),
        (day, bucket_of(ACCEPTED), ACCEPTED, "2001:db8:abcd::", None, "analytics"),
        (day, bucket_of(SILENT), SILENT, "198.51.100.0", "DE", "strictly_necessary"),
    ]
    assert {r[6] for r in rows} == {"https://acme.example.org/synths"}  # query string gone

    written = files(lake)
    assert all(not p.name.startswith(".") for p in written), "a temporary file was left"
    for path in written:
        relative = path.relative_to(lake).parts
        assert relative[0] == "page_views" and relative[1] == "day=2026-11-28"
        assert relative[2] in {
            f"bucket={bucket_of(ACCEPTED):02d}",
            f"bucket={bucket_of(SILENT):02d}",
        }
        # The day and bucket are only in the path; the full address is nowhere in the file.
        table = pq.read_table(path)
        assert "day" not in table.column_names and "bucket" not in table.column_names
        values = {str(v) for column in table.columns for v in column.to_pylist()}
        assert FULL_IPV4 not in values and FULL_IPV6 not in values
        raw = path.read_bytes()
        assert FULL_IPV4.encode() not in raw and FULL_IPV6.encode() not in raw
        assert b"someone@example.org" not in raw

    summary = charter.events.summary(day)
    assert [(r.brand, r.category, r.events, r.cookie_ids) for r in summary.stored] == [
        ("acme", "analytics", 2, 1),
        ("acme", "strictly_necessary", 1, 1),
    ]
    assert [(r.reason, r.count) for r in summary.dropped] == [("invalid", 1), ("no_consent", 2)]


def test_withdrawal_stops_later_events_and_drops_add_up(
    client: TestClient, charter: Charter, service_headers: dict[str, str], lake: Path
) -> None:
    choose(client, "accept_all", ACCEPTED)
    assert post(client, service_headers, [event(ACCEPTED)]).json()["accepted"] == 1
    charter.record_consent(
        ConsentRequest(
            brand="acme",
            identities={"cookie_id": ACCEPTED},
            purpose="site_analytics",
            action="withdraw",
            method="banner",
        )
    )
    for _ in range(2):
        response = post(client, service_headers, [event(ACCEPTED), event(SILENT)])
        assert response.json() == {
            "accepted": 0,
            "dropped": {"consent_withdrawn": 1, "no_consent": 1},
        }
    assert len(stored(lake)) == 1
    drops = {(r.reason, r.count) for r in charter.events.summary().dropped}
    assert drops == {("consent_withdrawn", 2), ("no_consent", 2)}
    # Another brand's consent is not this brand's: the same cookie id on zeta has none.
    other = client.post(
        "/v1/events", json={"brand": "zeta", "events": [event(ACCEPTED)]}, headers=service_headers
    )
    assert other.json() == {"accepted": 0, "dropped": {"no_consent": 1}}


def test_bad_bodies_are_refused_naming_the_event_and_field(
    client: TestClient, service_headers: dict[str, str], lake: Path
) -> None:
    missing = event(SILENT, "strictly_necessary")
    del missing["page_url"]
    response = post(client, service_headers, [event(SILENT, "strictly_necessary"), missing])
    assert response.status_code == 422
    assert "events.1.page_url" in response.json()["error"]["message"]
    naive = post(client, service_headers, [event(SILENT, occurred_at="2026-11-28T10:15:00")])
    assert naive.status_code == 422 and "occurred_at" in naive.json()["error"]["message"]
    too_many = post(client, service_headers, [event(SILENT)] * 1001)
    assert too_many.status_code in (413, 422)
    unknown = client.post(
        "/v1/events", json={"brand": "nope", "events": [event(SILENT)]}, headers=service_headers
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_brand"
    assert not lake.exists()  # nothing was written


def test_without_the_lake_directory_nothing_is_taken(
    client: TestClient, service_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVENTS_LAKE_URL", raising=False)
    response = post(client, service_headers, [event(SILENT, "strictly_necessary")])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "lake_not_configured"
    assert "EVENTS_LAKE_URL" in response.json()["error"]["message"]


def test_events_need_the_collect_permission(
    client: TestClient, charter: Charter, lake: Path
) -> None:
    support = {"Authorization": f"Bearer {charter.create_token('support').token}"}
    assert post(client, support, [event(SILENT)]).status_code == 403
    assert post(client, {}, [event(SILENT)]).status_code == 401


def test_cli_summary_reads_the_lake_with_duckdb(
    client: TestClient,
    settings: Settings,
    service_headers: dict[str, str],
    lake: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    choose(client, "accept_all", ACCEPTED)
    batch = [event(ACCEPTED), event(ACCEPTED, occurred_at="2026-11-27T23:59:59+00:00")]
    assert post(client, service_headers, [*batch, event(SILENT)]).json()["accepted"] == 2
    monkeypatch.setenv("CHARTER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CHARTER_MANIFEST", str(settings.manifest))
    monkeypatch.setenv("CHARTER_KEY_FILE", str(settings.key_file))
    result = CliRunner().invoke(app, ["events", "summary", "--day", "2026-11-28", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "stored": [
            {
                "day": "2026-11-28",
                "brand": "acme",
                "category": "analytics",
                "events": 1,
                "cookie_ids": 1,
            }
        ],
        "dropped": [{"day": "2026-11-28", "brand": "acme", "reason": "no_consent", "count": 1}],
    }
    table = CliRunner().invoke(app, ["events", "summary"])
    assert table.exit_code == 0 and "2026-11-27" in table.stdout and "no_consent" in table.stdout
    bad = CliRunner().invoke(app, ["events", "summary", "--day", "yesterday"])
    assert bad.exit_code == 2
    monkeypatch.delenv("EVENTS_LAKE_URL")
    unset = CliRunner().invoke(app, ["events", "summary"])
    assert unset.exit_code == 1 and "EVENTS_LAKE_URL" in unset.output


def test_the_country_is_derived_from_the_operators_range_table(
    settings: Settings, lake: Path, tmp_path: Path
) -> None:
    table = tmp_path / "dbip-country-lite.csv"
    table.write_text(
        '"198.51.100.0","198.51.100.255","NL"\n'
        '"2001:db8::","2001:db8:ffff:ffff:ffff:ffff:ffff:ffff","JP"\n'
        '"203.0.113.0","203.0.113.255","ZZ"\n',
        encoding="utf-8",
    )
    initialise(settings)
    with Charter.open(settings.model_copy(update={"geoip_file": table})) as charter:
        service = {"Authorization": f"Bearer {charter.create_token('service').token}"}
        with TestClient(create_app(settings, charter=charter)) as client:
            choose(client, "accept_all", ACCEPTED)
            batch = [
                event(ACCEPTED),  # in the NL range: derived, the CDN's DE set aside
                event(ACCEPTED, ip_address=FULL_IPV6, country=None),  # JP
                event(ACCEPTED, ip_address="203.0.113.9"),  # ZZ: unknown, the header's DE
                event(ACCEPTED, ip_address="192.0.2.1", country=None),  # in no range: none
            ]
            assert post(client, service, batch).json()["accepted"] == 4
    countries = sorted((r[3], r[4] or "") for r in stored(lake))
    assert countries == [
        ("192.0.2.0", ""),
        ("198.51.100.0", "NL"),
        ("2001:db8:abcd::", "JP"),
        ("203.0.113.0", "DE"),
    ]


def test_a_bad_range_table_refuses_to_start(settings: Settings, tmp_path: Path) -> None:
    table = tmp_path / "ranges.csv"
    table.write_text("10.0.0.0,10.0.0.255,DE\n10.0.0.128,10.0.1.0,FR\n", encoding="utf-8")
    initialise(settings)
    with pytest.raises(InvalidValue, match=r"ranges overlap at 10\.0\.0\.128"):
        Charter.open(settings.model_copy(update={"geoip_file": table}))
    with pytest.raises(InvalidValue, match="cannot read the IP-range table"):
        Charter.open(settings.model_copy(update={"geoip_file": tmp_path / "missing.csv"}))
