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
from charter.domain.credentials import CREDENTIALS, is_credential
from charter.domain.regions import in_region
from charter.manifest.models import (
    IDENTITY_CATEGORIES,
    ConnectorKind,
    FieldType,
    IdentityKind,
    LegalBasis,
    LegalHold,
    Manifest,
    MinorsRule,
    RecipientKind,
    RetentionRule,
    Source,
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


AUTHENTICATION_USE = "essential.service.authentication"


def credentials_hashed(manifest: Manifest) -> Iterator[Problem]:
    """A field of category ``user.authorization.credentials`` (or under it) is ``type:
    password``: only that type is kept as an Argon2id hash; any other would be stored
    reversibly, against the promise that a password serves only to authenticate (Art. 32)."""
    for tp_key, touchpoint in manifest.touchpoints.items():
        for name, spec in touchpoint.fields.items():
            if is_credential(spec.category) and spec.type is not FieldType.PASSWORD:
                yield Problem(
                    "credentials_hashed",
                    ("touchpoints", tp_key, "fields", name, "type"),
                    f"field '{name}' holds {spec.category}: its type must be password, so that "
                    "it is kept only as a one-way hash, never reversibly",
                )


def credentials_for_authentication(manifest: Manifest) -> Iterator[Problem]:
    """Passwords are collected "only for authentication and account access" (the policy;
    GDPR Art. 5(1)(b)): only a purpose whose ``data_use`` is under
    ``essential.service.authentication`` may list ``user.authorization.credentials``. A parent
    category (``user``, ``user.authorization``) lists it too; recipients are not purposes."""
    for key, purpose in manifest.purposes.items():
        if covers(AUTHENTICATION_USE, purpose.data_use):
            continue
        for index, category in enumerate(purpose.categories):
            if covers(category, CREDENTIALS) or covers(CREDENTIALS, category):
                yield Problem(
                    "credentials_for_authentication",
                    ("purposes", key, "categories", index),
                    f"purpose '{key}' ({purpose.data_use}) would use passwords through "
                    f"'{category}'; only a purpose under {AUTHENTICATION_USE} may",
                )


def notices_declared(manifest: Manifest) -> Iterator[Problem]:
    """A field's ``prior_notice`` names an entry of ``notices``: the notice the person must
    have been sent before the field is collected."""
    for tp_key, touchpoint in manifest.touchpoints.items():
        for field_key, spec in touchpoint.fields.items():
            if spec.prior_notice is not None and spec.prior_notice not in manifest.notices:
                yield Problem(
                    "notice_declared",
                    ("touchpoints", tp_key, "fields", field_key, "prior_notice"),
                    f"notice '{spec.prior_notice}' is not declared in notices",
                )


_RECEIVING = (Source.PARTNER, Source.SOCIAL_MEDIA)


def partners_declared(manifest: Manifest) -> Iterator[Problem]:
    """A ``partner`` or ``social_media`` touchpoint lists the partners it receives from, each
    declared in ``partners``; a touchpoint collecting from the person lists none."""
    for tp_key, touchpoint in manifest.touchpoints.items():
        path = ("touchpoints", tp_key, "partners")
        if touchpoint.source in _RECEIVING:
            if not touchpoint.partners:
                yield Problem(
                    "partners_declared",
                    path,
                    f"a {touchpoint.source.value} touchpoint lists the partners it receives from "
                    "(the person is told the source, GDPR Art. 14(2)(f))",
                )
            for i, key in enumerate(touchpoint.partners):
                if key not in manifest.partners:
                    yield Problem(
                        "partners_declared",
                        (*path, i),
                        f"partner '{key}' is not declared in partners",
                    )
        elif touchpoint.partners:
            yield Problem(
                "partners_declared",
                path,
                f"a {touchpoint.source.value} touchpoint collects from the person and lists no "
                "partners",
            )


def partner_agreement(manifest: Manifest) -> Iterator[Problem]:
    """A partner of kind ``partner`` names at least one agreement it passes data under."""
    for key, partner in manifest.partners.items():
        if partner.kind == "partner" and not partner.agreements:
            yield Problem(
                "partner_agreement",
                ("partners", key, "agreements"),
                "a partner passes data under an agreement; name at least one (a submission "
                "from it says which)",
            )


def art14_reachable(manifest: Manifest) -> Iterator[Problem]:
    """A touchpoint receiving from a partner without an Art. 14(5) exemption collects an
    ``email`` identity: the Art. 14 notice goes by e-mail, and could not go otherwise."""
    for tp_key, touchpoint in manifest.touchpoints.items():
        if touchpoint.source not in _RECEIVING or IdentityKind.EMAIL in touchpoint.identities:
            continue
        for i, key in enumerate(touchpoint.partners):
            partner = manifest.partners.get(key)
            if partner is not None and partner.exemption is None:
                yield Problem(
                    "art14_reachable",
                    ("touchpoints", tp_key, "partners", i),
                    f"partner '{key}' has no exemption, so the people it sends must be told "
                    "(GDPR Art. 14), by e-mail: the touchpoint's identities need email",
                )


PUBLIC_CONTENT = "user.content.public"


def public_fields_declared(manifest: Manifest) -> Iterator[Problem]:
    """What a touchpoint publishes is declared (policy: "publicly displayed information is
    public"; GDPR Art. 13(1)(e), 25(2)): a field of visibility ``public`` or ``choice`` needs a
    recipient of kind ``public`` whose purposes include one of the touchpoint's and whose
    categories cover the field's; a field of ``user.content.public`` is not ``private`` (it is
    published by its nature); a ``publication`` names a declared system, and its
    ``republishers`` declared recipients."""
    public = [r for r in manifest.recipients.values() if r.kind is RecipientKind.PUBLIC]
    for tp_key, touchpoint in manifest.touchpoints.items():
        for name, spec in touchpoint.fields.items():
            path = ("touchpoints", tp_key, "fields", name, "visibility")
            visibility = spec.visibility.value
            if visibility == "private" and covered_by_any(spec.category, [PUBLIC_CONTENT]):
                yield Problem(
                    "public_fields_declared",
                    path,
                    f"field '{name}' holds {spec.category}, published by its nature: its "
                    "visibility must be public (or choice), not private",
                )
            elif visibility != "private" and not any(
                covered_by_any(spec.category, r.categories)
                and any(p in r.purposes for p in touchpoint.purposes)
                for r in public
            ):
                yield Problem(
                    "public_fields_declared",
                    path,
                    f"field '{name}' may be shown publicly ({visibility}): declare a recipient "
                    f"of kind public with one of the touchpoint's purposes and {spec.category} "
                    "among its categories",
                )
        publication = touchpoint.publication
        if publication is None:
            continue
        if publication.system is not None and publication.system not in manifest.systems:
            yield Problem(
                "public_fields_declared",
                ("touchpoints", tp_key, "publication", "system"),
                f"no system '{publication.system}' in systems",
            )
        for i, key in enumerate(publication.republishers):
            if key not in manifest.recipients:
                yield Problem(
                    "public_fields_declared",
                    ("touchpoints", tp_key, "publication", "republishers", i),
                    f"republisher '{key}' is not declared in recipients",
                )


_ELECTRONIC_CONTACTS = ("user.contact.email", "user.contact.phone_number")
_EMAIL = IDENTITY_CATEGORIES[IdentityKind.EMAIL]


def soft_opt_in_valid(manifest: Manifest) -> Iterator[Problem]:
    """A ``soft_opt_in`` purpose is what ePrivacy Directive Art. 13(2) allows: direct marketing
    (``direct_marketing: true``, not ``objectable: false``: the opt-out is offered at
    collection and in every message; not ``minors: allowed``: never to children) by electronic
    mail (``data_use`` under
    ``marketing.communications``, categories with an e-mail address or phone number); each
    touchpoint in ``established_by`` exists, lists the purpose in its ``purposes``, serves a
    ``contract`` purpose (the details are obtained "in the context of the sale") and collects
    an e-mail address (an identity or a field) to send to."""
    for key, purpose in manifest.purposes.items():
        rules = purpose.soft_opt_in
        if purpose.legal_basis is not LegalBasis.SOFT_OPT_IN or rules is None:
            continue
        path: KeyPath = ("purposes", key)

        def problem(where: KeyPath, message: str) -> Problem:
            return Problem("soft_opt_in_valid", where, message)

        if not purpose.direct_marketing:
            yield problem(
                (*path, "direct_marketing"),
                "a soft opt-in is for direct marketing: set direct_marketing: true",
            )
        if purpose.objectable is False:
            yield problem(
                (*path, "objectable"),
                "a soft opt-in must let the person opt out at collection and in every message",
            )
        if purpose.minors is MinorsRule.ALLOWED:
            yield problem(
                (*path, "minors"),
                "a soft opt-in never applies to children: minors must be parental_consent "
                "(no parent is asked for it) or excluded",
            )
        use = purpose.data_use
        if use != "marketing.communications" and not use.startswith("marketing.communications."):
            yield problem(
                (*path, "data_use"),
                f"data_use '{use}': a soft opt-in covers electronic mail only "
                "(marketing.communications ...)",
            )
        if not any(covered_by_any(contact, purpose.categories) for contact in _ELECTRONIC_CONTACTS):
            yield problem(
                (*path, "categories"),
                "a soft opt-in sends electronic mail: list user.contact.email (or the phone "
                "number) among the categories",
            )
        for i, tp_key in enumerate(rules.established_by):
            where: KeyPath = (*path, "soft_opt_in", "established_by", i)
            touchpoint = manifest.touchpoints.get(tp_key)
            if touchpoint is None:
                yield problem(where, f"no touchpoint '{tp_key}'")
                continue
            if key not in touchpoint.purposes:
                yield problem(where, f"touchpoint '{tp_key}' does not list '{key}' in its purposes")
            if not any(
                p in manifest.purposes and manifest.purposes[p].legal_basis is LegalBasis.CONTRACT
                for p in touchpoint.purposes
            ):
                yield problem(
                    where,
                    f"touchpoint '{tp_key}' serves no contract purpose: only a sale (or a "
                    "registration of a product bought) makes an existing customer",
                )
            if IdentityKind.EMAIL not in touchpoint.identities and not any(
                covers(_EMAIL, spec.category) for spec in touchpoint.fields.values()
            ):
                yield problem(
                    where,
                    f"touchpoint '{tp_key}' collects no e-mail address to send to",
                )


def survey_rules_resolve(manifest: Manifest) -> Iterator[Problem]:
    """A survey's published results rest on what its touchpoint collects, and its quotes on a
    permission of their own (policy: "we will not attribute any particular response to you
    without your permission"): every ``results`` field is a field of the touchpoint with
    ``choices`` (the counts list them all); ``quote_field`` and ``name_field`` are fields of
    the touchpoint, a quote being signed; ``attribution_purpose`` is a consent purpose the
    touchpoint offers, and a ``public`` recipient lists it (a quote is disclosed to the public,
    Art. 13(1)(e))."""
    public = [r for r in manifest.recipients.values() if r.kind is RecipientKind.PUBLIC]
    for key, touchpoint in manifest.touchpoints.items():
        survey = touchpoint.survey
        if survey is None:
            continue
        base: KeyPath = ("touchpoints", key, "survey")
        for i, name in enumerate(survey.results):
            spec = touchpoint.fields.get(name)
            if spec is None:
                yield Problem(
                    "survey_rules_resolve",
                    (*base, "results", i),
                    f"no field '{name}' at touchpoint '{key}'",
                )
            elif spec.choices is None:
                yield Problem(
                    "survey_rules_resolve",
                    (*base, "results", i),
                    f"field '{name}' has no choices; a published result counts each choice",
                )
        for attribute in ("quote_field", "name_field"):
            name = getattr(survey, attribute)
            if name is not None and name not in touchpoint.fields:
                yield Problem(
                    "survey_rules_resolve",
                    (*base, attribute),
                    f"no field '{name}' at touchpoint '{key}'",
                )
        if survey.quote_field is not None and survey.name_field is None:
            yield Problem(
                "survey_rules_resolve",
                (*base, "quote_field"),
                "a quote is published signed: give name_field",
            )
        purpose = survey.attribution_purpose
        if purpose is None:
            continue
        if purpose not in touchpoint.consent_purposes:
            yield Problem(
                "survey_rules_resolve",
                (*base, "attribution_purpose"),
                f"'{purpose}' must be one of the touchpoint's consent_purposes (a permission "
                "of its own, asked for by an unticked box)",
            )
        if not any(purpose in r.purposes for r in public):
            yield Problem(
                "survey_rules_resolve",
                (*base, "attribution_purpose"),
                f"no recipient of kind public lists '{purpose}'; quotes are published to it",
            )


_SPONSORS = (RecipientKind.THIRD_PARTY, RecipientKind.AFFILIATE)


def contest_rules_resolve(manifest: Manifest) -> Iterator[Problem]:
    """A touchpoint's ``contest`` rules can be kept (policy, "Contests"): ``name_field`` and
    ``country_field`` are fields of the touchpoint, and ``winner_country`` has a
    ``country_field``; when winners are named, a ``public`` recipient is declared for one of the
    touchpoint's purposes and receives the name's category (and the country's), for publishing
    them is a disclosure (GDPR Art. 13(1)(e)); a ``sponsor`` is a third-party or affiliate
    recipient declared for one of the touchpoint's purposes, since entries are passed to it."""
    for tp_key, touchpoint in manifest.touchpoints.items():
        rules = touchpoint.contest
        if rules is None:
            continue
        at: KeyPath = ("touchpoints", tp_key, "contest")
        fields = {"name_field": rules.name_field, "country_field": rules.country_field}
        for key, name in fields.items():
            if name is not None and name not in touchpoint.fields:
                yield Problem(
                    "contest_rules_resolve",
                    (*at, key),
                    f"'{name}' is not a field of touchpoint '{tp_key}'",
                )
        if rules.winner_country and rules.country_field is None:
            yield Problem(
                "contest_rules_resolve",
                (*at, "winner_country"),
                "the winner's country is published: name the field holding it (country_field)",
            )
        if rules.winners.value != "none" and rules.name_field in touchpoint.fields:
            published = [touchpoint.fields[rules.name_field].category]
            country = touchpoint.fields.get(rules.country_field or "")
            if rules.winner_country and country is not None:
                published.append(country.category)
            publics = [
                r
                for r in manifest.recipients.values()
                if r.kind is RecipientKind.PUBLIC
                and set(r.purposes) & set(touchpoint.purposes)
                and all(covered_by_any(c, r.categories) for c in published)
            ]
            if not publics:
                yield Problem(
                    "contest_rules_resolve",
                    (*at, "winners"),
                    f"winners are named, but no public recipient is declared for a purpose of "
                    f"'{tp_key}' receiving {', '.join(published)}",
                )
        if rules.sponsor is not None:
            sponsor = manifest.recipients.get(rules.sponsor)
            if (
                sponsor is None
                or sponsor.kind not in _SPONSORS
                or not set(sponsor.purposes) & set(touchpoint.purposes)
            ):
                yield Problem(
                    "contest_rules_resolve",
                    (*at, "sponsor"),
                    f"sponsor '{rules.sponsor}' must be a third_party or affiliate recipient "
                    f"declared for one of the purposes of '{tp_key}'",
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
    credentials_hashed,
    credentials_for_authentication,
    notices_declared,
    partners_declared,
    public_fields_declared,
    partner_agreement,
    art14_reachable,
    soft_opt_in_valid,
    survey_rules_resolve,
    contest_rules_resolve,
)


def lint(manifest: Manifest) -> list[Problem]:
    """Run every rule; an empty list means the manifest is sound."""
    return [problem for rule in RULES for problem in rule(manifest)]
