"""The soft opt-in over HTTP (ePrivacy Directive Art. 13(2)), on the example manifest: a
purchase makes the buyer an existing customer of that brand for ``customer_updates``; the
opt-out is offered at collection and in every message; it is never a consent."""

from __future__ import annotations

import datetime as dt
import email
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.domain.consent import CUSTOMER_CHANNEL
from charter.facade import Charter
from charter.storage.tables import consent_events, notices, preference_events

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
BRAND, OTHER = "akkord_pro", "corvid_audio"
ANN, BOB = "ann@example.org", "bob@example.org"
UPDATES = "customer_updates"


def example(**purpose_changes: Any) -> dict[str, Any]:
    """The example manifest with no external system to reach (rights requests stay in
    Charter's own store), ``customer_updates`` changed as given."""
    manifest = yaml.safe_load(EXAMPLE.read_text())
    manifest["systems"] = {}
    manifest.pop("events", None)
    manifest.pop("statistics", None)
    for touchpoint in manifest["touchpoints"].values():
        if touchpoint.get("publication"):
            touchpoint["publication"].pop("system", None)
    manifest["purposes"][UPDATES]["soft_opt_in"].update(purpose_changes)
    return manifest


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    path = tmp_path / "charter.yaml"
    path.write_text(yaml.safe_dump(example(), sort_keys=False))
    return path


def purchase(email_address: str = ANN, **extra: Any) -> dict[str, Any]:
    return {
        "brand": BRAND,
        "identities": {"email": email_address},
        "data": {
            "name": "Ann Example",
            "phone": "+49 30 1234567",
            "shipping_address": {"line1": "1 Example Road", "city": "Berlin", "country": "de"},
            "country": "DE",
            "payment_token": "tok_1PxExampleToken",
            "order_items": "1 x MPC Example",
        },
        **extra,
    }


def submit(
    client: TestClient, headers: dict[str, str], touchpoint: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = client.post(f"/v1/touchpoints/{touchpoint}/submissions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def decide(
    client: TestClient,
    headers: dict[str, str],
    email_address: str = ANN,
    purpose: str = UPDATES,
    brand: str = BRAND,
) -> dict[str, Any]:
    response = client.post(
        "/v1/decisions",
        json={"brand": brand, "identities": {"email": email_address}, "purpose": purpose},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_purchase_makes_the_buyer_an_existing_customer_of_that_brand_only(
    client: TestClient, service_headers: dict[str, str], charter: Charter
) -> None:
    receipt = submit(client, service_headers, "purchase", purchase())
    notice = charter.manifest.purposes[UPDATES].soft_opt_in.opt_out_notice.strip()  # type: ignore[union-attr]
    assert receipt["soft_opt_in"] == [
        {"purpose": UPDATES, "status": "established", "notice": notice}
    ]
    assert receipt["consents"] == []
    assert decide(client, service_headers) == {
        "allowed": True,
        "basis": "soft_opt_in",
        "reason": "ok",
    }
    assert decide(client, service_headers, brand=OTHER)["reason"] == "not_a_customer"
    # A newsletter subscriber consented to marketing_communications: not a customer.
    signup = {
        "brand": BRAND,
        "identities": {"email": BOB},
        "consents": [
            {"purpose": "marketing_communications", "notice": "Yes, send me news by email."}
        ],
    }
    submit(client, service_headers, "marketing_signup", signup)
    assert decide(client, service_headers, BOB) == {
        "allowed": False,
        "basis": "soft_opt_in",
        "reason": "not_a_customer",
    }
    assert decide(client, service_headers, BOB, "marketing_communications")["allowed"] is True
    # ... and the buyer never consented to marketing_communications: buying is no consent.
    assert decide(client, service_headers, ANN, "marketing_communications") == {
        "allowed": False,
        "basis": "consent",
        "reason": "no_consent",
    }
    # The evidence: a customer-channel entry dated at the sale, with the opt-out notice shown.
    with charter.store.read() as connection:
        [entry] = connection.execute(
            select(consent_events, notices.c.text)
            .join(notices, notices.c.hash == consent_events.c.notice_hash)
            .where(consent_events.c.channel == CUSTOMER_CHANNEL)
        ).all()
    assert (entry.brand, entry.purpose, entry.action, entry.method) == (
        BRAND,
        UPDATES,
        "given",
        "soft_opt_in",
    )
    assert (entry.touchpoint, entry.submission_id) == ("purchase", receipt["submission_id"])
    assert entry.text == notice


def test_a_product_registration_establishes_it_too(
    client: TestClient, service_headers: dict[str, str]
) -> None:
    body = {
        "brand": BRAND,
        "identities": {"email": ANN, "device_serial": "SN-0001"},
        "data": {
            "name": "Ann Example",
            "password": "correct horse battery staple",
            "country": "DE",
            "ip_address": "192.0.2.10",
        },
    }
    receipt = submit(client, service_headers, "product_registration", body)
    assert [o["status"] for o in receipt["soft_opt_in"]] == ["established"]
    assert decide(client, service_headers)["allowed"] is True
    # A support ticket establishes nothing.
    support = {"brand": BRAND, "identities": {"email": BOB}, "data": {"message": "It hums."}}
    assert submit(client, service_headers, "support", support)["soft_opt_in"] == []
    assert decide(client, service_headers, BOB)["reason"] == "not_a_customer"


def test_an_opt_out_at_collection_records_the_offer_and_the_objection_together(
    client: TestClient, service_headers: dict[str, str], charter: Charter
) -> None:
    receipt = submit(client, service_headers, "purchase", purchase(opt_outs=[UPDATES]))
    assert [(o["purpose"], o["status"]) for o in receipt["soft_opt_in"]] == [(UPDATES, "opted_out")]
    assert decide(client, service_headers) == {
        "allowed": False,
        "basis": "soft_opt_in",
        "reason": "objected",
    }
    with charter.store.read() as connection:
        [objection] = connection.execute(select(preference_events)).all()
        customer = connection.execute(
            select(consent_events.c.action).where(consent_events.c.channel == CUSTOMER_CHANNEL)
        ).scalars()
        assert list(customer) == ["given"]  # the offer was made ...
    assert (objection.kind, objection.purpose, objection.method) == (
        "objection",
        UPDATES,
        "form_checkbox",
    )  # ... and taken
    # A later purchase does not undo the opt-out, and its receipt says so.
    again = submit(client, service_headers, "purchase", purchase())
    assert again["soft_opt_in"][0]["status"] == "opted_out"
    assert decide(client, service_headers)["reason"] == "objected"


@pytest.mark.parametrize(
    ("touchpoint", "body", "code"),
    [
        ("purchase", purchase(opt_outs=["marketing_communications"]), "opt_out_not_offered"),
        ("purchase", purchase(opt_outs=["no_such_purpose"]), "opt_out_not_offered"),
        ("purchase", purchase(opt_outs=[UPDATES, UPDATES]), "duplicate_opt_out"),
        (
            "support",
            {
                "brand": BRAND,
                "identities": {"email": ANN},
                "data": {"message": "Hi"},
                "opt_outs": [UPDATES],
            },
            "opt_out_not_offered",
        ),
    ],
)
def test_an_opt_out_the_touchpoint_does_not_offer_is_refused_and_nothing_is_stored(
    client: TestClient,
    service_headers: dict[str, str],
    charter: Charter,
    touchpoint: str,
    body: dict[str, Any],
    code: str,
) -> None:
    response = client.post(
        f"/v1/touchpoints/{touchpoint}/submissions", json=body, headers=service_headers
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code and "opt_outs[" in error["message"]
    with charter.store.read() as connection:
        assert connection.execute(select(consent_events)).all() == []
        assert connection.execute(select(preference_events)).all() == []
    assert decide(client, service_headers)["reason"] == "unknown_subject"


def test_every_message_offers_the_opt_out_and_the_unsubscribe_or_an_objection_stops_it(
    client: TestClient, service_headers: dict[str, str], charter: Charter
) -> None:
    submit(client, service_headers, "purchase", purchase())
    check = {
        "brand": BRAND,
        "identities": {"email": ANN},
        "channel": "email",
        "message_class": "marketing",
        "purpose": UPDATES,
    }
    allowed = client.post("/v1/messages:check", json=check, headers=service_headers).json()
    assert allowed["allowed"] is True and allowed["purpose"] == UPDATES
    assert allowed["unsubscribe_url"] and allowed["list_unsubscribe_post"]
    # One click on the link in the message (RFC 8058).
    link = allowed["unsubscribe_url"]
    done = client.post(link[link.index("/v1/") :])
    assert done.status_code == 200, done.text
    blocked = client.post("/v1/messages:check", json=check, headers=service_headers).json()
    assert (blocked["allowed"], blocked["reason"]) == (False, "unsubscribed")
    # An objection to direct marketing blocks the purpose itself (GDPR Art. 21(2)-(3)).
    submit(client, service_headers, "purchase", purchase(BOB))
    assert decide(client, service_headers, BOB)["allowed"] is True
    objected = client.post(
        "/v1/objections",
        json={"brand": BRAND, "identities": {"email": BOB}},
        headers=service_headers,
    )
    assert objected.status_code == 200, objected.text
    assert decide(client, service_headers, BOB)["reason"] == "objected"


def test_a_soft_opt_in_purpose_cannot_be_given_as_a_consent(
    client: TestClient, service_headers: dict[str, str]
) -> None:
    body = {
        "brand": BRAND,
        "identities": {"email": ANN},
        "purpose": UPDATES,
        "action": "give",
        "notice": "Send me product news.",
    }
    response = client.post("/v1/consents", json=body, headers=service_headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "not_a_consent_purpose"
    # Nor can anyone write on the customer channel through the consents API.
    body = {**body, "purpose": "marketing_communications", "channel": CUSTOMER_CHANNEL}
    response = client.post("/v1/consents", json=body, headers=service_headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "soft_opt_in_by_collection_only"
    assert decide(client, service_headers)["reason"] == "unknown_subject"


def code_for(outbox: Path, request_id: str) -> str:
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        body = email.message_from_bytes(path.read_bytes()).get_payload(decode=True).decode()  # type: ignore[union-attr]
        found = re.search(r"^\s+(\d{6})$", body, re.M)
        if request_id in body and found:
            return found.group(1)
    raise AssertionError(f"no code for {request_id}")


def test_the_access_report_shows_the_soft_opt_in_apart_from_consents(
    client: TestClient, service_headers: dict[str, str], charter: Charter, settings: Settings
) -> None:
    submit(client, service_headers, "purchase", purchase(opt_outs=[UPDATES]))
    filed = client.post(
        "/v1/requests", json={"type": "access", "brand": BRAND, "identities": {"email": ANN}}
    )
    assert filed.status_code == 202, filed.text
    request_id = filed.json()["id"]
    verified = client.post(
        f"/v1/requests/{request_id}/verify",
        json={"code": code_for(settings.outbox_dir, request_id)},
    )
    assert verified.status_code == 200, verified.text
    charter.rights.run(request_id)
    answer = client.get(
        f"/v1/requests/{request_id}/package",
        headers={"Authorization": f"Bearer {verified.json()['access_token']}"},
    )
    assert answer.status_code == 200, answer.text
    with zipfile.ZipFile(io.BytesIO(answer.content)) as package:
        report = package.read("report.html").decode()
        data = json.loads(package.read("data.json"))
        names = package.namelist()
    assert data["charter"]["consents"] == []
    [relationship] = data["charter"]["soft_opt_in"]
    assert (relationship["brand"], relationship["purpose"], relationship["action"]) == (
        BRAND,
        UPDATES,
        "given",
    )
    assert "charter/soft_opt_in.csv" in names
    consents = report[report.index("<h3>Your consents</h3>") :]
    consents = consents[: consents.index("<h3>", 5)]
    assert "We have no record of a consent from you." in consents
    section = report[report.index("<h3>E-mails to you as our customer (soft opt-in)</h3>") :]
    section = section[: section.index("<h3>", 5)]
    assert "Product news for customers" in section and "not a consent" in section
    assert "the opt-out was offered" in section
    # The opt-out taken at collection shows as the objection it is.
    choices = report[report.index("<h3>Your choices</h3>") :]
    assert "Objections: Product news for customers." in choices


def test_a_relationship_lapses_after_the_manifest_term_and_a_new_sale_renews_it(
    settings: Settings,
) -> None:
    settings.manifest.write_text(yaml.safe_dump(example(lapses_after="P2Y"), sort_keys=False))
    initialise(settings)
    moment = [dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC)]
    with Charter.open(settings, clock=lambda: moment[0]) as charter:
        headers = {"Authorization": f"Bearer {charter.create_token('service').token}"}
        with TestClient(create_app(settings, charter=charter)) as client:
            submit(client, headers, "purchase", purchase())
            moment[0] = dt.datetime(2028, 1, 14, 12, tzinfo=dt.UTC)  # a day short of two years
            assert charter.retention.sweep().relationships_lapsed == 0
            assert decide(client, headers)["allowed"] is True
            moment[0] = dt.datetime(2028, 1, 15, 12, tzinfo=dt.UTC)
            assert charter.retention.sweep(dry_run=True).relationships_lapsed == 1
            assert decide(client, headers)["allowed"] is True  # a dry run changes nothing
            assert charter.retention.sweep().relationships_lapsed == 1
            assert decide(client, headers) == {
                "allowed": False,
                "basis": "soft_opt_in",
                "reason": "not_a_customer",
            }
            assert charter.retention.sweep().relationships_lapsed == 0  # once
            submit(client, headers, "purchase", purchase())
            assert decide(client, headers)["reason"] == "ok"
            with charter.store.read() as connection:
                actions = connection.execute(
                    select(consent_events.c.action, consent_events.c.method)
                    .where(consent_events.c.channel == CUSTOMER_CHANNEL)
                    .order_by(consent_events.c.id)
                ).all()
            assert [tuple(a) for a in actions] == [
                ("given", "soft_opt_in"),
                ("expired", "expiry"),
                ("given", "soft_opt_in"),
            ]


def test_it_is_counted_as_no_consent_and_has_no_consent_receipt(
    client: TestClient, service_headers: dict[str, str], charter: Charter, settings: Settings
) -> None:
    submit(client, service_headers, "purchase", purchase())
    # The dashboard's consent rates leave it out: nobody was asked for a consent.
    assert charter.dashboard.overview().consent_rates == []
    with charter.store.read() as connection:
        event_id = connection.execute(
            select(consent_events.c.id).where(consent_events.c.channel == CUSTOMER_CHANNEL)
        ).scalar_one()
    officer = {"Authorization": f"Bearer {charter.create_token('privacy_officer').token}"}
    response = client.get(f"/v1/consents/receipts/{event_id}", headers=officer)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_receipt"
    assert "not a consent" in response.json()["error"]["message"]
    # A request to withdraw every consent leaves the relationship alone (an objection ends
    # it): the request completes, withdrawing nothing.
    filed = client.post(
        "/v1/requests",
        json={"type": "withdraw_consent", "brand": BRAND, "identities": {"email": ANN}},
    )
    assert filed.status_code == 202, filed.text
    request_id = filed.json()["id"]
    verified = client.post(
        f"/v1/requests/{request_id}/verify",
        json={"code": code_for(settings.outbox_dir, request_id)},
    )
    assert verified.status_code == 200, verified.text
    assert charter.rights.run(request_id) == "completed"
    assert decide(client, service_headers)["allowed"] is True
