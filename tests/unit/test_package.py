"""The access package: zip members, data.json, CSVs and the plain-language report."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import re
import zipfile
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from charter.domain.decisions import MARKETING_OBJECTION
from charter.domain.errors import InvalidValue, NotFound
from charter.domain.requests import RequestType
from charter.manifest import Manifest, load_manifest
from charter.services.package import SCHEMA, SCHEMA_VERSION, build_package
from charter.services.package_data import (
    AccessData,
    ConsentEntry,
    Disclosure,
    ExternalSource,
    OwnValue,
    PreferenceEvent,
    Preferences,
    own_data_fields,
)
from charter.services.package_manifest import duration_in_words

EXAMPLE = Path(__file__).parents[2] / "examples" / "musicgroup" / "charter.yaml"
AT = dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.UTC)
OWN_EMAIL, OWN_PHONE = "ada@example.org", "+14015550199"
OTHER_EMAIL, OTHER_PHONE = "bob@example.org", "+49 40 1234567"
MESSAGE = (
    f"Please also send the invoice to my friend {OTHER_EMAIL} ({OTHER_PHONE}). "
    f"Reach me at ADA@example.org or (401) 555-0199; order 2026-11-29."
)


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(EXAMPLE)


def access_data(**changes: object) -> AccessData:
    data = AccessData(
        request_id="req-0001",
        request_type=RequestType.ACCESS,
        brand="dynamo_dj",
        generated_at=AT,
        identities={"email": [OWN_EMAIL], "phone": [OWN_PHONE], "account_id": ["acct-7"]},
        values=[
            OwnValue(
                "purchase",
                "name",
                "user.name",
                "<script>alert(1)</script>",
                AT,
                ("order_fulfilment",),
                "dynamo_dj",
            ),
            OwnValue(
                "support",
                "message",
                "user.content.private",
                MESSAGE,
                AT,
                ("customer_support",),
                "dynamo_dj",
            ),
            OwnValue(
                "partner_data",
                "partner_product",
                "user.behavior.purchase_history",
                "MixForge Lite",
                dt.datetime(2026, 2, 1, 8, 0),
                ("product_registration",),
            ),
        ],
        consents=[
            ConsentEntry(
                "dynamo_dj",
                "marketing_communications",
                "email",
                "given",
                AT,
                "form_checkbox",
                "2026.1",
            ),
        ],
        preferences=Preferences.from_events(
            [PreferenceEvent("unsubscribe", AT, brand="dynamo_dj", channel="email")]
        ),
        systems={
            "shop": {
                "customers": [
                    {
                        "id": 7,
                        "email": OWN_EMAIL,
                        "first_name": "Ada",
                        "last_name": "Example",
                        "phone": OWN_PHONE,
                        "country": "DE",
                        "created_at": dt.datetime(2025, 1, 2),
                    },
                ],
                "messages": [{"id": 1, "ticket_id": 3, "body": MESSAGE}],
            },
            "events": {"page_views": []},
        },
        disclosures=[
            Disclosure(
                "authorities",
                ("user.name", "user.contact.email"),
                AT,
                "Court order 12/2026 of the Hamburg district court",
            ),
        ],
        sources=[ExternalSource("MixForge partner programme", "co-promotion agreement", AT)],
    )
    return replace(data, **changes)  # type: ignore[arg-type]


def unzip(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture(scope="module")
def files(manifest: Manifest) -> dict[str, bytes]:
    return unzip(build_package(manifest, access_data()))


@pytest.fixture(scope="module")
def document(files: dict[str, bytes]) -> dict[str, object]:
    return json.loads(files["data.json"])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def report(files: dict[str, bytes]) -> str:
    return files["report.html"].decode("utf-8")


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[tuple[int, str]] = []
        self._heading: int | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading, self._text = int(tag[1]), []

    def handle_endtag(self, tag: str) -> None:
        if self._heading is not None and tag == f"h{self._heading}":
            self.headings.append((self._heading, "".join(self._text).strip()))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._text.append(data)


def parse(report: str) -> Page:
    page = Page()
    page.feed(report)
    return page


def test_members_in_a_fixed_order(files: dict[str, bytes]) -> None:
    assert list(files) == [
        "report.html",
        "data.json",
        "charter/identities.csv",
        "charter/values.csv",
        "charter/consents.csv",
        "charter/preferences.csv",
        "shop/customers.csv",
        "shop/messages.csv",
        "events/page_views.csv",
    ]


def test_the_same_input_gives_the_same_bytes(manifest: Manifest) -> None:
    assert build_package(manifest, access_data()) == build_package(manifest, access_data())


def test_data_json_is_versioned_sorted_and_complete(
    files: dict[str, bytes], document: dict[str, object]
) -> None:
    text = files["data.json"].decode("utf-8")
    assert text == json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2)
    assert document["schema"] == SCHEMA
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["request"] == {
        "id": "req-0001",
        "type": "access",
        "brand": "dynamo_dj",
        "generated_at": "2026-06-01T09:30:00+00:00",
    }
    assert document["identities"] == {
        "account_id": ["acct-7"],
        "email": [OWN_EMAIL],
        "phone": [OWN_PHONE],
    }
    charter = document["charter"]
    assert isinstance(charter, dict)
    assert [v["field"] for v in charter["values"]] == ["name", "message", "partner_product"]
    # A naive time is taken as UTC.
    assert charter["values"][2]["collected_at"] == "2026-02-01T08:00:00+00:00"
    assert charter["consents"][0]["purpose"] == "marketing_communications"
    assert charter["preferences"]["unsubscribes"] == [{"brand": "dynamo_dj", "channel": "email"}]
    systems = document["systems"]
    assert isinstance(systems, dict)
    customers = systems["shop"]["customers"]
    assert customers["columns"]["email"] == "user.contact.email"
    assert customers["columns"]["id"] is None
    assert customers["rows"][0]["created_at"] == "2025-01-02T00:00:00+00:00"
    assert systems["events"]["page_views"]["rows"] == []
    assert document["disclosures"] == [
        {
            "recipient": "authorities",
            "categories": ["user.name", "user.contact.email"],
            "at": "2026-06-01T09:30:00+00:00",
            "reason": "Court order 12/2026 of the Hamburg district court",
            "kind": None,
            "recipient_name": None,
            "legal_reference": None,
        }
    ]
    assert document["sources"] == [
        {
            "source": "MixForge partner programme",
            "agreement": "co-promotion agreement",
            "at": "2026-06-01T09:30:00+00:00",
            # What charter.services.sources adds (where it came in, the Art. 14 notice).
            "partner": None,
            "touchpoint": None,
            "brand": None,
            "notice": None,
            "notice_due_at": None,
            "notice_sent_at": None,
            "exemption": None,
            "exemption_reason": None,
        }
    ]
    assert document["prior_notices"] == []
    information = document["information"]
    assert isinstance(information, dict)
    assert information["automated_decision_making"]["used"] is False
    assert "user.contact.email" in information["categories"]
    assert {"order_fulfilment", "customer_support"} <= {p["key"] for p in information["purposes"]}


def test_csvs_parse_and_match_data_json(
    files: dict[str, bytes], document: dict[str, object]
) -> None:
    def rows(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(files[name].decode("utf-8"), newline="")))

    charter = document["charter"]
    systems = document["systems"]
    assert isinstance(charter, dict)
    assert isinstance(systems, dict)
    values = rows("charter/values.csv")
    assert [v["value"] for v in values] == [v["value"] for v in charter["values"]]
    assert values[0]["purposes"] == "order_fulfilment"
    assert rows("charter/identities.csv") == [
        {"kind": "account_id", "value": "acct-7"},
        {"kind": "email", "value": OWN_EMAIL},
        {"kind": "phone", "value": OWN_PHONE},
    ]
    assert rows("charter/consents.csv")[0]["at"] == "2026-06-01T09:30:00+00:00"
    assert rows("charter/preferences.csv")[0]["kind"] == "unsubscribe"
    customers = rows("shop/customers.csv")
    expected = systems["shop"]["customers"]["rows"][0]
    assert customers == [{k: "" if v is None else str(v) for k, v in expected.items()}]
    assert rows("shop/messages.csv")[0]["body"] == systems["shop"]["messages"]["rows"][0]["body"]


REQUIRED_SECTIONS = [
    "Who we are",
    "What data we hold about you",
    "Why we use it",
    "Who received it",
    "How long we keep it",
    "Where it came from",
    "Transfers outside",
    "Automated decisions",
    "Your rights",
    "When we answer",
    "How to complain",
    "About this copy",
]


def test_report_has_every_section_with_headings_in_order(report: str) -> None:
    page = parse(report)
    sections = [text for level, text in page.headings if level == 2]
    for required in REQUIRED_SECTIONS:
        assert any(s.startswith(required) for s in sections), required
    levels = [level for level, _ in page.headings]
    assert levels[0] == 1
    assert levels.count(1) == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))


def test_report_is_accessible(report: str) -> None:
    page = parse(report)
    html = next(attrs for tag, attrs in page.tags if tag == "html")
    assert html.get("lang") == "en"
    assert report.count("<table>") == report.count("<caption>") > 0
    assert all(attrs.get("scope") in {"col", "row"} for tag, attrs in page.tags if tag == "th")


def test_report_holds_the_facts_art_15_requires(report: str) -> None:
    assert "Resonance Music Group, Inc." in report  # controller
    assert "dpo@example.org" in report
    assert "Resonance Music Europe GmbH" in report  # representative
    assert "Email address" in report  # category names from the manifest, not keys only
    assert "Our interest: Keeping owners informed" in report  # legitimate interest stated
    assert "Cloudnest Hosting, Inc." in report  # recipient whose categories overlap
    assert "Court order 12/2026" in report  # a disclosure actually made
    assert "3 years after your last activity" in report  # retention in words
    assert "Tax and bookkeeping law" in report  # legal hold
    assert "MixForge partner programme" in report  # source not from the person
    assert "Partner data" in report and "from a partner" in report
    assert "Standard contractual clauses" in report  # transfer safeguard
    assert "solely on automated processing" in report
    for right in (
        "Access",
        "Rectification",
        "Erasure",
        "Restriction",
        "Objection",
        "Portability",
        "Withdraw consent",
    ):
        assert f"<strong>{right}</strong>" in report
    assert "within 30 days" in report
    assert 'href="https://edpb.europa.eu/about-edpb/about-edpb/members_en"' in report
    assert "Ada" in report and "acct-7" in report and "MixForge Lite" in report


def test_report_escapes_values(report: str) -> None:
    assert "<script" not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report


def test_report_loads_nothing_from_outside(report: str) -> None:
    page = parse(report)
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"link", "script", "img", "iframe", "object", "embed", "base"}
    assert not [attrs for _, attrs in page.tags if "src" in attrs or "srcset" in attrs]
    assert "@import" not in report
    assert "url(" not in report
    # The only http(s) addresses are plain links for the reader to follow.
    links = re.findall(r"""(\w+)=["']https?://""", report)
    assert set(links) <= {"href"}


def test_other_peoples_contacts_are_redacted_and_own_kept(
    files: dict[str, bytes], document: dict[str, object], report: str
) -> None:
    for name, content in files.items():
        text = content.decode("utf-8")
        assert OTHER_EMAIL not in text, name
        assert OTHER_PHONE not in text, name
    body = document["systems"]["shop"]["messages"]["rows"][0]["body"]  # type: ignore[index]
    assert body == (
        "Please also send the invoice to my friend [redacted] ([redacted]). "
        "Reach me at ADA@example.org or (401) 555-0199; order 2026-11-29."
    )
    assert document["redactions"] == {
        "total": 4,
        "by_source": {"charter/values": 2, "shop/messages": 2},
        "reason": document["redactions"]["reason"],  # type: ignore[index]
    }
    assert "We replaced 4 email addresses or telephone numbers" in report
    assert "Article 15(4)" in report


def test_only_free_text_is_redacted(manifest: Manifest) -> None:
    data = access_data(
        values=[OwnValue("purchase", "name", "user.name", OTHER_EMAIL, AT)],
        systems={"shop": {"customers": [{"email": OTHER_EMAIL}]}},
    )
    document = json.loads(unzip(build_package(manifest, data))["data.json"])
    assert document["charter"]["values"][0]["value"] == OTHER_EMAIL
    assert document["systems"]["shop"]["customers"]["rows"][0]["email"] == OTHER_EMAIL
    assert document["redactions"]["total"] == 0


def test_tables_the_manifest_does_not_declare_take_given_categories(manifest: Manifest) -> None:
    data = access_data(
        systems={"forum": {"posts": [{"post_id": 1, "text": f"ask {OTHER_EMAIL}"}]}},
        column_categories={"forum": {"posts": {"text": "user.content.public"}}},
    )
    files = unzip(build_package(manifest, data))
    posts = json.loads(files["data.json"])["systems"]["forum"]["posts"]
    assert posts == {
        "columns": {"post_id": None, "text": "user.content.public"},
        "rows": [{"post_id": 1, "text": "ask [redacted]"}],
    }
    assert "Community forum: posts" in files["report.html"].decode()


def test_portability_says_data_json_is_the_portable_format(manifest: Manifest) -> None:
    files = unzip(build_package(manifest, access_data(request_type=RequestType.PORTABILITY)))
    assert json.loads(files["data.json"])["request"]["type"] == "portability"
    report = files["report.html"].decode()
    assert "Articles 15 and 20" in report
    assert "the format for moving it to another service" in report


def test_empty_disclosures_and_sources_are_said_so(manifest: Manifest) -> None:
    data = access_data(disclosures=[], sources=[], values=[])
    report = unzip(build_package(manifest, data))["report.html"].decode()
    assert "We have no record of disclosing your data" in report
    assert "we received none from partners or social media platforms" in report


def test_unknown_brand_or_type_is_refused(manifest: Manifest) -> None:
    with pytest.raises(NotFound):
        build_package(manifest, access_data(brand="nope"))
    with pytest.raises(InvalidValue):
        build_package(manifest, access_data(request_type="erasure"))


@pytest.mark.parametrize(
    ("period", "words"),
    [
        ("P3Y", "3 years"),
        ("P1Y", "1 year"),
        ("P13M", "13 months"),
        ("P1Y6M", "1 year and 6 months"),
        ("P2W", "14 days"),
        ("PT30M", "30 minutes"),
        ("P1DT1H1M", "1 day, 1 hour and 1 minute"),
    ],
)
def test_duration_in_words(period: str, words: str) -> None:
    assert duration_in_words(period) == words


def test_preferences_fold_their_events() -> None:
    events = [
        PreferenceEvent("objection", AT, purpose="product_analysis"),
        PreferenceEvent("objection", AT),
        PreferenceEvent("objection_withdrawn", AT, purpose="product_analysis"),
        PreferenceEvent("restriction", AT),
        PreferenceEvent("unsubscribe", AT, brand="dynamo_dj", channel="email"),
        PreferenceEvent("unsubscribe", AT, brand="mixforge", channel="sms"),
        PreferenceEvent("subscribe", AT, brand="mixforge", channel="sms"),
    ]
    prefs = Preferences.from_events(events)
    assert prefs.objections == (MARKETING_OBJECTION,)
    assert prefs.restricted is True
    assert prefs.unsubscribes == (("dynamo_dj", "email"),)
    assert prefs.history == tuple(events)


def test_own_data_fields_read_the_collect_step_result() -> None:
    collected = {
        "values": [
            {
                "touchpoint": "purchase",
                "brand": "dynamo_dj",
                "field": "name",
                "category": "user.name",
                "purposes": ["order_fulfilment"],
                "collected_at": "2026-06-01T09:30:00+00:00",
                "value": "Ada",
            },
        ],
        "identities": [{"kind": "email", "value": OWN_EMAIL}],
        "consents": [
            {
                "brand": "dynamo_dj",
                "purpose": "surveys",
                "channel": "any",
                "action": "given",
                "at": "2026-06-01T09:30:00+00:00",
                "method": "api",
                "policy_version": "2026.1",
            },
        ],
        "preferences": [
            {
                "kind": "restriction",
                "brand": None,
                "purpose": None,
                "channel": None,
                "at": "2026-06-01T09:30:00+00:00",
            },
        ],
    }
    collected["sources"] = [
        {
            "source": "Loopworks Software Ltd",
            "partner": "loopworks",
            "agreement": "LW-1",
            "at": "2026-06-01T09:30:00+00:00",
            "touchpoint": "partner_data",
            "brand": "dynamo_dj",
            "notice": "sent",
            "notice_due_at": "2026-07-01T09:30:00+00:00",
            "notice_sent_at": "2026-06-01T09:30:00+00:00",
            "exemption": None,
            "exemption_reason": None,
        }
    ]
    collected["prior_notices"] = [
        {
            "notice": "product_diagnostics",
            "name": "Product diagnostics",
            "brand": "dynamo_dj",
            "touchpoint": "support",
            "sent_at": "2026-06-01T09:30:00+00:00",
        }
    ]
    fields = own_data_fields(collected)
    (source,) = fields["sources"]
    assert (source.partner, source.at, source.notice_sent_at) == ("loopworks", AT, AT)
    assert fields["prior_notices"][0].sent_at == AT
    assert fields["identities"] == {"email": [OWN_EMAIL]}
    assert fields["values"] == [
        OwnValue("purchase", "name", "user.name", "Ada", AT, ("order_fulfilment",), "dynamo_dj")
    ]
    assert fields["consents"][0].at == AT
    assert fields["preferences"].restricted is True


# --- the report's language ----------------------------------------------------------------------


def _members(manifest: Manifest, **changes: object) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(build_package(manifest, access_data(**changes)))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _shape(value: object) -> object:
    """data.json's keys (and list lengths), without its values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return None


def test_the_report_of_a_request_filed_in_french_is_in_french(
    manifest: Manifest, files: dict[str, bytes], document: dict[str, object]
) -> None:
    french = _members(manifest, language="fr-FR")
    report = french["report.html"].decode()
    assert parse(report).tags[0] == ("html", {"lang": "fr"})
    headings = [text for _, text in parse(report).headings]
    assert headings[0] == "Vos données personnelles chez Resonance Music Group, Inc."
    assert "Pourquoi nous les utilisons" in headings and "Vos droits" in headings
    assert "établi le <time" in report and "1 juin 2026 à 09:30 UTC</time>" in report
    assert "3 ans après votre dernière activité, puis effacées" in report  # durations in words
    assert "Notre intérêt : Keeping owners informed" in report  # the manifest's words as written
    assert "Toutes les heures sont en temps universel coordonné (UTC)." in report
    assert "Nous avons remplacé 4 adresses e-mail ou numéros de téléphone" in report
    # The zip's names and data.json's keys are a format: the same in every language.
    assert list(french) == list(files)
    data = json.loads(french["data.json"])
    assert _shape(data) == _shape(document)
    purposes = data["information"]["purposes"]
    assert {p["basis_text"] for p in purposes} >= {"votre consentement", "nos intérêts légitimes"}
    assert data["information"]["automated_decision_making"]["text"].startswith("Nous ne prenons")


def test_without_a_request_language_the_report_is_in_the_brand_s_language(
    manifest: Manifest,
) -> None:
    report = _members(manifest, brand="sonora_voice")["report.html"].decode()
    assert parse(report).tags[0] == ("html", {"lang": "de"})
    assert "Ihre personenbezogenen Daten bei Resonance Music Group, Inc." in report
    assert "1. Juni 2026, 09:30 UTC" in report
    unoffered = _members(manifest, language="pt")["report.html"].decode()  # no texts: English
    assert parse(unoffered).tags[0] == ("html", {"lang": "en"})


@pytest.mark.parametrize("language", ["de", "fr", "es", "ja"])
def test_no_english_heading_or_label_is_left_in_a_translated_report(
    manifest: Manifest, report: str, language: str
) -> None:
    translated = _members(manifest, language=language)["report.html"].decode()
    english = parse(report)
    words = {text for _, text in english.headings}
    words |= {attrs["aria-label"] or "" for _, attrs in english.tags if attrs.get("aria-label")} - {
        attrs["aria-label"] or "" for _, attrs in parse(translated).tags if "aria-label" in attrs
    }
    # Headings that name only the manifest's texts (a system and a table) stay as written.
    words -= {text for _, text in english.headings if ": " in text and "Transfers" not in text}
    assert words and [w for w in words if w in translated] == []
    for sentence in ("We replaced", "Nothing was removed", "All times are in", "Your password"):
        assert sentence not in translated


def test_a_password_is_described_in_the_report_s_language(manifest: Manifest) -> None:
    password = OwnValue(
        "product_registration", "password", "user.authorization.credentials", "s3cret!", AT
    )
    members = _members(manifest, values=[password], language="de")
    report = members["report.html"].decode()
    assert "Ein Passwort ist gesetzt (zuletzt geändert am 1. Juni 2026)" in report
    assert "Ihr Passwort ist nicht in dieser Kopie." in report
    assert "s3cret!" not in report
    # a CSV cell is a format: it stays in English
    assert b"A password is set (last changed 1 June 2026)" in members["charter/values.csv"]
