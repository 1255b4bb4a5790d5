"""Objections, restriction, unsubscribe links, message checks, GPC and receipts over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter
from charter.storage.tables import consent_events, preference_events

NOTICE = "Send me news and offers by email. You can unsubscribe at any time."
ADS_NOTICE = "Allow advertising cookies tailored to your interests."
BASE = "https://privacy.example.org"
Headers = dict[str, str]


def with_marketing_purposes(path: Path) -> None:
    """The test manifest plus targeted ads (consent), partner sharing and customer news
    (legitimate interest) and a legal-records purpose that restriction does not stop."""
    manifest = yaml.safe_load(path.read_text())
    manifest["purposes"].update(
        {
            "ads": {
                "name": "Personalised advertising",
                "description": "Ads tailored to your interests, here and elsewhere.",
                "data_use": "marketing.advertising.third_party.targeted",
                "legal_basis": "consent",
                "direct_marketing": True,
                "categories": ["user.device.cookie_id"],
                "notice": ADS_NOTICE,
            },
            "partner_sharing": {
                "name": "Partner offers",
                "description": "Share your email with partner brands.",
                "data_use": "third_party_sharing",
                "legal_basis": "legitimate_interest",
                "legitimate_interest": "Joint offers with partners.",
                "categories": ["user.contact.email"],
            },
            "customer_news": {
                "name": "Product news for customers",
                "description": "Soft opt-in emails about similar products.",
                "data_use": "marketing.communications.email",
                "legal_basis": "legitimate_interest",
                "legitimate_interest": "Telling customers about similar products.",
                "direct_marketing": True,
                "categories": ["user.contact.email"],
            },
            "legal_records": {
                "name": "Legal obligations",
                "description": "Keep records the law requires.",
                "data_use": "essential.legal_obligation",
                "legal_basis": "legal_obligation",
                "categories": ["user.contact", "user.name"],
            },
        }
    )
    manifest["touchpoints"]["marketing_signup"]["consent_purposes"].append("ads")
    manifest["touchpoints"]["marketing_signup"]["purposes"].append("ads")
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))


class Api:
    def __init__(self, client: TestClient, charter: Charter) -> None:
        self.client = client
        self.charter = charter
        self.service = self.bearer("service")
        self.officer = self.bearer("privacy_officer")

    def bearer(self, role: str) -> Headers:
        return {"Authorization": f"Bearer {self.charter.create_token(role).token}"}

    def post(self, path: str, body: dict[str, Any], headers: Headers | None = None) -> Any:
        return self.client.post(path, json=body, headers=headers or self.service)

    def consent(self, email: str, purpose: str = "marketing_email", **body: Any) -> Any:
        notice = ADS_NOTICE if purpose == "ads" else NOTICE
        payload = {"brand": "acme", "purpose": purpose, "action": "give", "notice": notice}
        response = self.post("/v1/consents", {**payload, "identities": {"email": email}, **body})
        assert response.status_code == 201, response.text
        return response.json()

    def decide(self, email: str, purpose: str, **body: Any) -> str:
        payload = {"brand": "acme", "purpose": purpose, "identities": {"email": email}, **body}
        response = self.post("/v1/decisions", payload)
        assert response.status_code == 200, response.text
        return str(response.json()["reason"])

    def check(self, email: str, message_class: str = "marketing", **body: Any) -> Any:
        payload = {
            "brand": "acme",
            "channel": "email",
            "message_class": message_class,
            "identities": {"email": email},
            **body,
        }
        response = self.post("/v1/messages:check", payload)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with_marketing_purposes(settings.manifest)
    settings = settings.model_copy(update={"public_base_url": BASE + "/"})
    initialise(settings)
    with (
        Charter.open(settings) as charter,
        TestClient(create_app(settings, charter=charter)) as client,
    ):
        yield Api(client, charter)


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def local(url: str) -> str:
    assert url.startswith(BASE + "/")
    return url.removeprefix(BASE)


# -- objections and restriction -----------------------------------------------------------


def test_objection_to_a_purpose_answers_objected_until_withdrawn(api: Api) -> None:
    who = {"identities": {"email": "olga@example.org"}}
    api.consent("olga@example.org")
    assert api.decide("olga@example.org", "partner_sharing") == "ok"
    response = api.post("/v1/objections", {**who, "purpose": "partner_sharing", "brand": "acme"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["changed"] is True
    assert body["objections"] == ["partner_sharing"]
    assert body["direct_marketing"] is False
    assert api.decide("olga@example.org", "partner_sharing") == "objected"
    assert api.decide("olga@example.org", "marketing_email") == "ok"
    again = api.post("/v1/objections", {**who, "purpose": "partner_sharing"}).json()
    assert again["changed"] is False
    withdrawn = api.post(
        "/v1/objections", {**who, "purpose": "partner_sharing", "action": "withdraw"}
    )
    assert withdrawn.json()["objections"] == []
    assert api.decide("olga@example.org", "partner_sharing") == "ok"
    with api.charter.store.read() as connection:
        kinds = connection.scalars(
            select(preference_events.c.kind).order_by(preference_events.c.id)
        ).all()
    assert kinds == ["objection", "objection_withdrawn"]


def test_objection_to_direct_marketing_blocks_every_marketing_purpose(api: Api) -> None:
    email = "otto@example.org"
    api.consent(email)
    api.consent(email, purpose="ads")
    for purpose in ("marketing_email", "ads", "customer_news"):
        assert api.decide(email, purpose) == "ok"
    response = api.post("/v1/objections", {"identities": {"email": email}})
    assert response.json()["direct_marketing"] is True
    for purpose in ("marketing_email", "ads", "customer_news"):
        assert api.decide(email, purpose) == "objected"
    assert api.decide(email, "partner_sharing") == "ok"  # not marketing
    assert api.check(email) == {
        "allowed": False,
        "reason": "objected",
        "purpose": "marketing_email",
    }
    assert api.check(email, "order")["allowed"] is True


@pytest.mark.parametrize(
    ("purpose", "code"),
    [("order_fulfilment", "not_objectable"), ("nope", "unknown_purpose")],
)
def test_only_objectable_purposes_can_be_objected_to(api: Api, purpose: str, code: str) -> None:
    response = api.post(
        "/v1/objections", {"identities": {"email": "ola@example.org"}, "purpose": purpose}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


def test_restriction_blocks_every_use_except_the_exempt_ones(api: Api) -> None:
    email = "rita@example.org"
    who = {"identities": {"email": email}}
    api.consent(email)
    officer = api.officer
    response = api.post("/v1/restrictions", {**who, "action": "restrict"}, officer)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "subject_id": response.json()["subject_id"],
        "changed": True,
        "restricted": True,
    }
    for purpose in ("marketing_email", "analytics", "order_fulfilment"):
        assert api.decide(email, purpose) == "restricted"
    assert api.decide(email, "legal_records") == "ok"
    lifted = api.post("/v1/restrictions", {**who, "action": "lift"}, officer).json()
    assert lifted["restricted"] is False
    assert api.decide(email, "marketing_email") == "ok"


def test_who_may_object_and_restrict(api: Api) -> None:
    who = {"identities": {"email": "role@example.org"}}
    # A service may record an objection (an app's "no personalised ads" switch) ...
    assert api.post("/v1/objections", {**who, "purpose": "analytics"}).status_code == 200
    # ... but restriction follows a rights request: the privacy team only.
    assert api.post("/v1/restrictions", who).status_code == 403
    assert api.post("/v1/objections", who, api.bearer("support")).status_code == 403
    assert api.post("/v1/messages:check", {}, api.bearer("auditor")).status_code == 403
    assert api.client.post("/v1/objections", json=who).status_code == 401


# -- unsubscribe and message checks --------------------------------------------------------


def test_marketing_check_returns_the_list_unsubscribe_headers(api: Api) -> None:
    email = "mia@example.org"
    assert api.check(email) == {
        "allowed": False,
        "reason": "unknown_subject",
        "purpose": "marketing_email",
    }
    subject = api.consent(email)["subject_id"]
    check = api.check(email)
    assert check["allowed"] is True
    assert check["reason"] == "ok"
    assert check["purpose"] == "marketing_email"
    url = check["unsubscribe_url"]
    assert url.startswith(BASE + "/v1/unsubscribe?token=")
    assert check["list_unsubscribe"] == f"<{url}>"
    assert check["list_unsubscribe_post"] == "List-Unsubscribe=One-Click"
    assert email not in url and subject in api.charter.store.vault.verify(
        "unsubscribe", token_of(url)
    )
    # Non-marketing messages carry no unsubscribe header.
    assert api.check(email, "security") == {"allowed": True, "reason": "not_marketing"}


def test_unsubscribe_link_page_and_one_click_post(api: Api) -> None:
    email = "una@example.org"
    api.consent(email)
    url = local(api.check(email)["unsubscribe_url"])
    page = api.client.get(url)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in page.text
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert "<script" not in page.text
    assert '<form method="post">' in page.text  # posts back to this URL, token included
    assert "Acme Audio" in page.text
    assert api.check(email)["allowed"] is True  # showing the page changes nothing
    for _ in range(2):  # a genuine link works twice without error
        done = api.client.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert done.status_code == 200, done.text
        assert done.json() == {"unsubscribed": True, "brand": "acme", "channel": "email"}
    assert api.check(email) == {
        "allowed": False,
        "reason": "unsubscribed",
        "purpose": "marketing_email",
    }
    # Unsubscribing is per brand: zeta may still send (under customer_news, soft opt-in).
    assert api.check(email, brand="zeta")["allowed"] is True
    for message_class in (
        "service",
        "order",
        "security",
        "legal",
        "policy_change",
        "breach_notice",
    ):
        assert api.check(email, message_class) == {"allowed": True, "reason": "not_marketing"}
    with api.charter.store.read() as connection:
        rows = connection.execute(select(preference_events)).all()
    assert [(r.kind, r.method, r.brand, r.channel) for r in rows] == [
        ("unsubscribe", "email_link", "acme", "email")
    ]
    # The browser form gets a page back, not JSON.
    html = api.client.post(
        url, data={"List-Unsubscribe": "One-Click"}, headers={"Accept": "text/html"}
    )
    assert html.status_code == 200
    assert "You are unsubscribed" in html.text


def test_an_unsubscribe_click_from_a_browser_sending_gpc_records_the_opt_out(api: Api) -> None:
    email = "ulla@example.org"
    api.consent(email)
    api.consent(email, purpose="ads")
    url = local(api.check(email)["unsubscribe_url"])
    for _ in range(2):  # the signal on every request: recorded once
        done = api.client.post(
            url,
            data={"List-Unsubscribe": "One-Click"},
            headers={"Accept": "text/html", "Sec-GPC": "1"},
        )
        assert done.status_code == 200, done.text
    assert gpc_events(api.charter) == [("acme", "ads", "any", "withdrawn")]
    assert api.decide(email, "ads") == "consent_withdrawn"
    with api.charter.store.read() as connection:
        rows = connection.execute(select(preference_events)).all()
    assert sorted((r.kind, r.method) for r in rows) == [
        ("objection", "gpc"),
        ("sale_opt_out", "gpc"),
        ("unsubscribe", "email_link"),
    ]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_tampered_or_missing_unsubscribe_token_is_403(api: Api, method: str) -> None:
    api.consent("tom@example.org")
    token = token_of(api.check("tom@example.org")["unsubscribe_url"])
    payload, signature = token.split(".")
    forged = api.charter.store.vault.sign("consent-receipt", "x").split(".")[0]
    for bad in (
        payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature,
        payload + "." + signature[::-1],
        forged + "." + signature,
        "",
        "not-a-token",
        "x" * 5000,
    ):
        response = api.client.request(method, "/v1/unsubscribe", params={"token": bad})
        assert response.status_code == 403, (bad, response.text)
        assert response.json()["error"]["code"] == "invalid_token"
    assert api.client.request(method, "/v1/unsubscribe").status_code == 403
    assert api.check("tom@example.org")["allowed"] is True


def test_staff_unsubscribe_and_resubscribe_by_channel(api: Api) -> None:
    email = "sam@example.org"
    api.consent(email)
    body = {"identities": {"email": email}, "brand": "acme", "channel": "email"}
    off = api.post("/v1/subscriptions", {**body, "action": "unsubscribe"}).json()
    assert (off["subscribed"], off["changed"]) == (False, True)
    assert api.check(email)["reason"] == "unsubscribed"
    on = api.post("/v1/subscriptions", {**body, "action": "subscribe"}).json()
    assert (on["subscribed"], on["changed"]) == (True, True)
    assert api.check(email)["allowed"] is True


def test_message_check_picks_a_marketing_purpose_for_the_channel(api: Api) -> None:
    email = "pia@example.org"
    api.consent(email)
    api.post(
        "/v1/consents",
        {
            "brand": "acme",
            "purpose": "marketing_email",
            "action": "withdraw",
            "identities": {"email": email},
        },
    )
    # marketing_email is withdrawn; customer_news (soft opt-in, legitimate interest) still
    # lets a marketing email go, unless the sender names its purpose.
    assert api.check(email)["purpose"] == "customer_news"
    named = api.check(email, purpose="marketing_email")
    assert (named["allowed"], named["reason"]) == (False, "consent_withdrawn")
    # No purpose in the test manifest may send marketing by post.
    assert api.check(email, channel="post") == {"allowed": False, "reason": "no_marketing_purpose"}


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"message_class": "spam"}, "invalid_request"),
        ({"channel": "pigeon"}, "invalid_request"),
        ({"brand": "nobrand"}, "unknown_brand"),
        ({"purpose": "analytics"}, "not_marketing_purpose"),
        ({"purpose": "nope"}, "unknown_purpose"),
        ({"identities": {"email": "not-mail"}}, "invalid_value"),
        ({"identities": None}, "invalid_request"),
    ],
)
def test_bad_message_checks_are_4xx(api: Api, changes: dict[str, Any], code: str) -> None:
    payload = {
        "brand": "acme",
        "channel": "email",
        "message_class": "marketing",
        "identities": {"email": "bad@example.org"},
        **changes,
    }
    response = api.post("/v1/messages:check", payload)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


# -- Global Privacy Control ----------------------------------------------------------------


def gpc_events(charter: Charter) -> list[tuple[str, str, str, str]]:
    with charter.store.read() as connection:
        rows = connection.execute(
            select(consent_events).where(consent_events.c.method == "gpc")
        ).all()
    return [(r.brand, r.purpose, r.channel, r.action) for r in rows]


def test_gpc_on_a_submission_opts_out_of_sale_and_targeted_ads(api: Api) -> None:
    email = "gina@example.org"
    api.consent(email, purpose="ads")
    assert api.decide(email, "ads") == "ok"
    body = {
        "brand": "acme",
        "identities": {"email": email},
        "data": {"name": "Gina"},
        "consents": [{"purpose": "marketing_email", "notice": NOTICE}],
    }
    for _ in range(2):  # the browser sends the signal on every request
        response = api.client.post(
            "/v1/touchpoints/marketing_signup/submissions",
            json=body,
            headers={**api.service, "Sec-GPC": "1"},
        )
        assert response.status_code == 201, response.text
    # The consent stood: the signal withdraws it (one event, however often it is sent).
    assert gpc_events(api.charter) == [("acme", "ads", "any", "withdrawn")]
    assert api.decide(email, "ads") == "consent_withdrawn"
    assert api.decide(email, "partner_sharing") == "objected"
    assert api.decide(email, "marketing_email") == "ok"  # not sale or sharing
    with api.charter.store.read() as connection:
        rows = connection.execute(select(preference_events)).all()
    assert sorted((r.kind, r.method, r.purpose) for r in rows) == [
        ("objection", "gpc", "partner_sharing"),
        ("sale_opt_out", "gpc", None),
    ]
    subject = response.json()["subject_id"]
    _, record = api.charter.decisions.record_of(subject_id=subject)
    assert record is not None and record.sale_opt_out


def test_gpc_on_a_consent_call_and_without_the_signal(api: Api) -> None:
    api.consent("no-gpc@example.org", purpose="ads")
    assert gpc_events(api.charter) == []
    response = api.client.post(
        "/v1/consents",
        json={
            "brand": "zeta",
            "purpose": "ads",
            "action": "give",
            "notice": ADS_NOTICE,
            "identities": {"email": "gpc@example.org"},
        },
        headers={**api.service, "Sec-GPC": "1"},
    )
    assert response.status_code == 201, response.text
    # Given in a request that carries the signal: withdrawn again by the signal at once.
    assert gpc_events(api.charter) == [("zeta", "ads", "any", "withdrawn")]
    assert api.decide("gpc@example.org", "ads", brand="zeta") == "consent_withdrawn"


def test_gpc_well_known_resource(api: Api) -> None:
    response = api.client.get("/.well-known/gpc.json")
    assert response.status_code == 200
    assert response.json() == {"gpc": True, "lastUpdate": "2026-01-15"}


# -- consent receipts ----------------------------------------------------------------------


def test_consent_receipt_by_signed_link(api: Api) -> None:
    given = api.consent(
        "rick@example.org", channel="email", language="de", jurisdiction="DE", method="banner"
    )
    url = given["receipt_url"]
    assert url.startswith(f"{BASE}/v1/consents/receipts/{given['event_id']}?token=")
    response = api.client.get(local(url))
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["jurisdiction"] == "DE"
    assert receipt["language"] == "de"
    assert isinstance(receipt["consentTimestamp"], int)
    assert receipt["piiPrincipalId"] == given["subject_id"]
    assert "rick@example.org" not in response.text
    assert receipt["piiControllers"][0]["piiController"] == "Example Group, Inc."
    assert receipt["piiControllers"][0]["email"] == "privacy@example.org"
    assert receipt["policyUrl"] == f"{BASE}/policy?brand=acme"
    service = receipt["services"][0]
    assert service["service"] == "Acme Audio"
    purpose = service["purposes"][0]
    assert purpose["consentType"] == "EXPLICIT"
    assert purpose["piiCategory"] == ["user.contact.email", "user.name"]
    assert purpose["purposeCategory"] == ["marketing.communications.email"]
    assert purpose["thirdPartyDisclosure"] is False
    assert receipt["sensitive"] is False and receipt["spiCat"] == []
    assert receipt["charter"]["notice"] == NOTICE
    assert receipt["charter"]["action"] == "given"
    for key in ("collectionMethod", "consentReceiptID", "termination"):
        assert key in receipt or key in purpose
    assert api.client.get(local(url)).json() == receipt  # stable


def test_consent_receipt_refuses_a_wrong_token_and_admits_staff(api: Api) -> None:
    first = api.consent("rose@example.org")
    second = api.consent("rose@example.org", action="withdraw")
    path = f"/v1/consents/receipts/{first['event_id']}"
    wrong = token_of(second["receipt_url"])  # genuine, for another event
    for params in ({"token": wrong}, {"token": "tampered.token"}, {}):
        response = api.client.get(path, params=params)
        assert response.status_code in (401, 403), response.text
        assert response.status_code == 403 or not params
    assert api.client.get(path, params={"token": wrong}).json()["error"]["code"] == "invalid_token"
    staff = api.client.get(path, headers=api.bearer("support"))
    assert staff.status_code == 200
    assert staff.json()["charter"]["action"] == "given"
    # A wrong link token is refused even alongside a staff token.
    assert api.client.get(path, params={"token": wrong}, headers=api.officer).status_code == 403
    assert api.client.get("/v1/consents/receipts/999999", headers=api.officer).status_code == 404
    assert api.client.get("/v1/consents/receipts/abc", headers=api.officer).status_code == 422
    assert (
        api.client.get("/v1/consents/receipts/99999999999999", headers=api.officer).status_code
        == 422
    )


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/v1/objections", {"subject_id": "no-such-subject"}, "unknown_subject"),
        ("/v1/objections", {"identities": {}}, "identity_required"),
        ("/v1/objections", {"identities": {"shoe": "42"}}, "undeclared_field"),
        (
            "/v1/objections",
            {"subject_id": "s", "identities": {"email": "a@example.org"}},
            "invalid_request",
        ),
        ("/v1/objections", {"subject_id": "s", "action": "maybe"}, "invalid_request"),
        ("/v1/objections", {"subject_id": "s", "brand": "nobrand"}, "unknown_brand"),
        ("/v1/restrictions", {"subject_id": "s", "purpose": "analytics"}, "invalid_request"),
        ("/v1/restrictions", {"subject_id": "no-such-subject"}, "unknown_subject"),
        (
            "/v1/subscriptions",
            {"subject_id": "s", "brand": "acme", "channel": "fax", "action": "subscribe"},
            "invalid_request",
        ),
        (
            "/v1/subscriptions",
            {"subject_id": "s", "brand": "nobrand", "channel": "sms", "action": "subscribe"},
            "unknown_brand",
        ),
        (
            "/v1/subscriptions",
            {"subject_id": "s", "brand": "acme", "channel": "sms"},
            "invalid_request",
        ),
    ],
)
def test_bad_preference_calls_are_422(api: Api, path: str, body: dict[str, Any], code: str) -> None:
    response = api.post(path, body, api.officer)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


def test_an_unsubscribe_link_of_an_unknown_subject_is_a_quiet_no_op(api: Api) -> None:
    token = api.charter.preferences.unsubscribe_token("gone-subject", "acme", "email")
    response = api.client.post("/v1/unsubscribe", params={"token": token})
    assert response.status_code == 200
    with api.charter.store.read() as connection:
        assert connection.execute(select(preference_events)).all() == []
