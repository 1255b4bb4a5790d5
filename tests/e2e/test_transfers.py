"""The transfers register over HTTP, on SQLite and PostgreSQL: derived from the manifest with the
disclosures recorded to each recipient; a copy of a safeguard mailed to a person who asks,
through the outbox, audited without the address; the console's page."""

from __future__ import annotations

import email
import json
import re
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from fixtures.recipients import manifest_with_recipients
from sqlalchemy import select

from charter.api import create_app
from charter.config import Settings
from charter.facade import Charter
from charter.services.disclosure_inputs import NewDisclosure
from charter.storage.tables import audit_events

PERSON = "ann@example.org"
SCC = "https://example.org/safeguards/scc-2021-914.pdf"


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    return manifest_with_recipients(tmp_path / "charter.yaml")


def headers(charter: Charter, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {charter.create_token(role).token}"}


def share(charter: Charter, recipient: str, purpose: str, status: str = "disclosed") -> None:
    charter.disclosures.record(
        NewDisclosure(
            kind="processor_share" if recipient == "shop_host" else "affiliate_share",
            recipient=recipient,
            categories=["user.name"],
            purposes=[purpose],
        ),
        "token:test",
    )


def test_the_register_lists_the_recipients_outside_the_home_region(
    client: TestClient, charter: Charter
) -> None:
    share(charter, "shop_host", "order_fulfilment")
    share(charter, "shop_host", "order_fulfilment")
    share(charter, "eu_office", "support")
    # an authority's request still under review is no transfer made
    charter.disclosures.record(
        NewDisclosure(
            kind="court_order",
            recipient="authorities",
            authority="A court abroad",
            categories=["user.name"],
            note="served",
        ),
        "token:test",
    )
    answer = client.get("/v1/transfers", headers=headers(charter, "auditor"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["home_region"] == "EEA"
    by_key = {t["recipient"]: t for t in body["transfers"]}
    # in the EEA (eu_office DE, repair_partner IE), the public and authorities: no transfer
    assert list(by_key) == ["shop_host", "group_parent"]
    host, parent = by_key["shop_host"], by_key["group_parent"]
    assert (host["country"], host["mechanism"], host["module"]) == (
        "US",
        "standard_contractual_clauses",
        2,
    )
    assert host["categories"] == ["user.contact", "user.name"]
    assert host["purposes"] == ["order_fulfilment"]
    assert host["mechanism_text"].endswith("(GDPR Art. 46(2)(c)), module 2")
    assert host["disclosures"] == 2 and parent["disclosures"] == 0
    assert parent["reference"] == "Commission Implementing Decision (EU) 2021/914"
    assert parent["copy_url"] == SCC and host["copy_url"] is None


def test_the_register_is_for_the_privacy_team_and_auditors(
    client: TestClient, charter: Charter
) -> None:
    assert client.get("/v1/transfers").status_code == 401
    for role, status in (
        ("admin", 200),
        ("privacy_officer", 200),
        ("auditor", 200),
        ("support", 403),
        ("service", 403),
    ):
        assert client.get("/v1/transfers", headers=headers(charter, role)).status_code == status


def mails(outbox: Path) -> list[email.message.Message]:
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(outbox.glob("*.eml"))]


def ask(client: TestClient, recipient: str, **body: Any) -> Any:
    return client.post(
        f"/v1/transfers/{recipient}/safeguard-requests",
        json={"email": PERSON, "brand": "acme"} | body,
    )


def test_a_person_is_mailed_a_copy_of_the_safeguard(
    client: TestClient, charter: Charter, settings: Settings
) -> None:
    answer = ask(client, "group_parent", email="Ann@Example.org")
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"status": "sent"}
    (mail,) = mails(settings.outbox_dir)
    assert mail["To"] == PERSON and mail["From"] == "privacy@example.org"
    assert "Example Holdings, Inc." in str(mail["Subject"])
    text = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "standard contractual clauses" in text and "module 1" in text
    assert "Commission Implementing Decision (EU) 2021/914" in text and SCC in text
    assert "Acme Audio" in text
    with charter.store.read() as connection:
        (row,) = connection.execute(
            select(audit_events.c.actor, audit_events.c.target, audit_events.c.details).where(
                audit_events.c.action == "transfer.safeguard_sent"
            )
        ).all()
    assert (row.actor, row.target) == ("person", "group_parent")
    assert row.details == {"brand": "acme", "mechanism": "standard_contractual_clauses"}
    assert "ann" not in json.dumps(row.details).lower()


@pytest.mark.parametrize(
    ("recipient", "body", "status", "code"),
    [
        ("nobody", {}, 404, "unknown_transfer"),
        ("eu_office", {}, 404, "unknown_transfer"),  # in the EEA: no transfer
        ("public", {}, 404, "unknown_transfer"),
        ("shop_host", {"brand": "nope"}, 422, "unknown_brand"),
        ("shop_host", {"email": "not an address"}, 422, "invalid_value"),
        ("Shop-Host", {}, 422, None),
    ],
)
def test_a_request_for_no_transfer_or_with_bad_input_sends_nothing(
    client: TestClient,
    charter: Charter,
    settings: Settings,
    recipient: str,
    body: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    answer = ask(client, recipient, **body)
    assert answer.status_code == status, answer.text
    if code is not None:
        assert answer.json()["error"]["code"] == code
    assert mails(settings.outbox_dir) == []
    assert charter.audit.size() == 0


def test_safeguard_requests_are_rate_limited_per_address(
    settings: Settings, charter: Charter
) -> None:
    with TestClient(
        create_app(settings.model_copy(update={"public_rate_limit": 2}), charter=charter)
    ) as client:
        assert ask(client, "shop_host").status_code == 202
        assert ask(client, "shop_host", email="other@example.org").status_code == 202
        limited = ask(client, "shop_host", email="third@example.org")
    assert limited.status_code == 429
    assert len(mails(settings.outbox_dir)) == 2


def test_the_console_shows_the_register(settings: Settings, charter: Charter) -> None:
    charter.staff.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    charter.staff.create_user("audit@example.org", "Avi Auditor", "auditor", "a long password")
    charter.staff.create_user("shop@example.org", "Web shop", "service", "a long password")
    share(charter, "shop_host", "order_fulfilment")
    with TestClient(create_app(settings, charter=charter), follow_redirects=False) as browser:
        assert browser.get("/admin/transfers").headers["location"] == "/admin/login"
        for who, status in (("shop@example.org", 403), ("audit@example.org", 200)):
            browser.cookies.clear()
            page = browser.get("/admin/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token is not None
            browser.post(
                "/admin/login",
                data={"email": who, "password": "a long password", "csrf_token": token[1]},
            )
            answer = browser.get("/admin/transfers")
            assert answer.status_code == status
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", answer.text, re.S)
    assert len(rows) == 2
    assert "Shop hosting provider" in rows[0] and "<td>1</td>" in rows[0]
    assert "Example Holdings, Inc." in rows[1] and "module 1" in rows[1] and SCC in rows[1]
