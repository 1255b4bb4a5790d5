"""Lint rules: contradictions a manifest must not publish.

Each rule is a generator of ``Problem``s over a loaded manifest; ``lint`` runs them all so that
one ``charter policy check`` lists every fault at once. Problems carry the key path, which the
caller turns into a line number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from charter.domain.categories import covered_by_any, covers
from charter.domain.regions import in_region
from charter.manifest.models import (
    IDENTITY_CATEGORIES,
    ConnectorKind,
    FieldType,
    LegalBasis,
    LegalHold,
    Manifest,
    MinorsRule,
    RecipientKind,
    RetentionRule,
    System,
)
from charter.manifest.taxonomy import (
    extends_vocabulary,
    fideslang_categories,
    fideslang_data_uses,
)

KeyPath = tuple[str | int, ...]

CARD_CATEGORIES = ("user.financial.credit_card",)
_CARD_FIELD_NAME = re.compile(
    r"(?i)(^|_)(card_?(number|no|num)|cc_?(number|num)|pan|cvv2?|cvc2?|csc|card_?expir\w*)($|_)"
)


@dataclass(frozen=True, slots=True)
class Problem:
    rule: str
    path: KeyPath
    message: str


Rule = Callable[[Manifest], Iterator[Problem]]


def _collected(manifest: Manifest) -> Iterator[tuple[str, KeyPath, str]]:
    """Every (touchpoint, key path, category) the manifest collects, identities included."""
    for tp_key, touchpoint in manifest.touchpoints.items():
        for index, kind in enumerate(touchpoint.identities):
            yield tp_key, ("touchpoints", tp_key, "identities", index), IDENTITY_CATEGORIES[kind]
        for field_key, spec in touchpoint.fields.items():
            yield tp_key, ("touchpoints", tp_key, "fields", field_key, "category"), spec.category


def declared_categories(manifest: Manifest) -> Iterator[Problem]:
    """Every category used anywhere is declared in ``data_categories`` and extends fideslang."""
    declared = set(manifest.data_categories)
    vocabulary = fideslang_categories()
    for key in manifest.data_categories:  # manifest order, not set order: stable output
        if not extends_vocabulary(key, vocabulary):
            yield Problem(
                "fideslang_category",
                ("data_categories", key),
                f"'{key}' is not a fideslang data category and does not extend one",
            )
    uses: list[tuple[KeyPath, str]] = [(path, cat) for _, path, cat in _collected(manifest)]
    for key, purpose in manifest.purposes.items():
        uses += [(("purposes", key, "categories", i), c) for i, c in enumerate(purpose.categories)]
    for key, recipient in manifest.recipients.items():
        uses += [
            (("recipients", key, "categories", i), c) for i, c in enumerate(recipient.categories)
        ]
    for index, rule in enumerate(manifest.retention.rules):
        uses += [
            (("retention", "rules", index, "categories", i), c)
            for i, c in enumerate(rule.categories)
        ]
    for index, hold in enumerate(manifest.retention.legal_holds):
        uses += [
            (("retention", "legal_holds", index, "categories", i), c)
            for i, c in enumerate(hold.categories)
        ]
    for sys_key, system in manifest.systems.items():
        for table_key, table in system.tables.items():
            for column, spec in table.columns.items():
                where: KeyPath = ("systems", sys_key, "tables", table_key, "columns", column)
                uses.append(((*where, "category"), spec.category))
    collected_paths = {path for _, path, _ in _collected(manifest)}
    for path, category in uses:
        # Collected values need an exact declared category; elsewhere a group key such as
        # "user.contact" is fine when it covers at least one declared category.
        grouped = path not in collected_paths and any(covers(category, d) for d in declared)
        if category not in declared and not grouped:
            yield Problem(
                "undeclared_category", path, f"category '{category}' is not in data_categories"
            )


def purposes_have_bases(manifest: Manifest) -> Iterator[Problem]:
    """Legitimate-interest purposes state the interest; consent purposes state the notice."""
    uses = fideslang_data_uses()
    for key, purpose in manifest.purposes.items():
        path: KeyPath = ("purposes", key)
        if (
            purpose.legal_basis is LegalBasis.LEGITIMATE_INTEREST
            and not purpose.legitimate_interest
        ):
            yield Problem(
                "legitimate_interest_stated",
                (*path, "legal_basis"),
                "a legitimate-interest purpose must state the interest (legitimate_interest: ...)",
            )
        if purpose.legal_basis is LegalBasis.CONSENT and not purpose.notice:
            yield Problem(
                "consent_notice",
                (*path, "legal_basis"),
                "a consent purpose must give the notice text shown to the person (notice: ...)",
            )
        if not extends_vocabulary(purpose.data_use, uses):
            yield Problem(
                "fideslang_data_use",
                (*path, "data_use"),
                f"'{purpose.data_use}' is not a fideslang data use and does not extend one",
            )
        if purpose.direct_marketing and purpose.objectable is False:
            yield Problem(
                "marketing_objection",
                (*path, "objectable"),
                "objection to direct marketing is absolute (GDPR Art. 21(2)); it cannot be off",
            )


def references_resolve(manifest: Manifest) -> Iterator[Problem]:
    """Every brand, purpose and touchpoint named somewhere is declared."""
    for key, touchpoint in manifest.touchpoints.items():
        if touchpoint.brands != "all":
            for i, brand in enumerate(touchpoint.brands):
                if brand not in manifest.brands:
                    yield Problem(
                        "unknown_brand", ("touchpoints", key, "brands", i), f"no brand '{brand}'"
                    )
        for section in ("purposes", "consent_purposes"):
            for i, name in enumerate(getattr(touchpoint, section)):
                path: KeyPath = ("touchpoints", key, section, i)
                if name not in manifest.purposes:
                    yield Problem("unknown_purpose", path, f"no purpose '{name}'")
                elif (
                    section == "consent_purposes"
                    and manifest.purposes[name].legal_basis is not LegalBasis.CONSENT
                ):
                    yield Problem(
                        "consent_purpose_basis",
                        path,
                        f"'{name}' is offered for consent but its legal basis is "
                        f"{manifest.purposes[name].legal_basis.value}",
                    )
                elif section == "consent_purposes" and name not in touchpoint.purposes:
                    yield Problem(
                        "consent_purpose_listed", path, f"'{name}' must also be in purposes"
                    )
    for key, recipient in manifest.recipients.items():
        for i, name in enumerate(recipient.purposes):
            if name not in manifest.purposes:
                yield Problem(
                    "unknown_purpose", ("recipients", key, "purposes", i), f"no purpose '{name}'"
                )
    holders: list[tuple[str, Sequence[RetentionRule | LegalHold]]] = [
        ("rules", manifest.retention.rules),
        ("legal_holds", manifest.retention.legal_holds),
    ]
    for section, items in holders:
        for index, item in enumerate(items):
            for i, name in enumerate(item.touchpoints):
                if name not in manifest.touchpoints:
                    yield Problem(
                        "unknown_touchpoint",
                        ("retention", section, index, "touchpoints", i),
                        f"no touchpoint '{name}'",
                    )


def fields_have_purpose(manifest: Manifest) -> Iterator[Problem]:
    """A field is collected only if one of the touchpoint's purposes uses its category."""
    for tp_key, path, category in _collected(manifest):
        touchpoint = manifest.touchpoints[tp_key]
        purposes = [manifest.purposes[p] for p in touchpoint.purposes if p in manifest.purposes]
        if not any(covered_by_any(category, p.categories) for p in purposes):
            yield Problem(
                "field_without_purpose",
                path,
                f"'{category}' is collected but none of the touchpoint's purposes uses it "
                "(data minimisation, GDPR Art. 5(1)(c))",
            )


def retention_covers_collection(manifest: Manifest) -> Iterator[Problem]:
    """Every collected category has a retention rule with a period or stated criteria."""
    rules = manifest.retention.rules
    for index, rule in enumerate(rules):
        if rule.period is None and not rule.criteria:
            yield Problem(
                "retention_period",
                ("retention", "rules", index),
                f"rule '{rule.key}' needs a period (ISO 8601) or the criteria used",
            )
        if not rule.categories and not rule.touchpoints:
            yield Problem(
                "retention_scope",
                ("retention", "rules", index),
                f"rule '{rule.key}' applies to nothing: give categories or touchpoints",
            )
    for tp_key, path, category in _collected(manifest):
        matched = any(
            (not rule.categories or covered_by_any(category, rule.categories))
            and (not rule.touchpoints or tp_key in rule.touchpoints)
            for rule in rules
        )
        if not matched:
            yield Problem(
                "retention_missing",
                path,
                f"no retention rule covers '{category}' collected at '{tp_key}' "
                "(storage limitation, GDPR Art. 5(1)(e))",
            )


def transfers_have_mechanism(manifest: Manifest) -> Iterator[Problem]:
    """A recipient outside the home region needs a transfer mechanism (GDPR Chapter V)."""
    region = manifest.policy.home_region
    for key, recipient in manifest.recipients.items():
        if recipient.kind is RecipientKind.PUBLIC or recipient.country is None:
            continue
        if not in_region(recipient.country, region) and recipient.transfer is None:
            yield Problem(
                "transfer_mechanism",
                ("recipients", key, "country"),
                f"'{key}' receives data in {recipient.country}, outside {region}, "
                "with no transfer mechanism (transfer: mechanism: ...)",
            )


def children_need_parents(manifest: Manifest) -> Iterator[Problem]:
    """Under the child age, a consent purpose needs a parent's consent (policy: under 18)."""
    age = manifest.policy.child_age
    for key, purpose in manifest.purposes.items():
        if purpose.legal_basis is LegalBasis.CONSENT and purpose.minors is MinorsRule.ALLOWED:
            yield Problem(
                "child_consent",
                ("purposes", key, "minors"),
                f"consent purpose '{key}' allows people under {age} to consent themselves; "
                "use parental_consent or excluded",
            )


AGE_FIELDS = {
    "user.demographic.date_of_birth": FieldType.DATE,
    "user.demographic.age_range": FieldType.INTEGER,
}


def age_fields_typed(manifest: Manifest) -> Iterator[Problem]:
    """A birth date is a ``date`` and an age an ``integer``: Charter reads them to tell a child
    (``charter.domain.children``), and cannot from free text."""
    for tp_key, touchpoint in manifest.touchpoints.items():
        for name, spec in touchpoint.fields.items():
            wanted = AGE_FIELDS.get(spec.category)
            if wanted is not None and spec.type is not wanted:
                yield Problem(
                    "age_field_type",
                    ("touchpoints", tp_key, "fields", name, "type"),
                    f"field '{name}' holds {spec.category}: its type must be {wanted.value}, "
                    "so that a child can be told from an adult",
                )


def no_card_numbers(manifest: Manifest) -> Iterator[Problem]:
    """No touchpoint or system collects card numbers: payments keep only a processor token."""
    for tp_key, touchpoint in manifest.touchpoints.items():
        for field_key, spec in touchpoint.fields.items():
            path: KeyPath = ("touchpoints", tp_key, "fields", field_key)
            if covered_by_any(spec.category, CARD_CATEGORIES) or _CARD_FIELD_NAME.search(field_key):
                yield Problem(
                    "card_data",
                    path,
                    f"'{field_key}' would collect payment card data; keep only the payment "
                    "processor's token (type: payment_token)",
                )
    for sys_key, system in manifest.systems.items():
        for table_key, table in system.tables.items():
            for column, column_spec in table.columns.items():
                if covered_by_any(column_spec.category, CARD_CATEGORIES) or _CARD_FIELD_NAME.search(
                    column
                ):
                    yield Problem(
                        "card_data",
                        ("systems", sys_key, "tables", table_key, "columns", column),
                        f"column '{table_key}.{column}' would hold payment card data; keep only "
                        "the payment processor's token",
                    )


def cookies_consent(manifest: Manifest) -> Iterator[Problem]:
    """Only strictly necessary cookies go without consent (ePrivacy Art. 5(3))."""
    for key, category in manifest.cookies.items():
        if not category.consent_required and key != "strictly_necessary":
            yield Problem(
                "cookie_consent",
                ("cookies", key, "consent_required"),
                f"only 'strictly_necessary' cookies may be set without consent, not '{key}'",
            )


def cookie_categories_resolve(manifest: Manifest) -> Iterator[Problem]:
    """A banner choice is recorded against a consent purpose, so each category asking for
    consent names one resting on consent; cookies name declared brands; TCF vendors belong to
    a consent category; the banner's own cookie is declared."""
    for key, category in manifest.cookies.items():
        path: KeyPath = ("cookies", key)
        purpose = manifest.purposes.get(category.purpose or "")
        if category.consent_required and category.purpose is None:
            yield Problem(
                "cookie_purpose",
                path,
                f"cookie category '{key}' asks for consent but names no purpose to record it for",
            )
        elif category.purpose is not None and purpose is None:
            yield Problem(
                "cookie_purpose",
                (*path, "purpose"),
                f"no purpose '{category.purpose}' in purposes",
            )
        elif purpose is not None and purpose.legal_basis is not LegalBasis.CONSENT:
            yield Problem(
                "cookie_purpose",
                (*path, "purpose"),
                f"a category's purpose records a banner consent, so it must rest on consent "
                f"('{category.purpose}' rests on {purpose.legal_basis.value})",
            )
        for i, cookie in enumerate(category.cookies):
            if cookie.brands == "all":
                continue
            for j, named in enumerate(cookie.brands):
                if named not in manifest.brands:
                    yield Problem(
                        "unknown_brand",
                        (*path, "cookies", i, "brands", j),
                        f"no brand '{named}' in brands",
                    )
    for key, brand in manifest.brands.items():
        if brand.tcf is None:
            continue
        seen: set[int] = set()
        for i, vendor in enumerate(brand.tcf.vendors):
            vpath: KeyPath = ("brands", key, "tcf", "vendors", i)
            if vendor.id in seen:
                yield Problem("tcf_vendor", (*vpath, "id"), f"vendor id {vendor.id} twice")
            seen.add(vendor.id)
            home = manifest.cookies.get(vendor.category)
            if home is None or not home.consent_required:
                yield Problem(
                    "tcf_vendor",
                    (*vpath, "category"),
                    f"'{vendor.category}' is not a cookie category asking for consent",
                )
    if manifest.cookies and not any(
        cookie.name == manifest.cookie_banner.consent_cookie
        for category in manifest.cookies.values()
        if not category.consent_required
        for cookie in category.cookies
    ):
        yield Problem(
            "consent_cookie_declared",
            ("cookie_banner", "consent_cookie"),
            f"the banner's cookie '{manifest.cookie_banner.consent_cookie}' must be listed "
            "among the strictly necessary cookies",
        )


def systems_resolve(manifest: Manifest) -> Iterator[Problem]:
    """Relations point at declared tables' primary keys; legal holds named by a table exist;
    SQL systems say where their connection comes from."""
    holds = {hold.key for hold in manifest.retention.legal_holds}
    for sys_key, system in manifest.systems.items():
        if system.connector.value in {"sql", "parquet"} and system.connection_env is None:
            yield Problem(
                "system_connection",
                ("systems", sys_key),
                f"system '{sys_key}' needs connection_env (the variable holding its URL)",
            )
        for table_key, table in system.tables.items():
            where: KeyPath = ("systems", sys_key, "tables", table_key)
            for i, relation in enumerate(table.relations):
                target_table, target_column = relation.references.split(".", 1)
                path: KeyPath = (*where, "relations", i, "references")
                if target_table not in system.tables:
                    yield Problem(
                        "unknown_table",
                        path,
                        f"table '{target_table}' is not declared in system '{sys_key}'",
                    )
                elif target_column != system.tables[target_table].primary_key:
                    # Connectors follow a relation by the parent's primary keys found so far.
                    yield Problem(
                        "relation_key",
                        path,
                        f"'{relation.references}' is not the primary key of '{target_table}' "
                        f"({system.tables[target_table].primary_key})",
                    )
            if table.legal_hold is not None and table.legal_hold not in holds:
                yield Problem(
                    "unknown_legal_hold",
                    (*where, "legal_hold"),
                    f"no legal hold '{table.legal_hold}' in retention.legal_holds",
                )


def _parents(system: System) -> dict[str, list[tuple[int, str]]]:
    """Per table, (relation index, referenced table) for relations naming a declared table."""
    return {
        key: [
            (i, target)
            for i, relation in enumerate(table.relations)
            if (target := relation.references.split(".", 1)[0]) in system.tables
        ]
        for key, table in system.tables.items()
    }


def _cycle_closers(parents: dict[str, list[tuple[int, str]]]) -> Iterator[tuple[str, int, str]]:
    """Depth-first search: a relation back to a table still on the path closes a cycle."""
    state: dict[str, str] = {}

    def visit(key: str) -> Iterator[tuple[str, int, str]]:
        state[key] = "open"
        for i, parent in parents[key]:
            if state.get(parent) == "open":
                yield key, i, parent
            elif parent not in state:
                yield from visit(parent)
        state[key] = "done"

    for key in parents:
        if key not in state:
            yield from visit(key)


def systems_traversable(manifest: Manifest) -> Iterator[Problem]:
    """A rights request finds a person's rows by walking from identity columns along relations
    (child to parent's key), so relations form no cycle and, in a ``sql`` system, every table is
    reached: it has identity columns or a chain of relations to a table that has them."""
    for sys_key, system in manifest.systems.items():
        parents = _parents(system)
        for key, i, parent in _cycle_closers(parents):
            yield Problem(
                "relation_cycle",
                ("systems", sys_key, "tables", key, "relations", i),
                f"relation '{key}' -> '{parent}' closes a cycle of relations",
            )
        if system.connector is not ConnectorKind.SQL:
            continue
        reached = {key for key, table in system.tables.items() if table.identities}
        while grown := {
            key
            for key in system.tables
            if key not in reached and any(p in reached for _, p in parents[key])
        }:
            reached |= grown
        for key, table in system.tables.items():
            broken = len(parents[key]) < len(table.relations)  # reported as unknown_table
            if key not in reached and not broken:
                yield Problem(
                    "unreachable_table",
                    ("systems", sys_key, "tables", key),
                    f"no person's rows can be found in '{key}': give it identity columns or a "
                    "relation to a table that has them",
                )


def events_system_parquet(manifest: Manifest) -> Iterator[Problem]:
    """The page views of ``events`` land in a declared ``parquet`` system (the event lake),
    where rights requests reach them (Art. 15, 17)."""
    if manifest.events is None:
        return
    key = manifest.events.system
    system = manifest.systems.get(key)
    if system is None:
        yield Problem(
            "events_system",
            ("events", "system"),
            f"no system '{key}' in systems (the event lake, connector parquet)",
        )
    elif system.connector is not ConnectorKind.PARQUET:
        yield Problem(
            "events_system",
            ("events", "system"),
            f"system '{key}' has connector {system.connector.value}; the event lake needs parquet",
        )


def brand_domains_unique(manifest: Manifest) -> Iterator[Problem]:
    seen: dict[str, str] = {}
    for key, brand in manifest.brands.items():
        for i, domain in enumerate(brand.domains):
            owner = seen.setdefault(domain.lower(), key)
            if owner != key:
                yield Problem(
                    "duplicate_domain",
                    ("brands", key, "domains", i),
                    f"domain '{domain}' already belongs to brand '{owner}'",
                )


RULES: tuple[Rule, ...] = (
    declared_categories,
    purposes_have_bases,
    references_resolve,
    fields_have_purpose,
    retention_covers_collection,
    transfers_have_mechanism,
    children_need_parents,
    age_fields_typed,
    no_card_numbers,
    cookies_consent,
    cookie_categories_resolve,
    systems_resolve,
    systems_traversable,
    brand_domains_unique,
    events_system_parquet,
)


def lint(manifest: Manifest) -> list[Problem]:
    """Run every rule; an empty list means the manifest is sound."""
    return [problem for rule in RULES for problem in rule(manifest)]
