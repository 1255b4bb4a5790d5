"""Rights requests over HTTP: intake, the code by e-mail (.eml in the outbox), verification,
status, the staff queue and decisions, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import email
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter


class Api:
    def __init__(self, client: TestClient, charter: Charter, outbox: Path) -> None:
        self.client = client
        self.charter = charter
        self.outbox = outbox
        self.staff = {"Authorization": f"Bearer {charter.create_token('privacy_officer').token}"}
        self.support = {"Authorization": f"Bearer {charter.create_token('support').token}"}
        self.service = {"Authorization": f"Bearer {charter.create_token('service').token}"}

    def at(self, moment: dt.datetime) -> None:
        """Set the time for the request service and the outbox together."""
        self.charter.requests.clock = self.charter.outbox.clock = lambda: moment

    def later(self, delta: dt.timedelta) -> None:
        self.at(dt.datetime.now(dt.UTC) + delta)

    def mails(self) -> list[email.message.Message]:
        return [
            email.message_from_bytes(path.read_bytes())
            for path in sorted(self.outbox.glob("*.eml"))
        ]

    def code_for(self, request_id: str) -> str:
        for mail in reversed(self.mails()):
            body = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
            if request_id in body:
                found = re.search(r"^\s+(\d{6})$", body, re.M)
                assert found, body
                return found.group(1)
        raise AssertionError(f"no mail for {request_id}")

    def file(self, **body: Any) -> dict[str, Any]:
        payload = {"type": "access", "brand": "acme", "identities": {"email": "ann@example.org"}}
        response = self.client.post("/v1/requests", json={**payload, **body})
        assert response.status_code == 202, response.text
        return dict(response.json())


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    initialise(settings)
    with (
        Charter.open(settings) as charter,
        TestClient(create_app(settings, charter=charter)) as client,
    ):
        yield Api(client, charter, settings.outbox_dir)


def test_a_request_is_verified_by_the_code_sent_by_mail(api: Api) -> None:
    api.charter.submit("support", brand="acme", identities={"email": "ann@example.org"})
    filed = api.file(jurisdiction="DE")
    assert filed["status"] == "awaiting_verification"
    received = dt.datetime.fromisoformat(filed["due_at"]) - dt.timedelta(days=30)
    assert abs((received - dt.datetime.now(dt.UTC)).total_seconds()) < 120  # 30 days (or less)
    [mail] = api.mails()
    assert mail["To"] == "ann@example.org"
    assert "code" in mail["Subject"]
    code = api.code_for(filed["id"])
    wrong = api.client.post(f"/v1/requests/{filed['id']}/verify", json={"code": "000000"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] in ("wrong_code",)
    # the next try must wait a second
    too_soon = api.client.post(f"/v1/requests/{filed['id']}/verify", json={"code": code})
    assert too_soon.json()["error"]["code"] == "too_many_attempts"
    api.later(dt.timedelta(seconds=2))
    ok = api.client.post(f"/v1/requests/{filed['id']}/verify", json={"code": code})
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "verified"
    token = ok.json()["access_token"]
    status = api.client.get(
        f"/v1/requests/{filed['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert status.status_code == 200
    body = status.json()
    assert (body["type"], body["status"], body["deadline_rule"]) == ("access", "verified", "gdpr")
    assert [h["kind"] for h in body["history"]] == [
        "received",
        "message_sent",
        "verified",
    ]
    assert len(api.mails()) == 2  # received (with the code), verified
    # the token opens this request only; no token, no status
    other = api.file(identities={"email": "bob@example.org"})
    assert (
        api.client.get(
            f"/v1/requests/{other['id']}", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )
    assert api.client.get(f"/v1/requests/{filed['id']}").status_code == 401


def test_an_unknown_person_gets_the_same_answer_as_a_known_one(api: Api) -> None:
    api.charter.submit("support", brand="acme", identities={"email": "known@example.org"})
    known = api.client.post(
        "/v1/requests",
        json={"type": "erasure", "brand": "acme", "identities": {"email": "known@example.org"}},
    )
    unknown = api.client.post(
        "/v1/requests",
        json={"type": "erasure", "brand": "acme", "identities": {"email": "nobody@example.org"}},
    )
    assert known.status_code == unknown.status_code == 202
    assert set(known.json()) == set(unknown.json())
    assert known.json()["status"] == unknown.json()["status"] == "awaiting_verification"
    assert sorted(m["To"] for m in api.mails()) == ["known@example.org", "nobody@example.org"]


def test_the_code_goes_to_the_address_on_file(api: Api) -> None:
    api.charter.submit(
        "support",
        brand="acme",
        identities={"email": "onfile@example.org", "phone": "+1 202 555 0100"},
    )
    api.file(identities={"email": "attacker@example.net", "phone": "+1 202 555 0100"})
    assert [m["To"] for m in api.mails()] == ["onfile@example.org"]


def test_five_wrong_codes_close_the_request(api: Api) -> None:
    filed = api.file()
    now = dt.datetime.now(dt.UTC)
    for attempt in range(5):
        api.at(now + dt.timedelta(seconds=20 * attempt))
        answer = api.client.post(f"/v1/requests/{filed['id']}/verify", json={"code": "999999"})
        assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "verification_locked"
    view = api.charter.requests.view(filed["id"])
    assert view.status == "rejected"
    assert "complain" in api.mails()[-1].get_payload(decode=True).decode()  # type: ignore[union-attr]
    again = api.client.post(f"/v1/requests/{filed['id']}/verify", json={"code": "999999"})
    assert again.json()["error"]["code"] == "not_awaiting_verification"


def test_staff_queue_extend_and_reject(api: Api) -> None:
    first = api.file(type="access")
    second = api.client.post(
        "/v1/staff/requests",
        json={
            "type": "rectification",
            "brand": "acme",
            "identities": {"email": "letter@example.org"},
            "details": {"message": "My surname is misspelt."},
            "received_via": "letter",
            "jurisdiction": "US-CA",
        },
        headers=api.support,
    )
    assert second.status_code == 202, second.text
    queue = api.client.get("/v1/requests", headers=api.support)
    assert queue.status_code == 200
    listed = queue.json()["requests"]
    assert [r["id"] for r in listed] == sorted(
        [first["id"], second.json()["id"]],
        key=lambda i: next(r["due_at"] for r in listed if r["id"] == i),
    )
    letter = next(r for r in listed if r["received_via"] == "letter")
    assert letter["deadline_rule"] == "ccpa" and letter["confirm_by"] is not None
    # support may see and file, not decide
    assert (
        api.client.post(
            f"/v1/requests/{first['id']}/reject", json={"reasons": "x"}, headers=api.support
        ).status_code
        == 403
    )
    extended = api.client.post(
        f"/v1/requests/{first['id']}/extend",
        json={"reasons": "Your data sits in several archives."},
        headers=api.staff,
    )
    assert extended.status_code == 200, extended.text
    assert extended.json()["due_at"] > first["due_at"]
    twice = api.client.post(
        f"/v1/requests/{first['id']}/extend", json={"reasons": "again"}, headers=api.staff
    )
    assert twice.json()["error"]["code"] == "extension_refused"
    rejected = api.client.post(
        f"/v1/requests/{first['id']}/reject",
        json={"reasons": "We could not confirm that the request comes from you."},
        headers=api.staff,
    )
    assert rejected.json()["status"] == "rejected"
    last = api.mails()[-1].get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "could not confirm" in last and "complain" in last
    view = api.client.get(f"/v1/requests/{first['id']}", headers=api.staff).json()
    assert [h["kind"] for h in view["history"]][-2:] == ["extended", "rejected"]
    assert view["closed_at"] is not None
    # a service token reads no requests
    assert api.client.get("/v1/requests", headers=api.service).status_code == 403


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "teleport"}, "invalid_request"),
        ({"brand": "nobrand"}, "unknown_brand"),
        ({"identities": {"phone": "+1 202 555 0100"}}, "email_required"),
        ({"identities": {"email": "not-an-email"}}, "invalid_value"),
        ({"identities": {"email": "a@example.org", "shoe_size": 42}}, "undeclared_field"),
        # PostgreSQL cannot store U+0000: a 500 there before (found by fuzzing).
        ({"jurisdiction": "DE\x00"}, "invalid_value"),
        ({"language": "\x00"}, "invalid_value"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_kept(
    api: Api, body: dict[str, Any], code: str
) -> None:
    payload = {"type": "access", "brand": "acme", "identities": {"email": "ann@example.org"}}
    answer = api.client.post("/v1/requests", json={**payload, **body})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code
    assert api.charter.requests.queue(include_closed=True) == []
    assert api.mails() == []


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("extend", {"reasons": "Your data sits in\x00 several archives."}),
        ("reject", {"reasons": "\x00"}),
        ("steps/0/confirm", {"note": "Deleted by hand\x00"}),
    ],
)
def test_staff_text_with_control_characters_is_refused_and_nothing_changes(
    api: Api, action: str, body: dict[str, str]
) -> None:
    # A 500 on PostgreSQL before (U+0000 cannot be stored; found by fuzzing).
    filed = api.file()
    before = api.client.get(f"/v1/requests/{filed['id']}", headers=api.staff).json()
    answer = api.client.post(f"/v1/requests/{filed['id']}/{action}", json=body, headers=api.staff)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == {
        "code": "invalid_value",
        "message": f"{next(iter(body))}: contains control characters",
    }
    assert api.client.get(f"/v1/requests/{filed['id']}", headers=api.staff).json() == before


def test_unknown_request_and_rate_limit(api: Api) -> None:
    missing = api.client.post(
        "/v1/requests/00000000-0000-4000-8000-000000000000/verify", json={"code": "1"}
    )
    assert missing.status_code == 404
    api.client.app.state.public_rate_limit.limit = 2  # type: ignore[attr-defined]
    answers = [api.file(identities={"email": f"p{i}@example.org"}) for i in range(2)]
    assert len(answers) == 2
    limited = api.client.post(
        "/v1/requests",
        json={"type": "access", "brand": "acme", "identities": {"email": "x@example.org"}},
    )
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1


def test_reminders_before_the_deadline_and_the_overdue_list(api: Api) -> None:
    filed = api.file()
    due = dt.datetime.fromisoformat(filed["due_at"])
    team = (api.charter.manifest.policy.dpo or api.charter.manifest.policy.controller).email
    api.at(due - dt.timedelta(days=8))
    assert api.charter.requests.remind() == 0
    api.at(due - dt.timedelta(days=6, hours=23))
    assert api.charter.requests.remind() == 1
    assert api.charter.requests.remind() == 0  # once per moment
    api.charter.outbox.deliver()  # as the worker does after the reminders
    reminder = api.mails()[-1]
    assert reminder["To"] == team and "due in 7 days" in reminder["Subject"]
    body = reminder.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert filed["id"] in body and "ann@example.org" not in body  # no personal data
    api.at(due - dt.timedelta(hours=2))  # 3 and 1 passed unseen: one message, the most urgent
    assert api.charter.requests.remind() == 1
    api.charter.outbox.deliver()
    assert "due tomorrow" in api.mails()[-1]["Subject"]
    assert api.client.get("/v1/requests?overdue=true", headers=api.staff).json()["requests"] == []
    api.at(due + dt.timedelta(minutes=1))
    late = api.client.get("/v1/requests?overdue=true", headers=api.staff).json()["requests"]
    assert [(r["id"], r["overdue"]) for r in late] == [(filed["id"], True)]
    history = [h["kind"] for h in late[0]["history"]]
    assert history.count("reminder") == 2
