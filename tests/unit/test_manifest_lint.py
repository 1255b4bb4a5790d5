"""Each lint rule catches the contradiction it exists for, names its key and line, and no more.

Bad manifests are the minimal fixture loaded as data, changed in one place and dumped again.
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from charter.manifest import check_manifest, lint, load_manifest, parse_manifest
from charter.manifest.lint import RULES
from charter.manifest.taxonomy import extends_vocabulary, fideslang_categories

# `charter.manifest.lint` is also the name of the re-exported function; fetch the module itself.
lint_module = importlib.import_module("charter.manifest.lint")

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "minimal.yaml"
EXAMPLE = ROOT / "examples" / "musicgroup" / "charter.yaml"
CHECKED = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+): (?P<key>\S+): (?P<message>.+) \[(?P<rule>\w+)\]$"
)

Data = dict[str, Any]
Mutation = Callable[[Data], None]
KeyPath = tuple[str | int, ...]


@pytest.fixture(scope="module")
def base() -> Data:
    data = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def dump(data: Data) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def line_of_path(text: str, path: KeyPath) -> int:
    """An independent oracle: walk the YAML nodes and return the line of a key or list item."""
    node: yaml.Node = yaml.compose(text, Loader=yaml.SafeLoader)
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(part, int):
            assert isinstance(node, yaml.SequenceNode)
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            assert isinstance(node, yaml.MappingNode)
            key_node, node = next((k, v) for k, v in node.value if k.value == part)
            line = key_node.start_mark.line + 1
    return line


# ---- the mutations, one per contradiction -------------------------------------------------------


def add_category(key: str) -> Mutation:
    def mutate(d: Data) -> None:
        d["data_categories"][key] = {"description": "Made up"}

    return mutate


def undeclared_field_category(d: Data) -> None:
    d["touchpoints"]["purchase"]["fields"]["phone"]["category"] = "user.contact.fax_number"


def undeclared_group_in_purpose(d: Data) -> None:
    d["purposes"]["analytics"]["categories"].append("user.biometric")


def undeclared_system_column(d: Data) -> None:
    d["systems"]["shop"]["tables"]["customers"]["columns"]["dob"] = {"category": "user.age"}


def drop_interest(d: Data) -> None:
    del d["purposes"]["analytics"]["legitimate_interest"]


def drop_notice(d: Data) -> None:
    del d["purposes"]["marketing_email"]["notice"]


def bad_data_use(d: Data) -> None:
    d["purposes"]["analytics"]["data_use"] = "analytics.spying"


def marketing_not_objectable(d: Data) -> None:
    d["purposes"]["marketing_email"]["objectable"] = False


def unknown_brand(d: Data) -> None:
    d["touchpoints"]["support"]["brands"] = ["acme", "omega"]


def unknown_purpose_at_touchpoint(d: Data) -> None:
    d["touchpoints"]["support"]["purposes"].append("telepathy")


def unknown_purpose_at_recipient(d: Data) -> None:
    d["recipients"]["shop_host"]["purposes"].append("telepathy")


def contract_offered_for_consent(d: Data) -> None:
    d["touchpoints"]["purchase"]["consent_purposes"].append("order_fulfilment")


def consent_purpose_not_listed(d: Data) -> None:
    d["touchpoints"]["support"]["consent_purposes"] = ["marketing_email"]


def unknown_touchpoint_in_hold(d: Data) -> None:
    d["retention"]["legal_holds"][0]["touchpoints"] = ["checkout"]


def unknown_touchpoint_in_rule(d: Data) -> None:
    d["retention"]["rules"].append(
        {"key": "extra", "categories": ["user.name"], "touchpoints": ["nowhere"], "period": "P1Y"}
    )


def field_nobody_uses(d: Data) -> None:
    d["touchpoints"]["marketing_signup"]["fields"]["phone"] = {
        "category": "user.contact.phone_number",
        "type": "phone",
    }


def identity_nobody_uses(d: Data) -> None:
    d["touchpoints"]["marketing_signup"]["identities"].append("phone")


def rule_without_period(d: Data) -> None:
    del d["retention"]["rules"][2]["criteria"]


def rule_without_scope(d: Data) -> None:
    d["retention"]["rules"].append({"key": "nothing", "period": "P1Y"})


def category_without_rule(d: Data) -> None:
    d["retention"]["rules"][1]["categories"] = ["user.content"]


def transfer_without_mechanism(d: Data) -> None:
    del d["recipients"]["shop_host"]["transfer"]


def children_consent_alone(d: Data) -> None:
    d["purposes"]["marketing_email"]["minors"] = "allowed"


def birth_date_as_text(d: Data) -> None:
    d["touchpoints"]["support"]["fields"]["date_of_birth"]["type"] = "string"


def card_number_field(d: Data) -> None:
    d["touchpoints"]["purchase"]["fields"]["card_number"] = {"category": "user.payment.token"}


def cvv_field(d: Data) -> None:
    d["touchpoints"]["purchase"]["fields"]["cvv"] = {"category": "user.payment.token"}


def card_category_field(d: Data) -> None:
    # Declared, used by the purpose and retained: only the card rule may object.
    d["data_categories"]["user.financial.credit_card"] = {"description": "Card number"}
    d["purposes"]["order_fulfilment"]["categories"].append("user.financial.credit_card")
    d["retention"]["rules"][2]["categories"].append("user.financial")
    d["touchpoints"]["purchase"]["fields"]["card"] = {"category": "user.financial.credit_card"}


def card_number_column(d: Data) -> None:
    d["systems"]["shop"]["tables"]["orders"]["columns"]["card_number"] = {
        "category": "user.payment.token"
    }


def analytics_without_consent(d: Data) -> None:
    d["cookies"]["analytics"]["consent_required"] = False


def analytics_without_purpose(d: Data) -> None:
    del d["cookies"]["analytics"]["purpose"]


def analytics_for_a_contract_purpose(d: Data) -> None:
    d["cookies"]["analytics"]["purpose"] = "order_fulfilment"


def cookie_of_unknown_brand(d: Data) -> None:
    d["cookies"]["analytics"]["cookies"][0]["brands"] = ["nowhere"]


def _tcf(vendors: list[Data]) -> Data:
    return {"cmp_id": 300, "vendor_list_version": 1, "publisher_country": "DE", "vendors": vendors}


def tcf_vendor_twice(d: Data) -> None:
    vendor = {"id": 7, "name": "Ads", "category": "analytics", "purposes": [1]}
    d["brands"]["acme"]["tcf"] = _tcf([vendor, dict(vendor, name="Ads again")])


def tcf_vendor_without_consent(d: Data) -> None:
    vendor = {"id": 7, "name": "Ads", "category": "strictly_necessary", "purposes": [1]}
    d["brands"]["acme"]["tcf"] = _tcf([vendor])


def consent_cookie_undeclared(d: Data) -> None:
    d["cookie_banner"] = {"consent_cookie": "our_choice"}


def sql_without_connection(d: Data) -> None:
    del d["systems"]["shop"]["connection_env"]


def relation_to_unknown_table(d: Data) -> None:
    d["systems"]["shop"]["tables"]["orders"]["relations"][0]["references"] = "clients.id"


def relation_to_non_key(d: Data) -> None:
    d["systems"]["shop"]["tables"]["orders"]["relations"][0]["references"] = "customers.email"


def unknown_legal_hold(d: Data) -> None:
    d["systems"]["shop"]["tables"]["orders"]["legal_hold"] = "tax_records"


def table_nobody_reaches(d: Data) -> None:
    d["systems"]["shop"]["tables"]["wishlists"] = {"primary_key": "wish_id"}


def relations_in_a_cycle(d: Data) -> None:
    # Both tables stay reachable (customers has identities): only the cycle is wrong.
    d["systems"]["shop"]["tables"]["customers"]["relations"] = [
        {"column": "last_order_id", "references": "orders.id"}
    ]


def domain_twice(d: Data) -> None:
    d["brands"]["zeta"]["domains"].append("ACME.example.org")


def events_in_unknown_system(d: Data) -> None:
    d["events"] = {"system": "lake"}


def events_in_sql_system(d: Data) -> None:
    d["events"] = {"system": "shop"}


def with_password(field_type: str) -> Mutation:
    """An account password at checkout, for signing in, of ``field_type``."""

    def mutate(d: Data) -> None:
        d["data_categories"]["user.authorization.credentials"] = {"description": "Password"}
        d["purposes"]["sign_in"] = {
            "name": "Sign-in",
            "description": "Authenticate you.",
            "data_use": "essential.service.authentication",
            "legal_basis": "contract",
            "categories": ["user.authorization.credentials"],
        }
        d["touchpoints"]["purchase"]["purposes"].append("sign_in")
        d["touchpoints"]["purchase"]["fields"]["password"] = {
            "category": "user.authorization.credentials",
            "type": field_type,
        }
        d["retention"]["rules"][0]["categories"].append("user.authorization")

    return mutate


def password_as_text(d: Data) -> None:
    with_password("string")(d)


def passwords_for_analytics(d: Data) -> None:
    with_password("password")(d)
    d["purposes"]["analytics"]["categories"].append("user.authorization")


def name_shown_without_public_recipient(d: Data) -> None:
    d["touchpoints"]["support"]["fields"]["name"]["visibility"] = "public"


def post_kept_private(d: Data) -> None:
    d["data_categories"]["user.content.public"] = {"description": "Forum posts"}
    d["purposes"]["support"]["categories"][2] = "user.content"
    message = d["touchpoints"]["support"]["fields"]["message"]
    message.update(category="user.content.public", visibility="private")


def published_by_unknown_system(d: Data) -> None:
    d["touchpoints"]["support"]["publication"] = {"system": "forum"}


def unknown_republisher(d: Data) -> None:
    d["touchpoints"]["support"]["publication"] = {"republishers": ["archive"]}


LOOPWORKS = {
    "name": "Loopworks Software Ltd",
    "kind": "partner",
    "description": "Software partner.",
    "agreements": ["LW-1"],
}


def notice_not_declared(d: Data) -> None:
    d["touchpoints"]["support"]["fields"]["message"]["prior_notice"] = "diagnostics_notice"


def partner_touchpoint_without_partners(d: Data) -> None:
    d["touchpoints"]["purchase"].update(source="partner", partners=[])


def partner_not_declared(d: Data) -> None:
    d["touchpoints"]["purchase"].update(source="partner", partners=["ghost"])


def direct_touchpoint_with_partners(d: Data) -> None:
    d["partners"] = {"loopworks": dict(LOOPWORKS)}
    d["touchpoints"]["purchase"]["partners"] = ["loopworks"]


def partner_without_agreement(d: Data) -> None:
    d["partners"] = {"loopworks": {**LOOPWORKS, "agreements": []}}


def partner_people_unreachable(d: Data) -> None:
    d["partners"] = {"loopworks": dict(LOOPWORKS)}
    d["touchpoints"]["support"].update(
        source="partner", partners=["loopworks"], identities=["phone", "device_serial"]
    )


# (rule code, function in RULES, mutation, key path of the problem, text on the reported line)
CASES: list[tuple[str, str, Mutation, KeyPath, str]] = [
    (
        "fideslang_category",
        "declared_categories",
        add_category("customer.shoe_size"),
        ("data_categories", "customer.shoe_size"),
        "customer.shoe_size:",
    ),
    (
        "fideslang_category",
        "declared_categories",
        add_category("user.shoe_size"),  # extending the top-level key says nothing
        ("data_categories", "user.shoe_size"),
        "user.shoe_size:",
    ),
    (
        "undeclared_category",
        "declared_categories",
        undeclared_field_category,
        ("touchpoints", "purchase", "fields", "phone", "category"),
        "user.contact.fax_number",
    ),
    (
        "undeclared_category",
        "declared_categories",
        undeclared_group_in_purpose,
        ("purposes", "analytics", "categories", 2),
        "user.biometric",
    ),
    (
        "undeclared_category",
        "declared_categories",
        undeclared_system_column,
        ("systems", "shop", "tables", "customers", "columns", "dob", "category"),
        "user.age",
    ),
    (
        "legitimate_interest_stated",
        "purposes_have_bases",
        drop_interest,
        ("purposes", "analytics", "legal_basis"),
        "legal_basis: legitimate_interest",
    ),
    (
        "consent_notice",
        "purposes_have_bases",
        drop_notice,
        ("purposes", "marketing_email", "legal_basis"),
        "legal_basis: consent",
    ),
    (
        "fideslang_data_use",
        "purposes_have_bases",
        bad_data_use,
        ("purposes", "analytics", "data_use"),
        "analytics.spying",
    ),
    (
        "marketing_objection",
        "purposes_have_bases",
        marketing_not_objectable,
        ("purposes", "marketing_email", "objectable"),
        "objectable: false",
    ),
    (
        "unknown_brand",
        "references_resolve",
        unknown_brand,
        ("touchpoints", "support", "brands", 1),
        "- omega",
    ),
    (
        "unknown_purpose",
        "references_resolve",
        unknown_purpose_at_touchpoint,
        ("touchpoints", "support", "purposes", 1),
        "- telepathy",
    ),
    (
        "unknown_purpose",
        "references_resolve",
        unknown_purpose_at_recipient,
        ("recipients", "shop_host", "purposes", 1),
        "- telepathy",
    ),
    (
        "consent_purpose_basis",
        "references_resolve",
        contract_offered_for_consent,
        ("touchpoints", "purchase", "consent_purposes", 1),
        "- order_fulfilment",
    ),
    (
        "consent_purpose_listed",
        "references_resolve",
        consent_purpose_not_listed,
        ("touchpoints", "support", "consent_purposes", 0),
        "- marketing_email",
    ),
    (
        "unknown_touchpoint",
        "references_resolve",
        unknown_touchpoint_in_hold,
        ("retention", "legal_holds", 0, "touchpoints", 0),
        "- checkout",
    ),
    (
        "unknown_touchpoint",
        "references_resolve",
        unknown_touchpoint_in_rule,
        ("retention", "rules", 3, "touchpoints", 0),
        "- nowhere",
    ),
    (
        "field_without_purpose",
        "fields_have_purpose",
        field_nobody_uses,
        ("touchpoints", "marketing_signup", "fields", "phone", "category"),
        "category: user.contact.phone_number",
    ),
    (
        "field_without_purpose",
        "fields_have_purpose",
        identity_nobody_uses,
        ("touchpoints", "marketing_signup", "identities", 2),
        "- phone",
    ),
    (
        "retention_period",
        "retention_covers_collection",
        rule_without_period,
        ("retention", "rules", 2),
        "- key: payment_tokens",
    ),
    (
        "retention_scope",
        "retention_covers_collection",
        rule_without_scope,
        ("retention", "rules", 3),
        "- key: nothing",
    ),
    (
        "retention_missing",
        "retention_covers_collection",
        category_without_rule,
        ("touchpoints", "support", "fields", "date_of_birth", "category"),
        "category: user.demographic.date_of_birth",
    ),
    (
        "transfer_mechanism",
        "transfers_have_mechanism",
        transfer_without_mechanism,
        ("recipients", "shop_host", "country"),
        "country: US",
    ),
    (
        "child_consent",
        "children_need_parents",
        children_consent_alone,
        ("purposes", "marketing_email", "minors"),
        "minors: allowed",
    ),
    (
        "age_field_type",
        "age_fields_typed",
        birth_date_as_text,
        ("touchpoints", "support", "fields", "date_of_birth", "type"),
        "type: string",
    ),
    (
        "card_data",
        "no_card_numbers",
        card_number_field,
        ("touchpoints", "purchase", "fields", "card_number"),
        "card_number:",
    ),
    (
        "card_data",
        "no_card_numbers",
        cvv_field,
        ("touchpoints", "purchase", "fields", "cvv"),
        "cvv:",
    ),
    (
        "card_data",
        "no_card_numbers",
        card_category_field,
        ("touchpoints", "purchase", "fields", "card"),
        "card:",
    ),
    (
        "card_data",
        "no_card_numbers",
        card_number_column,
        ("systems", "shop", "tables", "orders", "columns", "card_number"),
        "card_number:",
    ),
    (
        "cookie_consent",
        "cookies_consent",
        analytics_without_consent,
        ("cookies", "analytics", "consent_required"),
        "consent_required: false",
    ),
    (
        "cookie_purpose",
        "cookie_categories_resolve",
        analytics_without_purpose,
        ("cookies", "analytics"),
        "  analytics:",
    ),
    (
        "cookie_purpose",
        "cookie_categories_resolve",
        analytics_for_a_contract_purpose,
        ("cookies", "analytics", "purpose"),
        "purpose: order_fulfilment",
    ),
    (
        "unknown_brand",
        "cookie_categories_resolve",
        cookie_of_unknown_brand,
        ("cookies", "analytics", "cookies", 0, "brands", 0),
        "- nowhere",
    ),
    (
        "tcf_vendor",
        "cookie_categories_resolve",
        tcf_vendor_twice,
        ("brands", "acme", "tcf", "vendors", 1, "id"),
        "id: 7",
    ),
    (
        "tcf_vendor",
        "cookie_categories_resolve",
        tcf_vendor_without_consent,
        ("brands", "acme", "tcf", "vendors", 0, "category"),
        "category: strictly_necessary",
    ),
    (
        "consent_cookie_declared",
        "cookie_categories_resolve",
        consent_cookie_undeclared,
        ("cookie_banner", "consent_cookie"),
        "consent_cookie: our_choice",
    ),
    (
        "system_connection",
        "systems_resolve",
        sql_without_connection,
        ("systems", "shop"),
        "shop:",
    ),
    (
        "unknown_table",
        "systems_resolve",
        relation_to_unknown_table,
        ("systems", "shop", "tables", "orders", "relations", 0, "references"),
        "clients.id",
    ),
    (
        "relation_key",
        "systems_resolve",
        relation_to_non_key,
        ("systems", "shop", "tables", "orders", "relations", 0, "references"),
        "customers.email",
    ),
    (
        "unknown_legal_hold",
        "systems_resolve",
        unknown_legal_hold,
        ("systems", "shop", "tables", "orders", "legal_hold"),
        "legal_hold: tax_records",
    ),
    (
        "unreachable_table",
        "systems_traversable",
        table_nobody_reaches,
        ("systems", "shop", "tables", "wishlists"),
        "wishlists:",
    ),
    (
        "relation_cycle",
        "systems_traversable",
        relations_in_a_cycle,
        ("systems", "shop", "tables", "orders", "relations", 0),
        "column: customer_id",
    ),
    (
        "duplicate_domain",
        "brand_domains_unique",
        domain_twice,
        ("brands", "zeta", "domains", 1),
        "- ACME.example.org",
    ),
    (
        "events_system",
        "events_system_parquet",
        events_in_unknown_system,
        ("events", "system"),
        "system: lake",
    ),
    (
        "events_system",
        "events_system_parquet",
        events_in_sql_system,
        ("events", "system"),
        "system: shop",
    ),
    (
        "credentials_hashed",
        "credentials_hashed",
        password_as_text,
        ("touchpoints", "purchase", "fields", "password", "type"),
        "type: string",
    ),
    (
        "credentials_for_authentication",
        "credentials_for_authentication",
        passwords_for_analytics,
        ("purposes", "analytics", "categories", 2),
        "- user.authorization",
    ),
    (
        "notice_declared",
        "notices_declared",
        notice_not_declared,
        ("touchpoints", "support", "fields", "message", "prior_notice"),
        "prior_notice: diagnostics_notice",
    ),
    (
        "partners_declared",
        "partners_declared",
        partner_touchpoint_without_partners,
        ("touchpoints", "purchase", "partners"),
        "partners: []",
    ),
    (
        "partners_declared",
        "partners_declared",
        partner_not_declared,
        ("touchpoints", "purchase", "partners", 0),
        "- ghost",
    ),
    (
        "partners_declared",
        "partners_declared",
        direct_touchpoint_with_partners,
        ("touchpoints", "purchase", "partners"),
        "partners:",
    ),
    (
        "partner_agreement",
        "partner_agreement",
        partner_without_agreement,
        ("partners", "loopworks", "agreements"),
        "agreements: []",
    ),
    (
        "art14_reachable",
        "art14_reachable",
        partner_people_unreachable,
        ("touchpoints", "support", "partners", 0),
        "- loopworks",
    ),
    (
        "public_fields_declared",
        "public_fields_declared",
        name_shown_without_public_recipient,
        ("touchpoints", "support", "fields", "name", "visibility"),
        "visibility: public",
    ),
    (
        "public_fields_declared",
        "public_fields_declared",
        post_kept_private,
        ("touchpoints", "support", "fields", "message", "visibility"),
        "visibility: private",
    ),
    (
        "public_fields_declared",
        "public_fields_declared",
        published_by_unknown_system,
        ("touchpoints", "support", "publication", "system"),
        "system: forum",
    ),
    (
        "public_fields_declared",
        "public_fields_declared",
        unknown_republisher,
        ("touchpoints", "support", "publication", "republishers", 0),
        "- archive",
    ),
]


# contest_rules_resolve: the minimal fixture's purchase made a contest, broken in one place each.
CONTEST_RULES = "https://example.org/contest-rules"


def _contest(**rules: Any) -> Mutation:
    def mutate(d: Data) -> None:
        d["touchpoints"]["purchase"]["contest"] = {"rules_url": CONTEST_RULES, **rules}

    return mutate


contest_name_field_unknown = _contest(name_field="nickname")
contest_country_without_field = _contest(winner_country=True)
contest_names_nobody_may_read = _contest(winners="full_name")
contest_sponsored_by_a_processor = _contest(sponsor="shop_host")

CASES += [
    (
        "contest_rules_resolve",
        "contest_rules_resolve",
        contest_name_field_unknown,
        ("touchpoints", "purchase", "contest", "name_field"),
        "name_field: nickname",
    ),
    (
        "contest_rules_resolve",
        "contest_rules_resolve",
        contest_country_without_field,
        ("touchpoints", "purchase", "contest", "winner_country"),
        "winner_country: true",
    ),
    (
        "contest_rules_resolve",
        "contest_rules_resolve",
        contest_names_nobody_may_read,
        ("touchpoints", "purchase", "contest", "winners"),
        "winners: full_name",
    ),
    (
        "contest_rules_resolve",
        "contest_rules_resolve",
        contest_sponsored_by_a_processor,
        ("touchpoints", "purchase", "contest", "sponsor"),
        "sponsor: shop_host",
    ),
]


# survey_rules_resolve: the minimal fixture's marketing sign-up made a survey, its `name` field
# a choice, the public told of `marketing_email`; broken in one place each.
def _survey(choices: bool = True, public: str | None = "marketing_email", **rules: Any) -> Mutation:
    def mutate(d: Data) -> None:
        touchpoint = d["touchpoints"]["marketing_signup"]
        if choices:
            touchpoint["fields"]["name"]["choices"] = ["yes", "no"]
        if public is not None:
            d["recipients"]["public"]["purposes"] = [public]
            d["recipients"]["public"]["categories"] = ["user.name"]
        touchpoint["survey"] = {"results": ["name"], **rules}

    return mutate


_QUOTED = {"quote_field": "name", "name_field": "name", "attribution_purpose": "marketing_email"}
survey_results_without_choices = _survey(choices=False)
survey_results_unknown_field = _survey(results=["rating"])
survey_quote_field_unknown = _survey(**{**_QUOTED, "quote_field": "comment"})
survey_quote_unsigned = _survey(quote_field="name", attribution_purpose="marketing_email")
survey_attribution_not_offered = _survey(
    public="analytics", **{**_QUOTED, "attribution_purpose": "analytics"}
)
survey_attribution_not_public = _survey(public=None, **_QUOTED)

CASES += [
    (
        "survey_rules_resolve",
        "survey_rules_resolve",
        survey_results_without_choices,
        ("touchpoints", "marketing_signup", "survey", "results", 0),
        "- name",
    ),
    (
        "survey_rules_resolve",
        "survey_rules_resolve",
        survey_results_unknown_field,
        ("touchpoints", "marketing_signup", "survey", "results", 0),
        "- rating",
    ),
    (
        "survey_rules_resolve",
        "survey_rules_resolve",
        survey_quote_field_unknown,
        ("touchpoints", "marketing_signup", "survey", "quote_field"),
        "quote_field: comment",
    ),
    (
        "survey_rules_resolve",
        "survey_rules_resolve",
        survey_quote_unsigned,
        ("touchpoints", "marketing_signup", "survey", "quote_field"),
        "quote_field: name",
    ),
    (
        "survey_rules_resolve",
        "survey_rules_resolve",
        survey_attribution_not_offered,
        ("touchpoints", "marketing_signup", "survey", "attribution_purpose"),
        "attribution_purpose: analytics",
    ),
    (
        "survey_rules_resolve",
        "survey_rules_resolve",
        survey_attribution_not_public,
        ("touchpoints", "marketing_signup", "survey", "attribution_purpose"),
        "attribution_purpose: marketing_email",
    ),
]


# soft_opt_in_valid (ePrivacy Art. 13(2)): a soft opt-in purpose added, broken in one place each;
# every case of the rule is in tests/unit/test_soft_opt_in.py.
def _soft_opt_in(touchpoint: str, **purpose: Any) -> Mutation:
    def mutate(d: Data) -> None:
        d["purposes"]["customer_news"] = {
            "name": "Product news for customers",
            "description": "News of our own similar products, for existing customers.",
            "data_use": "marketing.communications.email",
            "legal_basis": "soft_opt_in",
            "soft_opt_in": {"established_by": [touchpoint], "opt_out_notice": "Tick to opt out."},
            "direct_marketing": True,
            "categories": ["user.contact.email", "user.name"],
            **purpose,
        }
        d["touchpoints"][touchpoint]["purposes"].append("customer_news")

    return mutate


soft_opt_in_not_marketing = _soft_opt_in("purchase", direct_marketing=False)
soft_opt_in_without_a_sale = _soft_opt_in("marketing_signup")

CASES += [
    (
        "soft_opt_in_valid",
        "soft_opt_in_valid",
        soft_opt_in_not_marketing,
        ("purposes", "customer_news", "direct_marketing"),
        "direct_marketing: false",
    ),
    (
        "soft_opt_in_valid",
        "soft_opt_in_valid",
        soft_opt_in_without_a_sale,
        ("purposes", "customer_news", "soft_opt_in", "established_by", 0),
        "- marketing_signup",
    ),
]


def _case_id(case: tuple[str, str, Mutation, KeyPath, str]) -> str:
    return f"{case[0]}-{case[2].__name__}"


@pytest.mark.parametrize(
    ("code", "rule_name", "mutate", "path", "needle"),
    [pytest.param(*case, id=_case_id(case)) for case in CASES],
)
def test_rule_reports_rule_key_and_line(
    base: Data,
    tmp_path: Path,
    code: str,
    rule_name: str,
    mutate: Mutation,
    path: KeyPath,
    needle: str,
) -> None:
    data = copy.deepcopy(base)
    mutate(data)
    text = dump(data)
    manifest, _ = parse_manifest(text)

    # The rule function itself finds it, and every problem in the manifest is this one rule's.
    rule = getattr(lint_module, rule_name)
    assert rule in RULES
    assert (code, path) in {(p.rule, p.path) for p in rule(manifest)}
    assert {p.rule for p in lint(manifest)} == {code}, lint(manifest)

    # The checked report names the file, the line of the key, the key path and the rule.
    file = tmp_path / "charter.yaml"
    file.write_text(text, encoding="utf-8")
    key = ".".join(str(part) for part in path)
    reports = [CHECKED.match(line) for line in check_manifest(file)]
    assert all(reports), reports
    ours = [m for m in reports if m is not None and m["key"] == key]
    assert ours, f"no report names {key}: {check_manifest(file)}"
    (report,) = ours
    assert report["file"] == str(file)
    assert report["rule"] == code
    line = int(report["line"])
    assert line == line_of_path(text, path)
    assert needle in text.splitlines()[line - 1]


def test_every_rule_and_every_code_is_exercised() -> None:
    source = Path(lint_module.__file__).read_text(encoding="utf-8")
    codes = set(re.findall(r'Problem\(\s*"(\w+)"', source))
    assert codes == {case[0] for case in CASES}
    assert {rule.__name__ for rule in RULES} == {case[1] for case in CASES}


# ---- sound manifests ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [FIXTURE, EXAMPLE], ids=["minimal", "musicgroup"])
def test_sound_manifest_has_no_problem(path: Path) -> None:
    assert lint(load_manifest(path)) == []


def test_fixture_survives_the_dump_round_trip(base: Data) -> None:
    manifest, _ = parse_manifest(dump(copy.deepcopy(base)))
    assert lint(manifest) == []


def exempt_platform_without_email(d: Data) -> None:
    """A social platform with no agreement, exempt from Art. 14 notices (Art. 14(5)(b)): its
    touchpoint needs no e-mail identity."""
    d["partners"] = {
        "chirp": {
            "name": "Chirp pages",
            "kind": "social_media",
            "description": "Brand pages.",
            "exemption": {"ground": "disproportionate_effort", "reason": "Handles only."},
        }
    }
    d["touchpoints"]["support"].update(
        source="social_media", partners=["chirp"], identities=["phone", "device_serial"]
    )


ALLOWED: list[tuple[str, Mutation]] = [
    ("exempt social platform reached without e-mail", exempt_platform_without_email),
    (
        "data use extending fideslang",
        lambda d: d["purposes"]["analytics"].update(data_use="analytics.reporting.dashboards"),
    ),
    (
        "group key in a recipient covering declared categories",
        lambda d: d["recipients"]["shop_host"]["categories"].append("user.device"),
    ),
    (
        "recipient inside the EEA without a transfer mechanism",
        lambda d: d["recipients"]["shop_host"].update(country="IE", transfer=None),
    ),
    (
        "recipient in the home country when home is a country",
        lambda d: (
            d["policy"].update(home_region="US"),
            d["recipients"]["shop_host"].update(transfer=None),
        ),
    ),
    (
        "consent purpose excluding minors",
        lambda d: d["purposes"]["marketing_email"].update(minors="excluded"),
    ),
    (
        "direct marketing objectable explicitly",
        lambda d: d["purposes"]["marketing_email"].update(objectable=True),
    ),
    (
        "retention by criteria only",
        lambda d: d["retention"]["rules"][0].update(
            period=None, criteria="While the account lives."
        ),
    ),
    (
        "field names that merely contain 'pan' or 'card'",
        lambda d: d["touchpoints"]["purchase"]["fields"].update(
            company={"category": "user.name"}, card_holder_name={"category": "user.name"}
        ),
    ),
    (
        "table under an existing legal hold",
        lambda d: d["systems"]["shop"]["tables"]["orders"].update(legal_hold="order_records"),
    ),
    (
        "table reached through a chain of relations",
        lambda d: d["systems"]["shop"]["tables"].update(
            order_items={"relations": [{"column": "order_id", "references": "orders.id"}]}
        ),
    ),
    (
        "table with its own primary key referenced by that name",
        lambda d: d["systems"]["shop"]["tables"].update(
            notes={
                "primary_key": "note_no",
                "relations": [{"column": "customer_id", "references": "customers.id"}],
            },
            note_lines={"relations": [{"column": "note_no", "references": "notes.note_no"}]},
        ),
    ),
    (
        "non-sql system whose tables have no identities",
        lambda d: d["systems"].update(
            warehouse={"name": "Warehouse", "connector": "manual", "tables": {"shelves": {}}}
        ),
    ),
    (
        "manual system without a connection",
        lambda d: d["systems"].update(
            warehouse={"name": "Warehouse", "connector": "manual", "tables": {}}
        ),
    ),
    ("password field kept as a hash, for signing in", with_password("password")),
    (
        "recipient storing the accounts' passwords (not a purpose)",
        lambda d: (
            with_password("password")(d),
            d["recipients"]["shop_host"]["categories"].append("user.authorization"),
        ),
    ),
]


@pytest.mark.parametrize("mutate", [pytest.param(m, id=name) for name, m in ALLOWED])
def test_allowed_variations_pass(base: Data, mutate: Mutation) -> None:
    data = copy.deepcopy(base)
    mutate(data)
    manifest, _ = parse_manifest(dump(data))
    assert lint(manifest) == []


def test_problems_come_in_manifest_order(base: Data) -> None:
    data = copy.deepcopy(base)
    names = ["zz.one", "aa.two", "mm.three", "bb.four"]
    for name in names:
        add_category(name)(data)
    manifest, _ = parse_manifest(dump(data))
    found = [p.path[1] for p in lint(manifest) if p.rule == "fideslang_category"]
    assert found == names


def test_every_problem_is_reported_at_once(base: Data) -> None:
    data = copy.deepcopy(base)
    for mutate in (drop_notice, unknown_brand, analytics_without_consent, domain_twice):
        mutate(data)
    manifest, _ = parse_manifest(dump(data))
    assert {p.rule for p in lint(manifest)} == {
        "consent_notice",
        "unknown_brand",
        "cookie_consent",
        "duplicate_domain",
    }


@pytest.mark.parametrize(
    ("key", "extends"),
    [
        ("user.contact.email", True),
        ("user.payment.token", True),
        ("user.telemetry.diagnostics", True),
        ("user.contact.address.country", True),
        ("user", True),
        ("user.shoe_size", False),
        ("customer.email", False),
        ("users.contact.email", False),
    ],
)
def test_extends_vocabulary(key: str, extends: bool) -> None:
    assert extends_vocabulary(key, fideslang_categories()) is extends
