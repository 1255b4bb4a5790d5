"""Rights requests reaching the event lake (GDPR Art. 15, 17): with ``EVENTS_LAKE_URL`` set, a
verified request collects the person's events into the access package and an erasure removes
them, with no step left for staff; unset, the lake's step waits for staff as before. Charter's
store on SQLite and PostgreSQL; the lake on DuckDB."""

from __future__ import annotations

import email
import io
import json
import re
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from fixtures.lake import event, write_events
from sqlalchemy import select

from charter.config import Settings
from charter.facade import Charter
from charter.services.requests import NewRequest
from charter.storage.tables import request_steps

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EMAIL = "lake.person@example.org"
COOKIE = "ck-lake-person"
ACCOUNT = "acct-lake-person"


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    """The minimal manifest with the event lake as its only external system."""
    manifest = yaml.safe_load((FIXTURES / "minimal.yaml").read_text())
    manifest["data_categories"]["user.device.ip_address"] = {"description": "IP address"}
    manifest["data_categories"]["user.behavior.browsing_history"] = {"description": "Pages seen"}
    manifest["systems"] = {
        "events": {
            "name": "Website event lake",
            "connector": "parquet",
            "connection_env": "EVENTS_LAKE_URL",
            "tables": {
                "page_views": {
                    "identities": {"cookie_id": "cookie_id", "account_id": "account_id"},
                    "primary_key": "event_id",
                    "columns": {
                        "cookie_id": {"category": "user.device.cookie_id", "erasure": "delete_row"},
                        "account_id": {"category": "user.unique_id"},
                        "ip_address": {"category": "user.device.ip_address", "erasure": "mask"},
                        "page_url": {"category": "user.behavior.browsing_history"},
                    },
                }
            },
        }
    }
    path = tmp_path / "charter.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    """The person's events (their cookie, and another device where they logged in) among
    other people's, over two days."""
    root = tmp_path / "lake"
    rows = [event(n, COOKIE, day=n % 2) for n in range(1, 7)]
    rows.append(event(7, "ck-shared-tablet", account_id=ACCOUNT))
    rows += [event(100 + n, f"ck-someone-{n}", day=n % 2) for n in range(30)]
    write_events(root, rows)
    return root


def person(charter: Charter) -> None:
    """The person is known to Charter by email, cookie id (newsletter sign-up on the site) and
    account id (a purchase): the request names the email only."""
    charter.submit(
        "marketing_signup",
        brand="acme",
        identities={"email": EMAIL, "cookie_id": COOKIE},
        data={"name": "Lee Lake"},
    )
    charter.submit(
        "purchase",
        brand="acme",
        identities={"email": EMAIL, "account_id": ACCOUNT},
        data={"name": "Lee Lake", "shipping_address": "1 Example Road, Springfield"},
    )


def file_and_verify(charter: Charter, settings: Settings, kind: str) -> str:
    received = charter.requests.submit(NewRequest(kind, "acme", {"email": EMAIL}))
    charter.outbox.deliver()
    newest = max(settings.outbox_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    body = email.message_from_bytes(newest.read_bytes()).get_payload(decode=True)
    code = re.search(rb"^\s+(\d{6})\s*$", body, re.M)  # type: ignore[arg-type]
    assert code is not None
    charter.requests.verify(received.id, code.group(1).decode())
    if charter.requests.view(received.id).status == "awaiting_approval":  # erasure: staff approve
        charter.requests.approve(received.id, "staff:test")
    return received.id


def lake_steps(charter: Charter, request_id: str) -> list[tuple[str | None, str, str]]:
    with charter.store.read() as connection:
        return [
            (s.target, s.action, s.status)
            for s in connection.execute(
                select(request_steps)
                .where(request_steps.c.request_id == request_id, request_steps.c.system == "events")
                .order_by(request_steps.c.seq)
            )
        ]


def lake_rows(root: Path) -> list[dict[str, object]]:
    files = [p for p in root.rglob("*.parquet") if not p.name.startswith(".")]
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def confirm_other_manual_steps(charter: Charter, request_id: str) -> None:
    with charter.store.read() as connection:
        waiting = connection.execute(
            select(request_steps.c.seq, request_steps.c.system).where(
                request_steps.c.request_id == request_id, request_steps.c.action == "manual"
            )
        ).all()
    assert all(system != "events" for _, system in waiting)
    for seq, _ in waiting:
        charter.rights.confirm_manual_step(request_id, seq, "staff:test", "done")


def test_erasure_reaches_the_lake_without_a_manual_step(
    charter: Charter, settings: Settings, lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTS_LAKE_URL", lake.as_uri())
    person(charter)
    others = [r for r in lake_rows(lake) if r["cookie_id"] != COOKIE and r["account_id"] != ACCOUNT]
    request_id = file_and_verify(charter, settings, "erasure")
    charter.rights.run(request_id)
    confirm_other_manual_steps(charter, request_id)
    assert charter.requests.view(request_id).status == "completed"
    assert lake_steps(charter, request_id) == [(None, "erase", "done")]
    remaining = lake_rows(lake)
    assert not [r for r in remaining if r["cookie_id"] == COOKIE or r["account_id"] == ACCOUNT]
    assert sorted(remaining, key=lambda r: str(r["event_id"])) == sorted(
        others, key=lambda r: str(r["event_id"])
    )
    outcome = charter.requests.view(request_id).outcome
    step = next(s for s in outcome["steps"] if s["system"] == "events")  # type: ignore[index]
    assert step["tables"][0]["rows_deleted"] == 7
    assert not list(lake.rglob("*.tmp"))


def test_access_package_holds_the_persons_events(
    charter: Charter, settings: Settings, lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTS_LAKE_URL", str(lake))
    person(charter)
    request_id = file_and_verify(charter, settings, "access")
    charter.rights.run(request_id)
    confirm_other_manual_steps(charter, request_id)
    assert charter.requests.view(request_id).status == "completed"
    assert lake_steps(charter, request_id) == [("page_views", "collect", "done")]
    archive = zipfile.ZipFile(io.BytesIO(charter.requests.package(request_id)))
    data = json.loads(archive.read("data.json"))
    text = json.dumps(data)
    assert "ck-shared-tablet" in text  # found by the account id
    assert "ck-someone-" not in text  # nobody else's events
    assert {f"ev-{n:06d}" for n in range(1, 8)} == set(re.findall(r"ev-\d{6}", text))
    assert "events/page_views.csv" in archive.namelist()


def test_without_the_lake_url_the_step_waits_for_staff(
    charter: Charter, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVENTS_LAKE_URL", raising=False)
    person(charter)
    request_id = file_and_verify(charter, settings, "erasure")
    assert charter.rights.run(request_id) == "in_progress"
    assert lake_steps(charter, request_id) == [(None, "manual", "awaiting_staff")]
    history = charter.requests.view(request_id).history
    assert any("(EVENTS_LAKE_URL) is not set" in str(entry) for entry in history)
