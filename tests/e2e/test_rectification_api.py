"""Rectification (GDPR Art. 16, 19) over HTTP with the example group's manifest: a correction
naming the forum (a webhook system) and the event lake is carried out in both, not left to
staff: the forum's test server receives the signed ``rectify`` with its own part of the changes
only, the lake's files hold the corrected values in the person's rows only, and the request's
steps and outcome say so with counts, never the old values. A correction naming a table or
column the manifest does not declare is refused at once (422, naming it), nothing filed."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from fixtures.https import https_endpoint
from fixtures.lake import event, write_events
from sqlalchemy import func, select

from charter.config import Settings
from charter.facade import Charter
from charter.storage.tables import rights_requests

__all__ = ["https_endpoint"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
BRAND = "akkord_pro"
DEV = {"email": "fix.me@example.org", "account_id": "acct-fix-me-7"}
SECRET = "forum-secret-for-rectify-tests"
OLD_NAME = "DJ Exampel"


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    path = tmp_path / "charter.yaml"
    shutil.copy(EXAMPLE, path)
    return path


@pytest.fixture
def staff(charter: Charter) -> dict[str, str]:
    return {"Authorization": f"Bearer {charter.create_token('privacy_officer').token}"}


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The person's page views (logged in on a shared tablet) among other people's."""
    root = tmp_path / "lake"
    rows = [event(n, "ck-shared-tablet", account_id=DEV["account_id"]) for n in range(1, 4)]
    rows += [event(n, "ck-shared-tablet") for n in range(4, 6)]  # someone else, same device
    rows += [event(100 + n, f"ck-someone-{n}", day=n % 2) for n in range(20)]
    write_events(root, rows)
    monkeypatch.setenv("EVENTS_LAKE_URL", str(root))
    return root


@pytest.fixture
def forum(https_endpoint: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("FORUM_PRIVACY_WEBHOOK_URL", https_endpoint["url"])
    monkeypatch.setenv("FORUM_PRIVACY_WEBHOOK_SECRET", SECRET)
    https_endpoint["status"] = 200
    # a forum echoing the old value: Charter keeps the count only
    https_endpoint["answer"] = json.dumps({"profile": 1, "was": OLD_NAME}).encode()
    return https_endpoint


def lake_rows(root: Path) -> dict[str, dict[str, Any]]:
    files = [str(p) for p in root.rglob("*.parquet") if not p.name.startswith(".")]
    with duckdb.connect() as db:
        table = db.sql(
            "SELECT * FROM read_parquet(?, hive_partitioning=false)", params=[files]
        ).to_arrow_table()
    return {row["event_id"]: row for row in table.to_pylist()}


def post_to_forum(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(
        "/v1/touchpoints/forum/submissions",
        headers=headers,
        json={
            "brand": BRAND,
            "identities": DEV,
            "data": {"display_name": OLD_NAME, "date_of_birth": "1990-05-01", "post": "Hi all"},
        },
    )
    assert response.status_code == 201, response.text


def file_request(client: TestClient, changes: Any) -> Any:
    return client.post(
        "/v1/requests",
        json={
            "type": "rectification",
            "brand": BRAND,
            "identities": {"email": DEV["email"]},
            "details": {"changes": changes},
        },
    )


def verify(client: TestClient, charter: Charter, request_id: str, outbox: Path) -> None:
    charter.outbox.deliver()
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
        body = email.message_from_bytes(path.read_bytes()).get_payload(decode=True)
        assert isinstance(body, bytes)
        if request_id.encode() in body and (code := re.search(rb"^\s+(\d{6})\s*$", body, re.M)):
            verified = client.post(
                f"/v1/requests/{request_id}/verify", json={"code": code.group(1).decode()}
            )
            assert verified.status_code == 200, verified.text
            return
    raise AssertionError("no code was sent")


def carry_out(
    client: TestClient, charter: Charter, staff: dict[str, str], request_id: str
) -> dict[str, Any]:
    """Run the request as the worker would, staff telling the recipients that have no address
    (a manual step); its staff view once completed."""
    for _ in range(20):
        charter.rights.run(request_id)
        view = client.get(f"/v1/requests/{request_id}", headers=staff).json()
        if view["status"] == "completed":
            return dict(view)
        waiting = [s for s in view["steps"] if s["status"] == "awaiting_staff"]
        assert waiting and all(s["system"] == "recipients" for s in waiting), view["steps"]
        confirmed = client.post(
            f"/v1/requests/{request_id}/steps/{waiting[0]['seq']}/confirm",
            headers=staff,
            json={"note": "told by phone"},
        )
        assert confirmed.status_code == 200, confirmed.text
    raise AssertionError("the request did not complete")


def test_a_correction_reaches_the_forum_and_the_lake_without_staff(
    client: TestClient,
    service_headers: dict[str, str],
    staff: dict[str, str],
    charter: Charter,
    settings: Settings,
    lake: Path,
    forum: dict[str, Any],
) -> None:
    post_to_forum(client, service_headers)
    before = lake_rows(lake)
    mine = {f"ev-{n:06d}" for n in range(1, 4)}
    changes = {
        "forum.profile": {"display_name": "DJ Example", "location": "Kiel"},
        "events.page_views": {"device_type": "tablet"},
        "charter": {"display_name": "DJ Example"},
    }
    filed = file_request(client, changes)
    assert filed.status_code == 202, filed.text
    request_id = filed.json()["id"]
    verify(client, charter, request_id, settings.outbox_dir)
    view = carry_out(client, charter, staff, request_id)
    # the forum got its own part only, signed, with the identities it knows the person by
    [raw] = forum["bodies"]
    assert json.loads(raw) == {
        "request_id": request_id,
        "action": "rectify",
        "identities": {"account_id": [DEV["account_id"]], "email": [DEV["email"]]},
        "changes": {"profile": {"display_name": "DJ Example", "location": "Kiel"}},
    }
    digest = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert forum["headers"][0]["Charter-Signature"] == f"sha256={digest}"
    # the lake: the person's rows corrected, everyone else's as they were, none lost
    after = lake_rows(lake)
    assert set(after) == set(before)
    for event_id, row in after.items():
        expected = {**before[event_id], "device_type": "tablet"} if event_id in mine else None
        assert row == (expected or before[event_id])
    # every system's step done by Charter, none by hand; counts, never the old values
    steps = {s["system"]: s for s in view["steps"] if s["system"] != "recipients"}
    assert {k: (s["action"], s["status"]) for k, s in steps.items()} == {
        "events": ("rectify", "done"),
        "forum": ("rectify", "done"),
        "charter": ("rectify", "done"),
    }
    outcome = {s["system"]: s for s in view["outcome"]["steps"]}
    assert outcome["forum"] == {
        "system": "forum",
        "target": None,
        "action": "rectify",
        "via": "webhook",
        "rows": 1,
        "rows_per_table": {"profile": 1},
    }
    assert outcome["events"]["rows"] == 3
    assert outcome["events"]["rows_per_table"] == {"page_views": 3}
    assert OLD_NAME not in json.dumps(view)
    assert view["history"][-1]["kind"] == "completed"


@pytest.mark.parametrize(
    ("changes", "code", "named"),
    [
        ({"forum.posts": {"text": "Hello"}}, "undeclared_field", "'forum.posts'"),
        ({"forum.profile": {"avatar": "x.png"}}, "undeclared_field", "'avatar'"),
        ({"events.page_views": {"cookie_id": "ck-new-1234"}}, "undeclared_field", "'cookie_id'"),
        ({"shop.customers": {"last_name": ["Smith"]}}, "invalid_value", "last_name"),
        ("Smith", "invalid_value", "details.changes"),
    ],
)
def test_an_unknown_target_is_refused_by_name_and_nothing_is_filed(
    client: TestClient,
    charter: Charter,
    settings: Settings,
    changes: Any,
    code: str,
    named: str,
) -> None:
    refused = file_request(client, changes)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert (error["code"], set(error)) == (code, {"code", "message"})
    assert named in error["message"]
    with charter.store.read() as connection:
        assert connection.scalar(select(func.count()).select_from(rights_requests)) == 0
    charter.outbox.deliver()
    assert not list(settings.outbox_dir.glob("*.eml"))
