"""The public policy rendered from the manifest: every section of the reference policy, in plain
words, per brand, as HTML and as Markdown with the same content."""

from __future__ import annotations

import html
import itertools
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from charter.domain.errors import NotFound
from charter.manifest import Manifest, load_manifest
from charter.manifest.measures import SECURITY_MEASURES
from charter.manifest.models import RetentionRule
from charter.manifest.policy_content import SECTIONS, policy_context
from charter.manifest.render import policy_styles, render_policy_html, render_policy_markdown
from charter.manifest.wording import duration_words, retention_period_words

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "musicgroup" / "charter.yaml"
MINIMAL = ROOT / "tests" / "fixtures" / "minimal.yaml"
ISO_DURATION = re.compile(r"\bP(?:\d+[YMWD])+\b|\bPT\d+[HMS]\b")


@pytest.fixture(scope="module")
def example() -> Manifest:
    return load_manifest(EXAMPLE)


@pytest.fixture(scope="module")
def minimal() -> Manifest:
    return load_manifest(MINIMAL)


class _Text(HTMLParser):
    """The page's visible text, and its headings' levels in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.headings: list[int] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"style", "script"}:
            self._skip += 1
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join("".join(parser.parts).split())


def headings(page: str) -> list[int]:
    parser = _Text()
    parser.feed(page)
    return parser.headings


def markdown_text(document: str) -> str:
    """Markdown with its escapes and emphasis undone, whitespace collapsed."""
    text = re.sub(r"\\(.)", r"\1", document).replace("**", "")
    return " ".join(text.split())


def test_every_section_of_the_reference_policy_is_there(example: Manifest) -> None:
    page = render_policy_html(example)
    text = visible(page)
    for section in SECTIONS:
        assert f'<section id="{section.id}"' in page
        assert f'href="#{section.id}"' in page  # in the table of contents
    expected = [
        # what is collected and where, with the identities
        "Purchase",
        "Shipping address: Delivery, shipping or return address.",
        "We recognise you by: Email address",
        "We never store your card number.",
        # automatically, and from others
        "Website visit",
        "Analytics (only with your consent)",
        "From partners",
        "Partner data",
        "From social media platforms",
        "Social media interactions",
        # children
        "children under 18 without the consent of a parent or guardian",
        "we ask them by e-mail",
        "we cancel the child's account at once and delete all of the child's information",
        # uses, sharing, bases
        "Product performance analysis",
        "We do not sell your personal information.",
        "Service providers",
        "Companies of our group",
        "Authorities and courts",
        "Anyone reading the forums, and anyone reading a contest's winner announcement.",
        "Aggregate statistics",
        "Our interest: Preventing fraud and misuse",
        "You can withdraw this consent at any time.",
        # retention, rights, preferences
        "3 years after your last activity",
        "10 years after the record is made",
        "Anonymised, so that it no longer identifies you",
        "We answer within 30 days",
        "up to 60 more days",
        "supervisory authority",
        "Every marketing e-mail has an unsubscribe link",
        "Service information: Confirmations, invoices",
        # cookies, transfers, changes, contact
        "Until you close your browser",
        "Tallyweb Analytics",
        "module 2 (controller to processor), Commission Implementing Decision (EU) 2021/914",
        "An adequacy decision of the European Commission",
        "we tell you by e-mail before it takes effect",
        "Resonance Music Group, Inc. is the controller",
        "is our representative in the European Economic Area",
        "Our data protection officer: Data Protection Officer",
    ]
    missing = [phrase for phrase in expected if phrase not in text]
    assert missing == []
    for measure in SECURITY_MEASURES:
        assert measure in text
    assert 'href="/privacy"' in page
    assert 'href="https://edpb.europa.eu/about-edpb/about-edpb/members_en"' in page
    assert 'data-charter-action="open"' in page


def test_durations_are_in_words_everywhere(example: Manifest) -> None:
    for brand in (None, "spark_audio"):
        assert ISO_DURATION.findall(visible(render_policy_html(example, brand))) == []
        assert ISO_DURATION.findall(render_policy_markdown(example, brand)) == []


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("P3Y", "3 years"),
        ("P1Y", "1 year"),
        ("P13M", "13 months"),
        ("P90D", "90 days"),
        ("P2W", "14 days"),
        ("PT30M", "30 minutes"),
        ("PT12H", "12 hours"),
        ("P1Y6M", "1 year and 6 months"),
        ("P1DT2H30M", "1 day, 2 hours and 30 minutes"),
        ("session", "until you close your browser"),
    ],
)
def test_duration_words(value: str, words: str) -> None:
    assert duration_words(value) == words


def test_retention_periods_say_where_they_count_from() -> None:
    activity = RetentionRule(
        key="a", categories=["user"], period="P3Y", counted_from="last_activity"
    )
    collected = RetentionRule(key="b", categories=["user"], period="P18M", criteria="Chargebacks.")
    criteria = RetentionRule(key="c", categories=["user"], criteria="While the post is published.")
    assert retention_period_words(activity) == "3 years after your last activity"
    assert retention_period_words(activity, register=True) == (
        "3 years after the person's last activity"
    )
    assert retention_period_words(collected) == "18 months after we collect it. Chargebacks."
    assert retention_period_words(criteria) == "While the post is published."


def test_a_brand_page_shows_that_brand_only(example: Manifest) -> None:
    context = policy_context(example, "akkord_pro")
    assert context.brand_name == "Akkord Professional"
    assert context.covered_brands == ("Akkord Professional",)
    assert context.privacy_url == "/privacy?brand=akkord_pro"
    shown = {t.key for t in context.given}
    assert "forum" in shown  # akkord_pro runs a forum
    assert "sponsored_contest" not in shown  # dynamo_dj, nuvola_dj and spark_audio only
    assert "Sponsored contests" not in {p.name for p in context.purposes}
    recipients = {r.name for g in context.recipient_groups for r in g.recipients}
    assert "Contest sponsor named in the rules" not in recipients
    assert "Cloudnest Hosting, Inc." in recipients
    cookies = {c.name for k in context.cookie_categories for c in k.cookies}
    assert "rmg_session" in cookies and "euconsent-v2" not in cookies

    page = visible(render_policy_html(example, "akkord_pro"))
    others = [b.name for key, b in example.brands.items() if key != "akkord_pro"]
    assert [name for name in others if name in page] == []
    assert "Akkord Professional" in page

    spark = policy_context(example, "spark_audio")
    assert "euconsent-v2" in {c.name for k in spark.cookie_categories for c in k.cookies}
    assert "sponsored_contest" in {t.key for t in spark.given}
    assert "forum" not in {t.key for t in spark.given}


def test_the_group_page_names_the_brands_of_a_touchpoint_that_not_all_have(
    example: Manifest,
) -> None:
    forum = next(t for t in policy_context(example).given if t.key == "forum")
    assert forum.brands == (
        "Akkord Professional",
        "Dynamo DJ",
        "Nuvola DJ",
        "Overdrive FX",
        "MixForge",
        "Ravine Mixers",
    )
    assert len(policy_context(example).covered_brands) == len(example.brands)


def test_an_unknown_brand_is_not_found(example: Manifest) -> None:
    with pytest.raises(NotFound) as raised:
        render_policy_html(example, "nobrand")
    assert raised.value.code == "unknown_brand"
    with pytest.raises(NotFound):
        render_policy_markdown(example, "nobrand")


def test_legitimate_interests_are_named_and_objection_offered(example: Manifest) -> None:
    bases = {b.basis.value: b for b in policy_context(example).bases}
    interests = {p.name: p.legitimate_interest for p in bases["legitimate_interest"].purposes}
    assert interests["Security, safety and dispute resolution"] == (
        "Preventing fraud and misuse, keeping our systems and customers safe, and establishing "
        "or defending legal claims."
    )
    assert all(interests.values())
    assert {p.name for p in bases["consent"].purposes} >= {"Marketing communications"}
    rights = {r.name: r.text for r in policy_context(example).rights}
    assert "Product performance analysis" in rights["Objection"]
    assert "Marketing communications" in rights["Withdrawing consent"]


def test_transfers_name_country_and_mechanism(example: Manifest) -> None:
    transfers = {t.recipient: t for t in policy_context(example).transfers}
    hosting = transfers["Cloudnest Hosting, Inc."]
    assert hosting.country == "United States"
    assert "standard contractual clauses" in hosting.safeguard
    assert "module 2 (controller to processor)" in hosting.safeguard
    assert "module 1 (controller to controller)" in transfers["Adreach Networks, Inc."].safeguard
    assert "adequacy" in transfers["Resonance Music UK Ltd"].safeguard
    # inside the EEA, or going nowhere: no transfer
    assert "Paylane Payments B.V." not in transfers
    assert "Law enforcement authorities and courts" not in transfers


def test_what_a_manifest_does_not_promise_is_not_said(minimal: Manifest) -> None:
    """The minimal manifest has no other sources, no aggregate sharing, no DPO; selling data
    drops the "we do not sell" statement."""
    selling = minimal.model_copy(
        update={"policy": minimal.policy.model_copy(update={"sells_personal_data": True})}
    )
    text = visible(render_policy_html(selling))
    assert "We do not receive information about you from other sources." in text
    assert "We do not sell" not in text
    assert "Aggregate statistics" not in text
    assert "data protection officer" not in text
    assert "Example Europe Ltd is our representative" in text
    assert "We do not sell" in visible(render_policy_html(minimal))


def test_the_page_is_accessible_and_self_contained(example: Manifest) -> None:
    page = render_policy_html(example, "dynamo_dj")
    assert page.startswith('<!doctype html>\n<html lang="en">')
    assert re.findall(r"<style>(.*?)</style>", page, re.S) == list(policy_styles())
    assert 'class="skip" href="#main"' in page and '<main id="main">' in page
    levels = headings(page)
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    tables = re.findall(r"<table>(.*?)</table>", page, re.S)
    assert tables
    for table in tables:
        assert "<caption>" in table and 'scope="col"' in table
    assert "<script" not in page  # served as is: no banner, the CSP allows no script
    assert re.search(r"<[^>]+\sstyle=", page) is None


def test_a_published_brand_page_loads_the_banner_for_its_cookie_settings(
    example: Manifest,
) -> None:
    page = render_policy_html(
        example, "dynamo_dj", base_url="https://privacy.example.org/", banner=True
    )
    assert (
        '<script src="https://privacy.example.org/cookie-banner.js" data-brand="dynamo_dj" '
        "defer></script>"
    ) in page
    assert 'href="https://privacy.example.org/privacy?brand=dynamo_dj"' in page
    # the group page has no brand to ask consent for
    assert "<script" not in render_policy_html(example, banner=True)


def test_markdown_carries_the_same_content(example: Manifest) -> None:
    context = policy_context(example, "spark_audio")
    document = render_policy_markdown(example, "spark_audio", base_url="https://p.example.org")
    text = markdown_text(document)
    page = visible(render_policy_html(example, "spark_audio"))
    phrases = [
        *(s.title for s in context.sections),
        *(t.name for t in (*context.given, *context.automatic)),
        *(p.name for p in context.purposes),
        *(p.legitimate_interest or "" for p in context.purposes),
        *(r.name for g in context.recipient_groups for r in g.recipients),
        *(c.name for k in context.cookie_categories for c in k.cookies),
        *(t.recipient for t in context.transfers),
        *(r.how_long for r in context.retention),
        *SECURITY_MEASURES,
        "We do not sell your personal information.",
        "we tell you by e-mail before it takes effect",
    ]
    assert [p for p in phrases if p not in text] == []
    assert [p for p in phrases if p not in page] == []
    for section in SECTIONS:
        assert f'<a id="{section.id}"></a>' in document
    assert "[privacy center](https://p.example.org/privacy?brand=spark\\_audio)" in document
    assert '<a href="#cookies" data-charter-action="open">' in document


def test_markdown_escapes_manifest_text(minimal: Manifest) -> None:
    """A ``|`` or ``*`` in a description cannot break a table or start emphasis."""
    cookies = minimal.cookies["analytics"]
    odd = cookies.cookies[0].model_copy(update={"description": "Counts | visits *twice*"})
    manifest = minimal.model_copy(
        update={
            "cookies": {
                **minimal.cookies,
                "analytics": cookies.model_copy(update={"cookies": [odd]}),
            }
        }
    )
    document = render_policy_markdown(manifest)
    row = next(line for line in document.splitlines() if line.startswith("| \\_ex\\_a |"))
    assert row.count(" | ") == 3  # four cells, the description's pipe escaped
    assert "Counts \\| visits \\*twice\\*" in row


def test_html_escapes_manifest_text(minimal: Manifest) -> None:
    touchpoint = minimal.touchpoints["purchase"].model_copy(
        update={"description": "<script>alert(1)</script>"}
    )
    manifest = minimal.model_copy(
        update={"touchpoints": {**minimal.touchpoints, "purchase": touchpoint}}
    )
    page = render_policy_html(manifest)
    assert "<script>alert" not in page
    assert html.escape("<script>alert(1)</script>") in page
