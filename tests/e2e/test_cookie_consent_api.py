"""The cookie banner's API as the banner script (and a brand's sign-in) call it: the banner's
content per brand and language, each choice recorded in the consent ledger against the cookie
id, GPC, the TC string of a TCF brand, linking at sign-in, and bad input refused whole."""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.domain.tcf import decode
from charter.facade import Charter
from charter.storage.ledger import Ledger
from charter.storage.tables import consent_events, preference_events

SIX_MONTHS = range(181 * 86400, 185 * 86400)
THIRTEEN_MONTHS = range(393 * 86400, 397 * 86400)


def with_advertising_and_tcf(settings: Settings) -> None:
    """The test manifest plus an advertising category (sale or sharing: GPC turns it off) and
    brand acme in the IAB TCF."""
    manifest = yaml.safe_load(settings.manifest.read_text())
    manifest["purposes"]["ads"] = {
        "name": "Personalised ads",
        "description": "Ads tailored to your interests, here and elsewhere.",
        "data_use": "marketing.advertising.third_party.targeted",
        "legal_basis": "consent",
        "minors": "excluded",
        "categories": ["user.device.cookie_id"],
        "notice": "Allow advertising cookies.",
    }
    manifest["cookies"]["advertising"] = {
        "name": "Advertising",
        "description": "Ads that match your interests.",
        "purpose": "ads",
        "tcf_purposes": [1, 2, 3, 4],
        "cookies": [
            {
                "name": "ad_id",
                "vendor": "Ads Inc",
                "duration": "P13M",
                "description": "Recognises your browser.",
                "first_party": False,
            }
        ],
    }
    manifest["cookies"]["analytics"]["tcf_purposes"] = [1, 8]
    manifest["cookies"]["analytics"]["translations"] = {
        "de": {"name": "Statistik", "description": "Zählt Besuche."}
    }
    manifest["brands"]["acme"]["tcf"] = {
        "cmp_id": 300,
        "vendor_list_version": 77,
        "publisher_country": "DE",
        "vendors": [
            {
                "id": 11,
                "name": "Ads Inc",
                "category": "advertising",
                "purposes": [1, 2, 3, 4],
                "legitimate_interests": [2],
            },
            {"id": 42, "name": "Counter Ltd", "category": "analytics", "purposes": [1, 8]},
        ],
    }
    settings.manifest.write_text(yaml.safe_dump(manifest, sort_keys=False))


@pytest.fixture
def api(settings: Settings) -> Iterator[tuple[TestClient, Charter]]:
    with_advertising_and_tcf(settings)
    initialise(settings)
    with (
        Charter.open(settings) as charter,
        TestClient(create_app(settings, charter=charter)) as client,
    ):
        yield client, charter


def banner(client: TestClient, brand: str = "zeta", **headers: str) -> dict[str, Any]:
    response = client.get(f"/v1/cookie-banner/{brand}", headers=headers)
    assert response.status_code == 200, response.text
    config: dict[str, Any] = response.json()
    return config


def choose(
    client: TestClient,
    method: str,
    brand: str = "zeta",
    headers: dict[str, str] | None = None,
    **body: Any,
) -> Any:
    config = banner(client, brand)
    payload = {
        "brand": brand,
        "method": method,
        "language": config["language"],
        "config_version": config["config_version"],
        "text_version": config["text_version"],
        **body,
    }
    return client.post("/v1/cookie-consent", json=payload, headers=headers or {})


def events(charter: Charter) -> list[Any]:
    with charter.store.read() as connection:
        return list(connection.execute(select(consent_events).order_by(consent_events.c.id)))


def test_the_banner_shows_the_manifest_in_the_visitors_language(
    api: tuple[TestClient, Charter],
) -> None:
    client, _ = api
    config = banner(client, "zeta", **{"Accept-Language": "de-CH, fr;q=0.8"})
    assert config["language"] == "de"
    assert config["strings"]["accept_all"] == "Alle akzeptieren"
    categories = {c["key"]: c for c in config["categories"]}
    assert list(categories) == ["strictly_necessary", "analytics", "advertising"]
    assert categories["strictly_necessary"]["required"] is True
    assert categories["analytics"]["name"] == "Statistik"  # the manifest's translation
    assert categories["advertising"]["name"] == "Advertising"  # none: the manifest's own
    assert categories["analytics"]["cookies"][0]["duration"] == "13 Monate"
    assert categories["advertising"]["sale_or_sharing"] is True
    assert config["tcf"] is None and config["gpc"] is False
    assert banner(client, "zeta")["language"] == "en"  # no wish: the brand's default
    assert client.get("/v1/cookie-banner/zeta?lang=ja").json()["strings"]["accept_all"]
    assert banner(client, "zeta", **{"Sec-GPC": "1"})["gpc"] is True
    assert banner(client, "acme")["tcf"]["vendor_list_version"] == 77
    missing = client.get("/v1/cookie-banner/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_brand"


def test_each_choice_is_recorded_against_the_cookie_id(api: tuple[TestClient, Charter]) -> None:
    client, charter = api
    accepted = choose(client, "accept_all")
    assert accepted.status_code == 201, accepted.text
    answer = accepted.json()
    cookie_id = answer["cookie_id"]
    assert answer["choices"] == {"analytics": True, "advertising": True}
    assert answer["cookie"]["name"] == "charter_consent"
    assert answer["cookie"]["value"].startswith(f"1~{cookie_id}~")
    assert answer["cookie"]["value"].split("~")[3] == "analytics+advertising"
    assert answer["cookie"]["max_age"] in THIRTEEN_MONTHS
    rows = events(charter)
    assert [(r.purpose, r.action, r.method, r.channel) for r in rows] == [
        ("site_analytics", "given", "banner", "any"),
        ("ads", "given", "banner", "any"),
    ]
    config = banner(client)
    assert {(r.language, r.text_version, r.policy_version, r.brand) for r in rows} == {
        ("en", config["text_version"], charter.manifest.policy.version, "zeta")
    }
    assert len({r.subject_id for r in rows}) == 1
    receipt = client.get(answer["receipts"]["analytics"])
    assert receipt.status_code == 200

    decide = {"brand": "zeta", "identities": {"cookie_id": cookie_id}, "purpose": "site_analytics"}
    service = {"Authorization": f"Bearer {charter.create_token('service').token}"}
    assert client.post("/v1/decisions", json=decide, headers=service).json()["allowed"] is True

    # Changing one's mind later is recorded against the same cookie id, for the same person.
    refused = choose(client, "customize", choices={"advertising": True}, cookie_id=cookie_id)
    assert refused.status_code == 201, refused.text
    assert refused.json()["cookie"]["max_age"] in SIX_MONTHS
    later = events(charter)[2:]
    # switching off what was given is a withdrawal (Art. 7(3))
    assert [(r.purpose, r.action) for r in later] == [
        ("site_analytics", "withdrawn"),
        ("ads", "given"),
    ]
    assert {r.subject_id for r in later} == {rows[0].subject_id}
    answer = client.post("/v1/decisions", json=decide, headers=service).json()
    assert (answer["allowed"], answer["reason"]) == (False, "consent_withdrawn")
    # refusing again what is already off stays a refusal
    again = choose(client, "reject_all", cookie_id=cookie_id)
    assert [(r.purpose, r.action) for r in events(charter)[4:]] == [
        ("site_analytics", "refused"),
        ("ads", "withdrawn"),
    ]
    assert again.status_code == 201


def test_closing_the_banner_refuses_everything(api: tuple[TestClient, Charter]) -> None:
    client, charter = api
    closed = choose(client, "close", choices={"analytics": True})
    assert closed.status_code == 201
    assert closed.json()["choices"] == {"analytics": False, "advertising": False}
    assert closed.json()["cookie"]["value"].split("~")[3] == ""
    assert {r.action for r in events(charter)} == {"refused"}


def test_gpc_turns_sale_and_sharing_off_and_is_recorded_as_gpc(
    api: tuple[TestClient, Charter],
) -> None:
    client, charter = api
    answer = choose(client, "accept_all", headers={"Sec-GPC": "1"})
    assert answer.status_code == 201
    assert answer.json()["choices"] == {"analytics": True, "advertising": False}
    assert answer.json()["gpc_honoured"] is True
    by_purpose = {r.purpose: r for r in events(charter)}
    assert (by_purpose["ads"].action, by_purpose["ads"].method) == ("refused", "gpc")
    assert (by_purpose["site_analytics"].action, by_purpose["site_analytics"].method) == (
        "given",
        "banner",
    )
    with charter.store.read() as connection:
        state = Ledger(connection).load(by_purpose["ads"].subject_id)
    assert state.sale_opt_out is True
    # the script may report navigator.globalPrivacyControl in the body instead of the header
    body_signal = choose(client, "accept_all", gpc=True)
    assert body_signal.json()["choices"]["advertising"] is False


def test_a_tcf_brand_gets_a_tc_string_that_an_independent_decoder_reads(
    api: tuple[TestClient, Charter],
) -> None:
    import iab_tcf

    client, _ = api
    answer = choose(client, "customize", brand="acme", choices={"analytics": True})
    tc_string = answer.json()["tc_string"]
    ours = decode(tc_string)
    assert ours.purpose_consents == {1, 8}
    assert ours.vendor_consents == {42}
    assert ours.vendor_legitimate_interests == frozenset()
    assert (ours.cmp_id, ours.vendor_list_version, ours.consent_screen) == (300, 77, 2)
    assert ours.disclosed_vendors == {11, 42}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # its utcfromtimestamp
        theirs = iab_tcf.decode(tc_string)
    assert {p for p, given in theirs.purposes_consent.items() if given} == {1, 8}
    assert theirs.is_vendor_allowed(42) and not theirs.is_vendor_allowed(11)
    assert (theirs.cmp_id, theirs.vendor_list_version, theirs.publisher_cc) == (300, 77, b"DE")
    assert choose(client, "accept_all").json()["tc_string"] is None  # zeta is not in the TCF


def test_a_stale_banner_is_refused_and_nothing_is_written(api: tuple[TestClient, Charter]) -> None:
    client, charter = api
    for stale in ({"config_version": "0" * 16}, {"text_version": "0" * 16}):
        answer = choose(client, "accept_all", **stale)
        assert answer.status_code == 409
        assert answer.json()["error"]["code"] == "banner_changed"
    assert events(charter) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"method": "accept_some"}, "invalid_request"),
        ({"method": "customize"}, "choices_required"),
        (
            {"method": "customize", "choices": {"strictly_necessary": False}},
            "unknown_cookie_category",
        ),
        (
            {"method": "customize", "choices": {"analytics": True, "tracking": True}},
            "unknown_cookie_category",
        ),
        ({"method": "accept_all", "cookie_id": "short"}, "invalid_value"),
        ({"method": "accept_all", "cookie_id": "has spaces and ;semicolons"}, "invalid_value"),
        ({"method": "accept_all", "language": "xx"}, "invalid_value"),
        ({"method": "accept_all", "brand": "nowhere"}, "unknown_brand"),
        ({"method": "accept_all", "extra": 1}, "invalid_request"),
        # the signal alone corrects a stored choice: it needs the signal, the choice, its id
        (
            {"method": "gpc", "choices": {"analytics": True}, "cookie_id": "c" * 22},
            "gpc_not_signalled",
        ),
        ({"method": "gpc", "choices": {"analytics": True}, "gpc": True}, "cookie_id_required"),
        ({"method": "gpc", "cookie_id": "c" * 22, "gpc": True}, "choices_required"),
        (
            {
                "method": "gpc",
                "choices": {},
                "cookie_id": "c" * 22,
                "gpc": True,
                "stored_expires": 1,
            },
            "invalid_value",
        ),
    ],
)
def test_bad_choices_are_refused_by_name_and_write_nothing(
    api: tuple[TestClient, Charter], body: dict[str, Any], code: str
) -> None:
    client, charter = api
    config = banner(client)
    payload = {
        "brand": "zeta",
        "language": "en",
        "config_version": config["config_version"],
        "text_version": config["text_version"],
        **body,
    }
    answer = client.post("/v1/cookie-consent", json=payload)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code
    assert events(charter) == []


def test_signing_in_links_the_cookie_id_to_the_person(api: tuple[TestClient, Charter]) -> None:
    client, charter = api
    cookie_id = choose(client, "customize", choices={"analytics": True}).json()["cookie_id"]
    link = {"cookie_id": cookie_id, "identities": {"email": "ada@example.org"}}
    assert client.post("/v1/cookie-consent/link", json=link).status_code == 401
    service = {"Authorization": f"Bearer {charter.create_token('service').token}"}
    linked = client.post("/v1/cookie-consent/link", json=link, headers=service)
    assert linked.status_code == 200, linked.text
    decide = {"brand": "zeta", "identities": {"email": "ada@example.org"}}
    answer = client.post(
        "/v1/decisions", json={**decide, "purpose": "site_analytics"}, headers=service
    ).json()
    assert answer["allowed"] is True  # the banner's consent is now the signed-in person's
    assert events(charter)[0].subject_id == linked.json()["subject_id"]
    bad = client.post("/v1/cookie-consent/link", json={**link, "cookie_id": "x"}, headers=service)
    assert bad.status_code == 422


def test_choices_are_rate_limited_per_client(settings: Settings) -> None:
    settings = settings.model_copy(update={"cookie_consent_rate_limit": 2})
    initialise(settings)
    with (
        Charter.open(settings) as charter,
        TestClient(create_app(settings, charter=charter)) as client,
    ):
        assert [choose(client, "reject_all").status_code for _ in range(3)] == [201, 201, 429]
        with charter.store.read() as connection:
            written = connection.execute(select(func.count()).select_from(consent_events))
            assert written.scalar_one() == 2


def test_the_brands_sites_may_call_the_banner_api_across_origins(
    api: tuple[TestClient, Charter],
) -> None:
    client, _ = api
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    brand_site = client.options(
        "/v1/cookie-consent", headers={"Origin": "https://acme.example.org", **preflight}
    )
    assert brand_site.status_code == 200
    assert brand_site.headers["access-control-allow-origin"] == "https://acme.example.org"
    assert "access-control-allow-credentials" not in brand_site.headers
    config = client.get("/v1/cookie-banner/acme", headers={"Origin": "https://zeta.example.org"})
    assert config.headers["access-control-allow-origin"] == "https://zeta.example.org"
    stranger = client.options(
        "/v1/cookie-consent", headers={"Origin": "https://elsewhere.example", **preflight}
    )
    assert "access-control-allow-origin" not in stranger.headers
    plain = client.get("/v1/cookie-banner/acme", headers={"Origin": "http://acme.example.org"})
    assert "access-control-allow-origin" not in plain.headers  # the brands' sites are https


# -- Global Privacy Control without a click ----------------------------------------------------


def preferences(charter: Charter) -> list[tuple[str, str, str | None]]:
    with charter.store.read() as connection:
        rows = connection.execute(select(preference_events).order_by(preference_events.c.id))
        return [(r.kind, r.method, r.brand) for r in rows]


def decide(
    client: TestClient, charter: Charter, identities: dict[str, str], purpose: str
) -> tuple[bool, str]:
    service = {"Authorization": f"Bearer {charter.create_token('service').token}"}
    body = {"brand": "zeta", "identities": identities, "purpose": purpose}
    answer = client.post("/v1/decisions", json=body, headers=service).json()
    return answer["allowed"], answer["reason"]


def test_the_signal_alone_withdraws_what_it_overrules_and_keeps_the_rest(
    api: tuple[TestClient, Charter],
) -> None:
    client, charter = api
    stored = choose(client, "accept_all").json()
    cookie_id = stored["cookie_id"]
    visitor = {"cookie_id": cookie_id}
    assert decide(client, charter, visitor, "ads") == (True, "ok")
    soon = int(time.time()) + 86400  # the stored choice expires tomorrow
    correction = {
        "method": "gpc",
        "cookie_id": cookie_id,
        "choices": {"analytics": True, "advertising": False},
        "stored_expires": soon,
    }
    answer = choose(client, headers={"Sec-GPC": "1"}, **correction)
    assert answer.status_code == 201, answer.text
    corrected = answer.json()
    assert corrected["choices"] == {"analytics": True, "advertising": False}
    assert corrected["gpc_honoured"] is True
    assert corrected["cookie"]["value"].split("~")[1:4:2] == [cookie_id, "analytics"]
    assert corrected["cookie"]["max_age"] <= 86400  # never outlives the stored choice
    # one new event, the withdrawal of what stood, by the signal; analytics is not re-recorded
    assert [(r.purpose, r.action, r.method) for r in events(charter)[2:]] == [
        ("ads", "withdrawn", "gpc")
    ]
    assert preferences(charter) == [("sale_opt_out", "gpc", "zeta")]
    assert decide(client, charter, visitor, "ads") == (False, "consent_withdrawn")
    assert decide(client, charter, visitor, "site_analytics") == (True, "ok")
    assert set(corrected["receipts"]) == {"advertising"}
    receipt = client.get(corrected["receipts"]["advertising"]).json()
    assert receipt["collectionMethod"] == "Global Privacy Control browser signal"
    # the signal arrives again (another tab): nothing is repeated
    again = choose(
        client, "gpc", gpc=True, **{k: v for k, v in correction.items() if k != "method"}
    )
    assert again.status_code == 201 and again.json()["receipts"] == {}
    assert len(events(charter)) == 3 and len(preferences(charter)) == 1


def test_a_sign_in_carrying_the_signal_records_the_opt_out(
    api: tuple[TestClient, Charter],
) -> None:
    client, charter = api
    service = {"Authorization": f"Bearer {charter.create_token('service').token}"}
    cookie_id = choose(client, "accept_all").json()["cookie_id"]
    link = {"cookie_id": cookie_id, "identities": {"email": "gil@example.org"}}
    bad = client.post(
        "/v1/cookie-consent/link",
        json={**link, "brand": "nowhere"},
        headers={**service, "Sec-GPC": "1"},
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_brand"
    person = {"email": "gil@example.org"}
    assert decide(client, charter, person, "ads") == (False, "unknown_subject")  # not linked
    for _ in range(2):  # sent on every request: recorded once
        linked = client.post(
            "/v1/cookie-consent/link",
            json={**link, "brand": "zeta"},
            headers={**service, "Sec-GPC": "1"},
        )
        assert linked.status_code == 200, linked.text
    assert decide(client, charter, person, "ads")[0] is False
    assert decide(client, charter, person, "site_analytics") == (True, "ok")
    gpc = [(r.brand, r.purpose, r.action) for r in events(charter) if r.method == "gpc"]
    assert gpc == [("zeta", "ads", "withdrawn")]  # accepted in the banner, then withdrawn
    assert preferences(charter) == [("sale_opt_out", "gpc", "zeta")]
    # no brand named: the signal opts out of the business, every brand of it
    client.post("/v1/cookie-consent/link", json=link, headers={**service, "Sec-GPC": "1"})
    gpc = [(r.brand, r.purpose, r.action) for r in events(charter) if r.method == "gpc"]
    # zeta: withdrawn before; acme: never answered for this person, so refused.
    assert gpc == [("zeta", "ads", "withdrawn"), ("acme", "ads", "refused")]
    assert len(preferences(charter)) == 1  # the person's opt-out stands already


def test_verifying_a_request_from_a_browser_sending_gpc_records_the_opt_out(
    api: tuple[TestClient, Charter], settings: Settings
) -> None:
    client, charter = api
    service = {"Authorization": f"Bearer {charter.create_token('service').token}"}
    person = {"email": "ivo@example.org"}
    body = {"brand": "zeta", "purpose": "ads", "action": "give", "identities": person}
    given = client.post(
        "/v1/consents", json={**body, "notice": "Allow advertising cookies."}, headers=service
    )
    assert given.status_code == 201, given.text
    filed = client.post(
        "/v1/requests",
        json={"brand": "zeta", "type": "access", "identities": person},
        headers={"Sec-GPC": "1"},
    )
    assert filed.status_code == 202, filed.text
    request_id = filed.json()["id"]
    newest = sorted(settings.outbox_dir.glob("*.eml"))[-1].read_text()
    code = re.search(r"^\s+(\d{6})\s*$", newest, re.M).group(1)  # type: ignore[union-attr]
    assert preferences(charter) == []  # filing proves nothing: the signal waits for the code
    verified = client.post(
        f"/v1/requests/{request_id}/verify", json={"code": code}, headers={"Sec-GPC": "1"}
    )
    assert verified.status_code == 200, verified.text
    assert preferences(charter) == [("sale_opt_out", "gpc", "zeta")]
    assert decide(client, charter, person, "ads") == (False, "consent_withdrawn")


def test_the_privacy_center_records_the_signal_of_a_verified_person(
    api: tuple[TestClient, Charter], settings: Settings
) -> None:
    client, charter = api
    service = {"Authorization": f"Bearer {charter.create_token('service').token}"}
    person = {"email": "hal@example.org"}
    given = client.post(
        "/v1/consents",
        json={
            "brand": "zeta",
            "purpose": "ads",
            "action": "give",
            "notice": "Allow advertising cookies.",
            "identities": person,
        },
        headers=service,
    )
    assert given.status_code == 201, given.text
    filed = client.post(
        "/privacy/requests",
        data={"brand": "zeta", "type": "access", "email": person["email"], "details": ""},
    )
    request_id = re.search(r"/privacy/requests/([0-9a-f-]{36})/verify", filed.text).group(1)  # type: ignore[union-attr]
    newest = sorted(settings.outbox_dir.glob("*.eml"))[-1].read_text()
    code = re.search(r"^\s+(\d{6})\s*$", newest, re.M).group(1)  # type: ignore[union-attr]
    # before verification nobody is identified: the signal records nothing
    client.get(f"/privacy/requests/{request_id}", headers={"Sec-GPC": "1"})
    assert preferences(charter) == []
    confirmed = client.post(f"/privacy/requests/{request_id}/verify", data={"code": code})
    assert confirmed.status_code == 200, confirmed.text  # followed to the status page
    assert preferences(charter) == []  # no signal sent: nothing
    for _ in range(2):
        page = client.get(f"/privacy/requests/{request_id}", headers={"Sec-GPC": "1"})
        assert page.status_code == 200
    assert preferences(charter) == [("sale_opt_out", "gpc", "zeta")]
    assert decide(client, charter, person, "ads")[0] is False
