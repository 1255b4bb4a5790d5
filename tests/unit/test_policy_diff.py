"""Which changes between two policy versions are material, and whom they concern
(``charter.domain.policy_diff``): one table of edits, each with its kind, classification and
sentence, then the audience of each material change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from charter.domain.policy_diff import (
    BASIS_ORDER,
    Audience,
    Change,
    ChangeKind,
    PolicyFacts,
    PurposeFacts,
    RecipientFacts,
    RetentionFacts,
    Scope,
    TouchpointFacts,
    diff,
    weaker_basis,
)

K = ChangeKind


def base() -> PolicyFacts:
    return PolicyFacts(
        version="1",
        title="Privacy Policy",
        home_region="EEA",
        contacts={"controller": "Example Group, 1 Road, privacy@example.org"},
        response_deadline_days=30,
        child_age=18,
        sells_personal_data=False,
        categories={
            "user.contact.email": "Email address",
            "user.name": "Name",
            "user.contact.address": "Postal address",
            "user.content.private": "Support messages",
            "user.device.cookie_id": "Cookie identifier",
        },
        purposes={
            "orders": PurposeFacts(
                "Order fulfilment", "contract", ("user.name", "user.contact.address"), False
            ),
            "news": PurposeFacts("Newsletter", "consent", ("user.contact.email",), False),
            "analytics": PurposeFacts(
                "Product analysis", "legitimate_interest", ("user.device.cookie_id",), True
            ),
        },
        touchpoints={
            "purchase": TouchpointFacts(
                "Purchase",
                {
                    "identity:email": ("email", "user.contact.email"),
                    "name": ("name", "user.name"),
                    "address": ("address", "user.contact.address"),
                },
                ("orders", "news"),
            ),
            "support": TouchpointFacts(
                "Support",
                {
                    "identity:email": ("email", "user.contact.email"),
                    "message": ("message", "user.content.private"),
                },
                ("orders",),
            ),
        },
        recipients={
            "host": RecipientFacts(
                "Shop host",
                "processor",
                ("orders",),
                ("user.name",),
                "US",
                "standard_contractual_clauses",
            ),
        },
        retention={
            "contact": RetentionFacts(
                "contact", ("user.contact", "user.name"), (), "P3Y", "3 years", "last_activity"
            ),
            "support_tickets": RetentionFacts(
                "support tickets", ("user.content",), (), "P2Y", "2 years"
            ),
        },
        brands={"acme": "Acme Audio"},
        cookies={"analytics/_a": "_a (Example Analytics), Analytics"},
    )


Edit = Callable[[PolicyFacts], PolicyFacts]


def purposes(f: PolicyFacts, **changed: PurposeFacts | None) -> PolicyFacts:
    table = {**f.purposes, **changed}
    return replace(f, purposes={k: v for k, v in table.items() if v is not None})


def purpose(f: PolicyFacts, key: str, **fields: object) -> PolicyFacts:
    return purposes(f, **{key: replace(f.purposes[key], **fields)})  # type: ignore[arg-type]


def touchpoint(f: PolicyFacts, key: str, **fields: object) -> PolicyFacts:
    return replace(
        f,
        touchpoints={**f.touchpoints, key: replace(f.touchpoints[key], **fields)},  # type: ignore[arg-type]
    )


def recipient(f: PolicyFacts, key: str, **fields: object) -> PolicyFacts:
    found = f.recipients.get(key) or RecipientFacts("Analytics Co", "processor", (), ())
    return replace(f, recipients={**f.recipients, key: replace(found, **fields)})  # type: ignore[arg-type]


def rule(f: PolicyFacts, key: str, **fields: object) -> PolicyFacts:
    return replace(f, retention={**f.retention, key: replace(f.retention[key], **fields)})  # type: ignore[arg-type]


def without(f: PolicyFacts, section: str, key: str) -> PolicyFacts:
    table = dict(getattr(f, section))
    del table[key]
    return replace(f, **{section: table})


PURCHASE = base().touchpoints["purchase"]
SURVEY = PurposeFacts("Surveys", "consent", ("user.contact.email",), False)
RESEARCH = PurposeFacts("Product research", "legitimate_interest", ("user.name",), True)

CASES: list[tuple[str, Edit, ChangeKind, bool, str]] = [
    # (what, edit, kind, material, the sentence)
    (
        "new purpose",
        lambda f: purposes(f, research=RESEARCH),
        K.PURPOSE_ADDED,
        True,
        "New purpose: Product research (legitimate interest), using Name",
    ),
    ("purpose removed", lambda f: purposes(f, news=None), K.PURPOSE_REMOVED, False, "Newsletter"),
    (
        "weaker basis",
        lambda f: purpose(f, "news", legal_basis="legitimate_interest"),
        K.PURPOSE_BASIS,
        True,
        "Legal basis of Newsletter: consent -> legitimate interest",
    ),
    (
        "stronger basis",
        lambda f: purpose(f, "analytics", legal_basis="consent"),
        K.PURPOSE_BASIS,
        False,
        "legitimate interest -> consent",
    ),
    (
        "purpose gains a category",
        lambda f: purpose(f, "news", categories=("user.contact.email", "user.name")),
        K.PURPOSE_CATEGORIES_ADDED,
        True,
        "Newsletter now also uses Name",
    ),
    (
        "purpose loses a category",
        lambda f: purpose(f, "orders", categories=("user.name",)),
        K.PURPOSE_CATEGORIES_REMOVED,
        False,
        "Order fulfilment no longer uses Postal address",
    ),
    (
        "no objection any more",
        lambda f: purpose(f, "analytics", objectable=False),
        K.PURPOSE_OBJECTION,
        True,
        "no longer object",
    ),
    (
        "description reworded",
        lambda f: purpose(f, "orders", wording=("Deliver what you buy.",)),
        K.PURPOSE_WORDING,
        False,
        "Description of Order fulfilment reworded",
    ),
    (
        "purpose renamed",
        lambda f: purpose(f, "orders", name="Orders"),
        K.PURPOSE_WORDING,
        False,
        "Order fulfilment -> Orders",
    ),
    (
        "a field of a new category",
        lambda f: touchpoint(
            f, "purchase", collected={**PURCHASE.collected, "phone": ("phone", "user.phone")}
        ),
        K.FIELD_ADDED,
        True,
        "Purchase now also collects phone (user.phone)",
    ),
    (
        "a field of a category already collected there",
        lambda f: touchpoint(
            f,
            "purchase",
            collected={**PURCHASE.collected, "country": ("country", "user.contact.address")},
        ),
        K.FIELD_ADDED,
        False,
        "Purchase now also collects country (Postal address)",
    ),
    (
        "field removed",
        lambda f: touchpoint(
            f, "purchase", collected={k: v for k, v in PURCHASE.collected.items() if k != "name"}
        ),
        K.FIELD_REMOVED,
        False,
        "Purchase no longer collects name",
    ),
    (
        "form data used for an existing purpose",
        lambda f: touchpoint(f, "support", purposes=("orders", "analytics")),
        K.TOUCHPOINT_PURPOSE_ADDED,
        True,
        "What Support collects is now also used for Product analysis (legitimate interest)",
    ),
    (
        "form data no longer used for a purpose",
        lambda f: touchpoint(f, "purchase", purposes=("orders",)),
        K.TOUCHPOINT_PURPOSE_REMOVED,
        False,
        "no longer used for Newsletter",
    ),
    (
        "data from partners",
        lambda f: touchpoint(f, "purchase", source="partner"),
        K.TOUCHPOINT_SOURCE,
        True,
        "now comes from partner",
    ),
    (
        "new form collecting nothing new",
        lambda f: replace(
            f,
            touchpoints={
                **f.touchpoints,
                "forum": TouchpointFacts(
                    "Forum", {"identity:email": ("email", "user.contact.email")}, ("orders",)
                ),
            },
        ),
        K.TOUCHPOINT_ADDED,
        False,
        "New form: Forum, collecting Email address",
    ),
    (
        "new form collecting a new category",
        lambda f: replace(
            f,
            touchpoints={
                **f.touchpoints,
                "contest": TouchpointFacts("Contest", {"dob": ("dob", "user.dob")}, ("orders",)),
            },
        ),
        K.TOUCHPOINT_ADDED,
        True,
        "New form: Contest",
    ),
    (
        "form removed",
        lambda f: without(f, "touchpoints", "support"),
        K.TOUCHPOINT_REMOVED,
        False,
        "Support",
    ),
    (
        "new recipient abroad",
        lambda f: recipient(
            f,
            "analytics_co",
            purposes=("analytics",),
            country="US",
            mechanism="standard_contractual_clauses",
        ),
        K.RECIPIENT_ADDED,
        True,
        "New recipient: Analytics Co (processor) in US (standard contractual clauses), "
        "receiving Cookie identifier",
    ),
    (
        "recipient removed",
        lambda f: without(f, "recipients", "host"),
        K.RECIPIENT_REMOVED,
        False,
        "Recipient removed: Shop host",
    ),
    (
        "recipient gains a category",
        lambda f: recipient(f, "host", categories=("user.name", "user.contact.email")),
        K.RECIPIENT_WIDENED,
        True,
        "Shop host now also receives Email address",
    ),
    (
        "recipient gains a purpose",
        lambda f: recipient(f, "host", purposes=("orders", "news")),
        K.RECIPIENT_WIDENED,
        True,
        "Shop host now also receives data for Newsletter",
    ),
    (
        "recipient loses a category",
        lambda f: recipient(f, "host", categories=()),
        K.RECIPIENT_NARROWED,
        False,
        "Shop host now receives less data",
    ),
    (
        "processor becomes a third party",
        lambda f: recipient(f, "host", kind="third_party"),
        K.RECIPIENT_KIND,
        True,
        "Shop host: processor -> third party",
    ),
    (
        "changed transfer mechanism",
        lambda f: recipient(f, "host", mechanism="adequacy"),
        K.TRANSFER,
        True,
        "Transfer to Shop host in US (adequacy): standard contractual clauses -> adequacy",
    ),
    (
        "a transfer out of the region",
        lambda f: recipient(f, "host", country="IN", mechanism="standard_contractual_clauses"),
        K.TRANSFER,
        True,
        "now transferred outside EEA: in IN",
    ),
    (
        "no longer abroad",
        lambda f: recipient(f, "host", country="DE", mechanism=None),
        K.TRANSFER,
        False,
        "Shop host is now in DE",
    ),
    (
        "recipient reworded",
        lambda f: recipient(f, "host", wording=("Hosts the shop.",)),
        K.RECIPIENT_WORDING,
        False,
        "Description of Shop host reworded",
    ),
    (
        "longer retention",
        lambda f: rule(f, "support_tickets", period="P3Y", period_words="3 years"),
        K.RETENTION_LONGER,
        True,
        "Retention of support tickets: 2 years from collection -> 3 years from collection",
    ),
    (
        "shorter retention",
        lambda f: rule(f, "support_tickets", period="P1Y", period_words="1 year"),
        K.RETENTION_SHORTER,
        False,
        "2 years from collection -> 1 year from collection",
    ),
    (
        "twenty-five months is longer than two years",
        lambda f: rule(f, "support_tickets", period="P25M", period_words="25 months"),
        K.RETENTION_LONGER,
        True,
        "-> 25 months",
    ),
    (
        "twenty-four months are two years",
        lambda f: rule(f, "support_tickets", period="P24M", period_words="24 months"),
        K.RETENTION_WORDING,
        False,
        "2 years from collection -> 24 months from collection",
    ),
    (
        "counted from the last activity",
        lambda f: rule(f, "support_tickets", counted_from="last_activity"),
        K.RETENTION_LONGER,
        True,
        "2 years from the last activity",
    ),
    (
        "criteria instead of a period",
        lambda f: rule(f, "support_tickets", period=None, period_words="while the case is open"),
        K.RETENTION_LONGER,
        True,
        "-> while the case is open",
    ),
    (
        "data moved to a rule keeping it longer",
        lambda f: rule(f, "contact", categories=("user.contact", "user.name", "user.content")),
        K.RETENTION_LONGER,
        True,
        "Retention of contact now covers",
    ),
    (
        "controller's contact",
        lambda f: replace(f, contacts={"controller": "Example Group, 9 Lane, dpo@example.org"}),
        K.CONTACT,
        False,
        "Contact details of the controller: now Example Group, 9 Lane, dpo@example.org",
    ),
    (
        "title",
        lambda f: replace(f, title="Our Privacy Policy"),
        K.POLICY_WORDING,
        False,
        "Title",
    ),
    (
        "slower answers",
        lambda f: replace(f, response_deadline_days=45),
        K.RESPONSE_DEADLINE,
        True,
        "30 days -> 45 days",
    ),
    (
        "faster answers",
        lambda f: replace(f, response_deadline_days=20),
        K.RESPONSE_DEADLINE,
        False,
        "30 days -> 20 days",
    ),
    ("younger children alone", lambda f: replace(f, child_age=16), K.CHILD_AGE, True, "18 -> 16"),
    (
        "selling data",
        lambda f: replace(f, sells_personal_data=True),
        K.SALE,
        True,
        "We now sell personal information",
    ),
    (
        "a new brand",
        lambda f: replace(f, brands={**f.brands, "zeta": "Zeta Sound"}),
        K.BRAND,
        False,
        "New brand: Zeta Sound",
    ),
    (
        "a renamed brand",
        lambda f: replace(f, brands={"acme": "Acme Pro Audio"}),
        K.BRAND,
        False,
        "Acme Audio -> Acme Pro Audio",
    ),
    (
        "a new cookie",
        lambda f: replace(f, cookies={**f.cookies, "analytics/_b": "_b (Vendor), Analytics"}),
        K.COOKIE,
        False,
        "New cookie: _b (Vendor), Analytics",
    ),
    (
        "a category reworded",
        lambda f: replace(f, categories={**f.categories, "user.name": "Your name"}),
        K.CATEGORY,
        False,
        "Name -> Your name",
    ),
]


@pytest.mark.parametrize(
    ("edit", "kind", "material", "sentence"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_change_is_classified(
    edit: Edit, kind: ChangeKind, material: bool, sentence: str
) -> None:
    changes = diff(base(), edit(base()))
    assert [(c.kind, c.material) for c in changes] == [(kind, material)], changes
    assert sentence in changes[0].text
    assert (changes[0].scope is not None) == material  # a material change says whom it concerns


def test_the_same_facts_have_no_changes() -> None:
    assert diff(base(), base()) == []


def test_changes_come_in_the_order_of_the_policy() -> None:
    new = replace(
        purposes(base(), research=RESEARCH),
        brands={"acme": "Acme"},
        contacts={},
        retention={
            **base().retention,
            "support_tickets": replace(
                base().retention["support_tickets"], period="P5Y", period_words="5 years"
            ),
        },
    )
    assert [c.kind for c in diff(base(), new)] == [
        K.CONTACT,
        K.PURPOSE_ADDED,
        K.RETENTION_LONGER,
        K.BRAND,
    ]


@pytest.mark.parametrize(
    ("old", "new", "weaker"),
    [
        ("consent", "contract", True),
        ("consent", "legitimate_interest", True),
        ("contract", "legitimate_interest", True),
        ("legal_obligation", "legitimate_interest", True),
        ("legitimate_interest", "consent", False),
        ("contract", "consent", False),
        ("legitimate_interest", "legal_obligation", False),
        ("consent", "something_new", True),
    ],
)
def test_the_order_of_legal_bases(old: str, new: str, weaker: bool) -> None:
    assert weaker_basis(old, new) is weaker
    assert BASIS_ORDER[0] == "consent" and BASIS_ORDER[-1] == "legitimate_interest"


def test_a_new_consent_purpose_asks_for_consent_and_others_do_not() -> None:
    (survey,) = diff(
        base(),
        touchpoint(
            purposes(base(), survey=SURVEY), "purchase", purposes=("orders", "news", "survey")
        ),
    )
    assert survey.consent_purpose == "survey"
    assert survey.scope == Scope(("user.contact.email",), ("purchase",))
    (research,) = diff(base(), purposes(base(), research=RESEARCH))
    assert research.consent_purpose is None
    assert research.scope == Scope(("user.name",), ())  # no form names it: any form's data


def test_changes_survive_their_json_form() -> None:
    new = rule(purposes(base(), survey=SURVEY), "contact", period="P5Y", period_words="5 years")
    changes = diff(base(), new)
    assert [Change.from_json(c.to_json()) for c in changes] == changes


AUDIENCE_CASES = [
    # (edit, what a person holds, concerned)
    ("a new purpose", lambda f: purposes(f, research=RESEARCH), [("user.name", "purchase")], True),
    (
        "... not without its data",
        lambda f: purposes(f, research=RESEARCH),
        [("user.content.private", "support")],
        False,
    ),
    (
        "a new purpose at a form",
        lambda f: touchpoint(purposes(f, survey=SURVEY), "purchase", purposes=("orders", "survey")),
        [("user.contact.email", "purchase")],
        True,
    ),
    (
        "... not the same data elsewhere",
        lambda f: touchpoint(purposes(f, survey=SURVEY), "purchase", purposes=("orders", "survey")),
        [("user.contact.email", "support")],
        False,
    ),
    (
        "a new recipient of a parent category",
        lambda f: recipient(f, "mailer", categories=("user.contact",)),
        [("user.contact.email", None)],
        True,
    ),
    (
        "longer retention of what the rule governs",
        lambda f: rule(f, "support_tickets", period="P5Y", period_words="5 years"),
        [("user.content.private", "support")],
        True,
    ),
    (
        "... not of what another rule governs",
        lambda f: rule(f, "support_tickets", period="P5Y", period_words="5 years"),
        [("user.name", "support"), ("user.contact.email", None)],
        False,
    ),
    (
        "a new field: the people who use the form",
        lambda f: touchpoint(
            f,
            "support",
            collected={**f.touchpoints["support"].collected, "dob": ("dob", "user.dob")},
        ),
        [("user.content.private", "support")],
        True,
    ),
    (
        "... not those of another form",
        lambda f: touchpoint(
            f,
            "support",
            collected={**f.touchpoints["support"].collected, "dob": ("dob", "user.dob")},
        ),
        [("user.name", "purchase")],
        False,
    ),
    (
        "selling data: everyone",
        lambda f: replace(f, sells_personal_data=True),
        [("user.name", "purchase")],
        True,
    ),
    (
        "nobody for a change that is not material",
        lambda f: purposes(f, news=None),
        [("user.contact.email", "purchase")],
        False,
    ),
]


@pytest.mark.parametrize(
    ("edit", "held", "concerned"),
    [case[1:] for case in AUDIENCE_CASES],
    ids=[case[0] for case in AUDIENCE_CASES],
)
def test_whom_a_material_change_concerns(
    edit: Edit, held: list[tuple[str, str | None]], concerned: bool
) -> None:
    new = edit(base())
    audience = Audience(diff(base(), new), new)
    assert bool(audience.concerning(held)) is concerned
