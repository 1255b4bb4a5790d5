"""Collection over HTTP, as a brand's shop calls it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from charter.facade import Charter
from charter.storage.tables import metadata

PURCHASE = "/v1/touchpoints/purchase/submissions"
SIGNUP = "/v1/touchpoints/marketing_signup/submissions"
SUPPORT = "/v1/touchpoints/support/submissions"


def purchase(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "brand": "acme",
        "identities": {"email": "Ann.Example@Example.org", "account_id": "acct-1001"},
        "data": {
            "name": "Ann Example",
            "phone": "+49 30 901820",
            "shipping_address": {"line1": "1 Example Road", "city": "Berlin", "country": "de"},
            "payment_token": "tok_1PxExampleToken",
        },
        "consents": [{"purpose": "marketing_email", "notice": "Send me news and offers by email."}],
    }
    body.update(changes)
    return body


def row_counts(charter: Charter) -> dict[str, int]:
    with charter.store.read() as connection:
        return {
            name: connection.scalar(select(func.count()).select_from(table)) or 0
            for name, table in metadata.tables.items()
        }


def test_submission_is_stored_under_declared_purposes(
    client: TestClient, service_headers: dict[str, str], charter: Charter
) -> None:
    response = client.post(PURCHASE, json=purchase(), headers=service_headers)
    assert response.status_code == 201, response.text
    body = response.json()
    stored = {item["field"]: item for item in body["stored"]}
    assert stored["shipping_address"] == {
        "field": "shipping_address",
        "category": "user.contact.address",
        "purposes": ["order_fulfilment"],
    }
    assert stored["identities.email"]["purposes"] == ["order_fulfilment", "marketing_email"]
    assert body["consents"] == ["marketing_email"]
    with charter.store.read() as connection:
        from charter.storage.subjects import SubjectRepository

        repo = SubjectRepository(connection, charter.store.vault)
        values = {v["field"]: v["value"] for v in repo.values_of(body["subject_id"])}
        identities = dict(repo.identities_of(body["subject_id"]))
    assert values["phone"] == "+4930901820"
    assert values["shipping_address"]["country"] == "DE"
    assert identities == {"email": "ann.example@example.org", "account_id": "acct-1001"}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (purchase(data={"name": "Ann", "shipping_address": "x", "nickname": "A"}), "data.nickname"),
        (
            purchase(identities={"email": "a@example.org", "cookie_id": "abcdefgh12"}),
            "identities.cookie_id",
        ),
    ],
)
def test_undeclared_field_is_refused_by_name(
    client: TestClient,
    service_headers: dict[str, str],
    charter: Charter,
    body: dict[str, Any],
    named: str,
) -> None:
    before = row_counts(charter)
    response = client.post(PURCHASE, json=body, headers=service_headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "undeclared_field"
    assert named in error["message"]
    assert row_counts(charter) == before


@pytest.mark.parametrize(
    "body",
    [
        purchase(data={"name": "Ann", "shipping_address": "My card is 4111 1111 1111 1111, ok?"}),
        purchase(data={"name": "Ann", "shipping_address": "x", "card": "5500-0000-0000-0004"}),
        purchase(data={"name": "Ann", "shipping_address": "x", "payment_token": 4012888888881881}),
        purchase(consents=[{"purpose": "marketing_email", "notice": "ref 378282246310005"}]),
        {**purchase(), "extra": {"deep": ["6011111111111117"]}},
    ],
    ids=["free-text", "undeclared-key", "as-number", "in-notice", "unknown-top-level"],
)
def test_card_number_anywhere_refuses_the_whole_submission(
    client: TestClient, service_headers: dict[str, str], charter: Charter, body: dict[str, Any]
) -> None:
    before = row_counts(charter)
    response = client.post(PURCHASE, json=body, headers=service_headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "payment_card_data"
    assert "4111" not in response.text and "5500" not in response.text
    assert row_counts(charter) == before


def test_malformed_json_is_400(client: TestClient, service_headers: dict[str, str]) -> None:
    headers = {**service_headers, "Content-Type": "application/json"}
    response = client.post(PURCHASE, content=b'{"brand": "acme",', headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_oversized_body_is_413(
    client: TestClient, service_headers: dict[str, str], charter: Charter
) -> None:
    before = row_counts(charter)
    body = purchase(data={"name": "A" * 70_000, "shipping_address": "x"})
    response = client.post(PURCHASE, json=body, headers=service_headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Any:
        yield b'{"brand": "acme", "data": {"name": "'
        for _ in range(100):
            yield b"B" * 1024
        yield b'"}}'

    headers = {**service_headers, "Content-Type": "application/json"}
    response = client.post(PURCHASE, content=chunks(), headers=headers)
    assert response.status_code == 413
    assert row_counts(charter) == before


@pytest.mark.parametrize(
    ("url", "body", "status", "code"),
    [
        ("/v1/touchpoints/nope/submissions", purchase(), 404, "unknown_touchpoint"),
        (PURCHASE, purchase(brand="nobrand"), 422, "unknown_brand"),
        (
            SUPPORT,
            {"brand": "zeta", "identities": {"email": "a@example.org"}},
            422,
            "brand_not_offered",
        ),
        (PURCHASE, purchase(identities={}), 422, "identity_required"),
        (PURCHASE, purchase(identities={"email": "not-an-email"}), 422, "invalid_value"),
        (
            PURCHASE,
            purchase(data={"name": "Ann", "shipping_address": "x", "phone": "12"}),
            422,
            "invalid_value",
        ),
        (PURCHASE, purchase(data={"name": "Ann"}), 422, "missing_field"),
        (PURCHASE, purchase(data={"name": 7, "shipping_address": "x"}), 422, "invalid_value"),
        (
            SUPPORT,
            {
                "brand": "acme",
                "identities": {"email": "a@example.org"},
                "data": {"date_of_birth": "31/12/2001"},
            },
            422,
            "invalid_value",
        ),
        (
            SUPPORT,
            {
                "brand": "acme",
                "identities": {"email": "a@example.org"},
                "consents": [{"purpose": "marketing_email", "notice": "n"}],
            },
            422,
            "consent_not_offered",
        ),
        (
            PURCHASE,
            purchase(consents=[{"purpose": "marketing_email", "notice": "n"}] * 2),
            422,
            "duplicate_consent",
        ),
        (
            PURCHASE,
            # A notice PostgreSQL cannot store: a 500 there before (found by fuzzing).
            purchase(consents=[{"purpose": "marketing_email", "notice": "Send me news\x00"}]),
            422,
            "invalid_value",
        ),
        (PURCHASE, {"brand": "acme"}, 422, "invalid_request"),
        (PURCHASE, [1, 2], 422, "invalid_request"),
    ],
)
def test_bad_input_gets_a_named_4xx_and_stores_nothing(
    client: TestClient,
    service_headers: dict[str, str],
    charter: Charter,
    url: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    before = row_counts(charter)
    response = client.post(url, json=body, headers=service_headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert row_counts(charter) == before


def test_identities_link_across_touchpoints(
    client: TestClient, service_headers: dict[str, str]
) -> None:
    signup = client.post(
        SIGNUP,
        json={
            "brand": "zeta",
            "identities": {"email": "bo@example.org", "cookie_id": "ck-000000001"},
            "data": {"name": "Bo"},
        },
        headers=service_headers,
    ).json()
    ticket = client.post(
        SUPPORT,
        json={
            "brand": "acme",
            "identities": {"phone": "+1 401 555 0100", "device_serial": "ak-12 34"},
            "data": {"message": "My keyboard squeaks."},
        },
        headers=service_headers,
    ).json()
    assert ticket["subject_id"] != signup["subject_id"]
    # Same email in another case: the same person.
    order = client.post(
        PURCHASE,
        json=purchase(identities={"email": "BO@example.org", "account_id": "acct-7"}),
        headers=service_headers,
    ).json()
    assert order["subject_id"] == signup["subject_id"]
    # A ticket naming both the email and the phone links the two subjects into the older one.
    linked = client.post(
        SUPPORT,
        json={
            "brand": "acme",
            "identities": {
                "email": "bo@example.org",
                "phone": "(401) 555-0100",
                "device_serial": "AK-1234",
            },
        },
        headers=service_headers,
    ).json()
    assert linked["subject_id"] == signup["subject_id"]
    again = client.post(
        SUPPORT,
        json={"brand": "acme", "identities": {"device_serial": "ak1234"}},
        headers=service_headers,
    ).json()
    assert again["subject_id"] == signup["subject_id"]


def test_linked_subject_keeps_all_values_readable(
    client: TestClient, service_headers: dict[str, str], charter: Charter
) -> None:
    first = client.post(
        SUPPORT,
        json={"brand": "acme", "identities": {"phone": "+14015550101"}, "data": {"message": "one"}},
        headers=service_headers,
    ).json()
    second = client.post(
        SUPPORT,
        json={
            "brand": "acme",
            "identities": {"email": "cy@example.org"},
            "data": {"message": "two"},
        },
        headers=service_headers,
    ).json()
    both = client.post(
        SUPPORT,
        json={"brand": "acme", "identities": {"phone": "+14015550101", "email": "cy@example.org"}},
        headers=service_headers,
    ).json()
    assert both["subject_id"] == first["subject_id"] != second["subject_id"]
    with charter.store.read() as connection:
        from charter.storage.subjects import SubjectRepository

        repo = SubjectRepository(connection, charter.store.vault)
        assert repo.resolve(second["subject_id"]) == first["subject_id"]
        messages = sorted(v["value"] for v in repo.values_of(first["subject_id"]))
        kinds = sorted(kind for kind, _ in repo.identities_of(first["subject_id"]))
    assert messages == ["one", "two"]
    assert kinds == ["email", "phone"]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("service", 201),
        ("admin", 201),
        ("support", 403),
        ("auditor", 403),
        ("privacy_officer", 403),
    ],
)
def test_collection_needs_a_service_or_admin_token(
    client: TestClient, charter: Charter, role: str, status: int
) -> None:
    token = charter.create_token(role).token
    response = client.post(PURCHASE, json=purchase(), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status
    if status == 403:
        assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer chr_unknown_token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
    ],
)
def test_missing_or_unknown_token_is_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(PURCHASE, json=purchase(), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_revoked_token_is_refused(client: TestClient, charter: Charter) -> None:
    issued = charter.create_token("service")
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/v1/touchpoints", headers=headers).status_code == 200
    charter.revoke_token(issued.id)
    assert client.get("/v1/touchpoints", headers=headers).status_code == 401


def test_touchpoint_catalogue_lists_fields_and_consent_notices(
    client: TestClient, service_headers: dict[str, str]
) -> None:
    catalogue = {
        tp["key"]: tp for tp in client.get("/v1/touchpoints", headers=service_headers).json()
    }
    assert catalogue["support"]["brands"] == ["acme"]
    assert "Send me news" in catalogue["purchase"]["consent_purposes"]["marketing_email"]


def test_health_openapi_and_policy(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "policy_version": "2026.1"}
    spec = client.get("/openapi.json").json()
    assert "/v1/touchpoints/{touchpoint}/submissions" in spec["paths"]
    page = client.get("/policy")
    assert page.status_code == 200
    assert "Last Updated" in page.text and "15 January 2026" in page.text
    assert "Acme Audio" in client.get("/policy", params={"brand": "acme"}).text
    missing = client.get("/policy", params={"brand": "nobrand"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_brand"
    assert client.get("/nowhere").json()["error"]["code"] == "not_found"
