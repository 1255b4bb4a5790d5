"""Consents and decisions over HTTP, as a brand's systems call them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter

NOTICE = "Send me news and offers by email. You can unsubscribe at any time."


def two_consent_purposes(path: Path, news_version: int = 1) -> None:
    """The test manifest plus a second consent purpose, sms_offers; marketing_email at a version."""
    manifest = yaml.safe_load(path.read_text())
    manifest["purposes"]["marketing_email"]["notice_version"] = news_version
    manifest["purposes"]["sms_offers"] = {
        "name": "SMS offers",
        "description": "Offers by text message.",
        "data_use": "marketing.communications.sms",
        "legal_basis": "consent",
        "categories": ["user.contact.phone_number"],
        "direct_marketing": True,
        "notice": "Send me offers by SMS.",
    }
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))


@pytest.fixture
def api(settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    two_consent_purposes(settings.manifest)
    initialise(settings)
    with Charter.open(settings) as charter:
        headers = {"Authorization": f"Bearer {charter.create_token('service').token}"}
        with TestClient(create_app(settings, charter=charter)) as client:
            yield client, headers


def consent(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    payload = {"brand": "acme", "purpose": "marketing_email", "notice": NOTICE, **body}
    response = client.post("/v1/consents", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def reason(client: TestClient, headers: dict[str, str], **body: Any) -> str:
    payload = {"brand": "acme", "purpose": "marketing_email", **body}
    response = client.post("/v1/decisions", json=payload, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["reason"])


def test_give_withdraw_give_again_across_two_brands(api: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = api
    who = {"identities": {"email": "eve@example.org"}}
    assert reason(client, headers, **who) == "unknown_subject"
    given_ = consent(client, headers, action="give", **who)
    assert given_["action"] == "given"
    assert reason(client, headers, **who) == "ok"
    assert reason(client, headers, brand="zeta", **who) == "no_consent"
    consent(client, headers, action="withdraw", **who)
    assert reason(client, headers, **who) == "consent_withdrawn"
    consent(client, headers, action="give", subject_id=given_["subject_id"])
    assert reason(client, headers, subject_id=given_["subject_id"]) == "ok"
    consent(client, headers, brand="zeta", action="refuse", **who)
    assert reason(client, headers, brand="zeta", **who) == "no_consent"
    assert reason(client, headers, **who) == "ok"


def test_a_new_notice_version_asks_again_and_leaves_other_consents_valid(
    settings: Settings,
) -> None:
    two_consent_purposes(settings.manifest, news_version=1)
    initialise(settings)
    who = {"email": "fay@example.org"}
    with Charter.open(settings) as charter:
        from charter.services.consents import ConsentRequest

        for purpose, notice in (
            ("marketing_email", NOTICE),
            ("sms_offers", "Send me offers by SMS."),
        ):
            charter.record_consent(
                ConsentRequest(
                    brand="acme", purpose=purpose, action="give", notice=notice, identities=who
                )
            )
        assert charter.decide("marketing_email", brand="acme", identities=who).reason == "ok"
    two_consent_purposes(settings.manifest, news_version=2)
    with Charter.open(settings) as charter:
        assert (
            charter.decide("marketing_email", brand="acme", identities=who).reason
            == "consent_outdated"
        )
        assert charter.decide("sms_offers", brand="acme", identities=who).reason == "ok"
        charter.record_consent(
            ConsentRequest(
                brand="acme",
                purpose="marketing_email",
                action="give",
                notice=NOTICE + " v2",
                identities=who,
            )
        )
        assert charter.decide("marketing_email", brand="acme", identities=who).reason == "ok"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"purpose": "order_fulfilment", "action": "give"}, 422, "not_a_consent_purpose"),
        ({"purpose": "nope", "action": "give"}, 422, "unknown_purpose"),
        ({"brand": "nobrand", "action": "give"}, 422, "unknown_brand"),
        ({"action": "give", "notice": ""}, 422, "invalid_value"),
        ({"action": "maybe"}, 422, "invalid_request"),
        ({"action": "give", "method": "telepathy"}, 422, "invalid_value"),
        ({"action": "give", "subject_id": "s"}, 422, "invalid_request"),
        ({"action": "give", "identities": {"email": "not-mail"}}, 422, "invalid_value"),
        ({"action": "give", "identities": {"shoe": "42"}}, 422, "undeclared_field"),
        # PostgreSQL cannot store U+0000: these were 500s there (found by fuzzing).
        ({"action": "give", "notice": "I agree\x00"}, 422, "invalid_value"),
        ({"action": "give", "language": "en\x00"}, 422, "invalid_value"),
        ({"action": "give", "jurisdiction": "\x00"}, 422, "invalid_value"),
    ],
)
def test_bad_consents_are_refused_by_name(
    api: tuple[TestClient, dict[str, str]], body: dict[str, Any], status: int, code: str
) -> None:
    client, headers = api
    payload = {
        "brand": "acme",
        "purpose": "marketing_email",
        "notice": NOTICE,
        "identities": {"email": "gil@example.org"},
        **body,
    }
    response = client.post("/v1/consents", json=payload, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_decision_answers_reasons_over_http(api: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = api
    who = {"identities": {"email": "hal@example.org"}}
    consent(client, headers, action="give", **who)
    assert reason(client, headers, purpose="nope", **who) == "unknown_purpose"
    assert (
        reason(client, headers, categories=["user.financial.credit_card"], **who)
        == "category_not_allowed"
    )
    assert reason(client, headers, purpose="analytics", **who) == "ok"
    response = client.post(
        "/v1/decisions",
        json={"brand": "acme", "purpose": "analytics", "subject_id": "no-such-subject"},
        headers=headers,
    )
    assert response.json() == {
        "allowed": False,
        "basis": "legitimate_interest",
        "reason": "unknown_subject",
    }
    bad = client.post(
        "/v1/decisions", json={"brand": "nobrand", "purpose": "analytics", **who}, headers=headers
    )
    assert bad.status_code == 422
    auditor = {"Authorization": f"Bearer {client.app.state.charter.create_token('auditor').token}"}  # type: ignore[attr-defined]
    assert (
        client.post(
            "/v1/decisions", json={"brand": "acme", "purpose": "analytics", **who}, headers=auditor
        ).status_code
        == 403
    )


ACTIONS = st.sampled_from(["give", "withdraw", "refuse", None])


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(ACTIONS, ACTIONS), min_size=1, max_size=6))
def test_batch_answers_equal_single_answers(
    api: tuple[TestClient, dict[str, str]], histories: list[tuple[str | None, str | None]]
) -> None:
    client, headers = api
    subject_ids = []
    for first, second in histories:
        email = f"p-{uuid.uuid4().hex[:10]}@example.org"
        sid = None
        for action in (first, second):
            if action is not None:
                sid = consent(client, headers, action=action, identities={"email": email})[
                    "subject_id"
                ]
        subject_ids.append(sid or f"unknown-{uuid.uuid4().hex[:6]}")
    for purpose in ("marketing_email", "analytics", "sms_offers"):
        batch = client.post(
            "/v1/decisions:batch",
            json={"brand": "acme", "purpose": purpose, "subject_ids": subject_ids},
            headers=headers,
        ).json()["decisions"]
        singles = [
            client.post(
                "/v1/decisions",
                json={"brand": "acme", "purpose": purpose, "subject_id": sid},
                headers=headers,
            ).json()
            for sid in subject_ids
        ]
        assert [{k: v for k, v in item.items() if k != "subject_id"} for item in batch] == singles
        assert [item["subject_id"] for item in batch] == subject_ids


def test_a_batch_names_a_malformed_subject_id_and_answers_repeats(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = api
    sid = consent(client, headers, action="give", identities={"email": "rep@example.org"})[
        "subject_id"
    ]
    call = {"brand": "acme", "purpose": "marketing_email"}
    bad = client.post(
        "/v1/decisions:batch", json={**call, "subject_ids": [sid, 'x" or 1=1']}, headers=headers
    )
    assert bad.status_code == 422
    assert "subject_ids" in bad.text
    repeated = client.post(
        "/v1/decisions:batch", json={**call, "subject_ids": [sid, "nobody", sid]}, headers=headers
    )
    assert repeated.status_code == 200
    assert [(d["subject_id"], d["reason"]) for d in repeated.json()["decisions"]] == [
        (sid, "ok"),
        ("nobody", "unknown_subject"),
        (sid, "ok"),
    ]


def test_a_birth_date_under_the_child_age_keeps_nothing_without_a_parent(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = api

    def ticket(email: str, born: str) -> int:
        response = client.post(
            "/v1/touchpoints/support/submissions",
            json={"brand": "acme", "identities": {"email": email}, "data": {"date_of_birth": born}},
            headers=headers,
        )
        return response.status_code

    assert ticket("kid@example.org", "2015-06-01") == 422
    assert ticket("adult@example.org", "1990-06-01") == 201
    kid = reason(client, headers, purpose="support", identities={"email": "kid@example.org"})
    adult = reason(client, headers, purpose="support", identities={"email": "adult@example.org"})
    assert (kid, adult) == ("unknown_subject", "ok")


def test_recording_a_consent_answers_with_its_kantara_receipt(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = api
    answer = consent(
        client,
        headers,
        action="give",
        identities={"email": "jo@example.org"},
        language="de",
        jurisdiction="DE",
    )
    receipt = answer["receipt"]
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["piiPrincipalId"] == answer["subject_id"]
    assert "jo@example.org" not in str(receipt)
    assert receipt["services"][0]["purposes"][0]["purpose"]
    assert client.get(answer["receipt_url"]).json() == receipt
