"""What the public privacy policy says, read from the manifest (nothing in it is written twice).

``policy_context`` reads the manifest into the policy's sections, in plain words; the HTML page
and the Markdown file (``charter.manifest.render``) are two templates over that one context, so
they carry the same content. The sections follow what GDPR Art. 13 and
14 require a controller to tell people, in the order of the policy the example models:

- what is collected at each touchpoint (the fields in plain words, the identities), what is
  logged automatically (touchpoints with ``source: automatic`` and the cookie categories), what
  comes from partners or social media (Art. 14(1)(d), 14(2)(f)), and the children's rules (Art. 8);
- each purpose and its legal basis, naming every legitimate interest (Art. 13(1)(c)-(d));
- the recipients by kind, the public and authorities included, and whether data is sold
  (Art. 13(1)(e)); aggregate statistics when ``policy.shares_aggregate_statistics``;
- the security measures Charter enforces (``charter.manifest.measures``, Art. 32);
- retention per rule and legal hold, in words (Art. 13(2)(a));
- the rights and how to use them, the deadline and its extension, complaints (Art. 12(3),
  13(2)(b)-(d)); communication preferences (ePrivacy Art. 13(2)); the cookies (ePrivacy Art. 5(3));
- transfers outside ``policy.home_region`` with their safeguards (Art. 13(1)(f)); how changes are
  announced; the controller, the EEA representative and the DPO (Art. 13(1)(a)-(b)).

Per brand (``brand=...``) the page names that brand only and shows only its touchpoints and
cookies; a purpose is shown when one of the brand's touchpoints or cookie categories serves it,
or when no touchpoint or cookie category names it (then it is group-wide), and a recipient, a
transfer or a retention rule when it concerns a shown purpose or touchpoint.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from charter.domain.categories import covers
from charter.domain.errors import NotFound
from charter.manifest.countries import country_name, in_country
from charter.manifest.measures import SECURITY_MEASURES
from charter.manifest.models import (
    Contact,
    FieldType,
    LegalBasis,
    Manifest,
    MinorsRule,
    RecipientKind,
    Source,
    Touchpoint,
)
from charter.manifest.touchpoint_promises import touchpoint_promises
from charter.manifest.wording import (
    BASIS_ARTICLES,
    BASIS_NAMES,
    categories_words,
    category_words,
    duration_words,
    hold_period_words,
    identity_words,
    join,
    label,
    region_name,
    retention_action_words,
    retention_period_words,
    safeguard_words,
    transfers_outside,
)


@dataclass(frozen=True)
class Section:
    id: str
    title: str


SECTIONS: tuple[Section, ...] = (
    Section("collect", "Information you give us"),
    Section("automatic", "Information collected automatically"),
    Section("other-sources", "Information we receive from others"),
    Section("children", "Children"),
    Section("use", "How we use information"),
    Section("sharing", "How we share information"),
    Section("legal-bases", "Our legal bases"),
    Section("security", "How we protect information"),
    Section("retention", "How long we keep information"),
    Section("rights", "Your rights and choices"),
    Section("communications", "Your communication preferences"),
    Section("cookies", "Cookies"),
    Section("transfers", "International transfers"),
    Section("changes", "Changes to this policy"),
    Section("contact", "Who we are and how to contact us"),
)
"""The policy's sections, in order: each template's table of contents and headings."""


@dataclass(frozen=True)
class Collected:
    """One field of a touchpoint: its name, what its category holds, the field's own note."""

    label: str
    what: str
    note: str
    required: bool


@dataclass(frozen=True)
class TouchpointText:
    key: str
    name: str
    description: str
    source: Source
    items: tuple[Collected, ...]
    identities: tuple[str, ...]
    purposes: tuple[str, ...]
    """The purposes served without asking; those offered for consent are apart."""
    consent_purposes: tuple[str, ...]
    brands: tuple[str, ...]
    """The brands' names when the touchpoint is not on every brand's sites (group page only)."""
    promises: tuple[str, ...] = ()
    """The touchpoint's particular promises (``charter.manifest.touchpoint_promises``)."""


@dataclass(frozen=True)
class SourceGroup:
    """Touchpoints whose data comes from others (GDPR Art. 14(2)(f): the source)."""

    source: str
    touchpoints: tuple[TouchpointText, ...]


@dataclass(frozen=True)
class PurposeText:
    key: str
    name: str
    description: str
    basis: LegalBasis
    basis_name: str
    article: str
    legitimate_interest: str | None
    data: tuple[str, ...]
    may_object: bool
    direct_marketing: bool


@dataclass(frozen=True)
class BasisGroup:
    basis: LegalBasis
    name: str
    article: str
    explanation: str
    purposes: tuple[PurposeText, ...]


@dataclass(frozen=True)
class RecipientText:
    name: str
    kind: RecipientKind
    description: str
    country: str | None
    purposes: tuple[str, ...]


@dataclass(frozen=True)
class RecipientGroup:
    kind: RecipientKind
    title: str
    introduction: str
    recipients: tuple[RecipientText, ...]


@dataclass(frozen=True)
class TransferText:
    recipient: str
    country: str
    safeguard: str


@dataclass(frozen=True)
class RetentionText:
    information: str
    where: str
    how_long: str
    then: str
    note: str


@dataclass(frozen=True)
class CookieText:
    name: str
    vendor: str
    third_party: bool
    duration: str
    description: str


@dataclass(frozen=True)
class CookieCategoryText:
    key: str
    name: str
    description: str
    consent_required: bool
    cookies: tuple[CookieText, ...]


@dataclass(frozen=True)
class RightText:
    name: str
    article: str
    text: str


@dataclass(frozen=True)
class PolicyContext:
    """Everything the policy says, in plain words, in the order of ``SECTIONS``."""

    sections: tuple[Section, ...]
    title: str
    brand: str | None
    brand_name: str | None
    version: str
    effective_date: dt.date
    covered_brands: tuple[str, ...]
    controller: Contact
    representative: Contact | None
    dpo: Contact | None
    contact_email: str
    privacy_url: str
    sells_personal_data: bool
    shares_aggregate_statistics: bool
    # collect, automatic, other sources
    given: tuple[TouchpointText, ...]
    automatic: tuple[TouchpointText, ...]
    other_sources: tuple[SourceGroup, ...]
    collects_payment_tokens: bool
    # children
    child_age: int
    parental_consent_days: int
    excluded_for_children: tuple[str, ...]
    allowed_for_children: tuple[str, ...]
    # use, legal bases
    purposes: tuple[PurposeText, ...]
    bases: tuple[BasisGroup, ...]
    # sharing
    recipient_groups: tuple[RecipientGroup, ...]
    # security
    security_measures: tuple[str, ...]
    # retention
    retention: tuple[RetentionText, ...]
    # rights
    rights: tuple[RightText, ...]
    response_deadline_days: int
    extension_days: int
    supervisory_authority_url: str | None
    # communications
    marketing: tuple[PurposeText, ...]
    service_messages: tuple[PurposeText, ...]
    # cookies
    cookie_categories: tuple[CookieCategoryText, ...]
    refusal_months: int
    consent_months: int
    # transfers
    home_region: str
    transfers: tuple[TransferText, ...]


_SOURCE_NAMES = {Source.PARTNER: "partners", Source.SOCIAL_MEDIA: "social media platforms"}
_NOTIFICATIONS = "essential.service.notifications"
_BASIS_ORDER = (
    LegalBasis.CONSENT,
    LegalBasis.CONTRACT,
    LegalBasis.LEGITIMATE_INTEREST,
    LegalBasis.SOFT_OPT_IN,
    LegalBasis.LEGAL_OBLIGATION,
    LegalBasis.VITAL_INTEREST,
    LegalBasis.PUBLIC_TASK,
)
_BASIS_EXPLANATIONS = {
    LegalBasis.CONSENT: (
        "We use your information this way only if you agreed to it, for the use you agreed to. "
        "You can withdraw your consent at any time, as easily as you gave it; withdrawing does "
        "not make what we did before unlawful (GDPR Art. 7(3))."
    ),
    LegalBasis.CONTRACT: (
        "The use is needed to perform the agreement you have with us, or to take the steps you "
        "ask for before entering into one."
    ),
    LegalBasis.LEGITIMATE_INTEREST: (
        "We use your information for the interest named, having weighed it against your "
        "interests and rights. Where it says so, you may object at any time (GDPR Art. 21)."
    ),
    LegalBasis.LEGAL_OBLIGATION: "The law requires this use of us.",
    LegalBasis.VITAL_INTEREST: "The use is needed to protect your life or someone else's.",
    LegalBasis.PUBLIC_TASK: "The use is needed for a task carried out in the public interest.",
    LegalBasis.SOFT_OPT_IN: (
        "As our customer you may receive e-mails about our own products similar to those you "
        "bought or registered, without having been asked for consent. We offered you the "
        "choice to opt out when you bought or registered, and every e-mail lets you opt out "
        "with one click (ePrivacy Directive Art. 13(2))."
    ),
}
_GROUPS = (
    (
        RecipientKind.PROCESSOR,
        "Service providers",
        "Companies that perform services for us, only on our instructions and under contract, "
        "and only with the information each service needs:",
    ),
    (
        RecipientKind.AFFILIATE,
        "Companies of our group",
        "Companies of our group, for administration and to provide our products and services:",
    ),
    (
        RecipientKind.THIRD_PARTY,
        "Other companies",
        "Companies that use the information for their own ends, under their own privacy "
        "policies, which we encourage you to read:",
    ),
    (
        RecipientKind.PUBLIC,
        "The public",
        "What you choose to publish, and what the rules of a contest say is announced, is "
        "public: anyone can read, collect or use it.",
    ),
    (
        RecipientKind.AUTHORITY,
        "Authorities and courts",
        "We disclose information to law enforcement authorities, regulators and courts only "
        "when the law requires it, on an order or an official request; we check each request "
        "and disclose no more than it lawfully requires.",
    ),
)


def _text_of_touchpoint(
    manifest: Manifest, key: str, tp: Touchpoint, brand: str | None
) -> TouchpointText:
    items = tuple(
        Collected(
            label(field),
            "; ".join(category_words(manifest, spec.category)),
            spec.description or "",
            spec.required,
        )
        for field, spec in tp.fields.items()
    )
    on = manifest.touchpoint_brands(tp)
    brands = (
        ()
        if brand is not None or tp.brands == "all"
        else tuple(manifest.brands[b].name for b in on if b in manifest.brands)
    )
    return TouchpointText(
        key=key,
        name=tp.name,
        description=tp.description,
        source=tp.source,
        items=items,
        identities=tuple(dict.fromkeys(identity_words(manifest, kind) for kind in tp.identities)),
        purposes=tuple(
            manifest.purposes[p].name
            for p in tp.purposes
            if p in manifest.purposes and p not in tp.consent_purposes
        ),
        consent_purposes=tuple(
            manifest.purposes[p].name for p in tp.consent_purposes if p in manifest.purposes
        ),
        brands=brands,
        promises=touchpoint_promises(manifest, key, tp),
    )


def _shown_purposes(
    manifest: Manifest, touchpoints: Iterable[Touchpoint], brand: str | None
) -> list[str]:
    if brand is None:
        return list(manifest.purposes)
    named: set[str] = set()
    served: set[str] = set()
    for tp in manifest.touchpoints.values():
        named.update(tp.purposes, tp.consent_purposes)
    for category in manifest.cookies.values():
        if category.purpose:
            named.add(category.purpose)
            # The banner offers every category on every brand's sites.
            served.add(category.purpose)
    for tp in touchpoints:
        served.update(tp.purposes, tp.consent_purposes)
    return [key for key in manifest.purposes if key in served or key not in named]


def _purpose_text(manifest: Manifest, key: str) -> PurposeText:
    purpose = manifest.purposes[key]
    return PurposeText(
        key=key,
        name=purpose.name,
        description=purpose.description,
        basis=purpose.legal_basis,
        basis_name=BASIS_NAMES[purpose.legal_basis],
        article=BASIS_ARTICLES[purpose.legal_basis],
        legitimate_interest=purpose.legitimate_interest,
        data=tuple(categories_words(manifest, purpose.categories)),
        may_object=purpose.may_object,
        direct_marketing=purpose.direct_marketing,
    )


def _retention(
    manifest: Manifest, touchpoints: dict[str, Touchpoint], brand: str | None
) -> tuple[RetentionText, ...]:
    def where(keys: list[str]) -> str:
        return join(manifest.touchpoints[k].name for k in keys if k in touchpoints)

    def information(categories: list[str]) -> str:
        return "; ".join(categories_words(manifest, categories))

    def concerns(keys: list[str]) -> bool:
        return brand is None or not keys or any(k in touchpoints for k in keys)

    rows = [
        RetentionText(
            information=information(rule.categories) or "Everything collected there",
            where=where(rule.touchpoints),
            how_long=retention_period_words(rule),
            then=retention_action_words(rule),
            note=rule.description or "",
        )
        for rule in manifest.retention.rules
        if concerns(rule.touchpoints)
    ]
    rows += [
        RetentionText(
            information=information(hold.categories),
            where=where(hold.touchpoints),
            how_long=hold_period_words(hold),
            then="deleted",
            note=hold.law,
        )
        for hold in manifest.retention.legal_holds
        if concerns(hold.touchpoints)
    ]
    return tuple(rows)


def _rights(manifest: Manifest, purposes: list[PurposeText]) -> tuple[RightText, ...]:
    objectable = [p.name for p in purposes if p.may_object and p.basis is not LegalBasis.CONSENT]
    consented = [p.name for p in purposes if p.basis is LegalBasis.CONSENT]
    marketing = [p.name for p in purposes if p.direct_marketing]
    erasure = "Have your information deleted."
    if manifest.retention.legal_holds:
        erasure += " What the law makes us keep (such as invoices) we keep only for that."
    objection = "Object to a use based on our legitimate interests"
    objection += f" ({'; '.join(objectable)})" if objectable else ""
    objection += "; we then stop unless compelling legitimate grounds override your interests."
    if marketing:
        objection += (
            f" You can object to direct marketing ({'; '.join(marketing)}) at any time, and we "
            "then always stop."
        )
    rights = [
        RightText(
            "Access",
            "GDPR Art. 15",
            "Ask for a copy of the information we hold about you, with why we use it, where "
            "it came from, who received it and how long we keep it.",
        ),
        RightText(
            "Correction",
            "GDPR Art. 16",
            "Have wrong information corrected and incomplete information completed.",
        ),
        RightText("Erasure", "GDPR Art. 17", erasure),
        RightText(
            "Restriction",
            "GDPR Art. 18",
            "Have us stop using your information while we keep it stored, for example while "
            "you contest its accuracy.",
        ),
        RightText(
            "Portability",
            "GDPR Art. 20",
            "Receive the information you gave us in a machine-readable file, or have it sent "
            "to another company.",
        ),
        RightText("Objection", "GDPR Art. 21", objection),
    ]
    if consented:
        rights.append(
            RightText(
                "Withdrawing consent",
                "GDPR Art. 7(3)",
                f"Withdraw a consent you gave ({'; '.join(consented)}) at any time.",
            )
        )
    return tuple(rights)


def policy_context(
    manifest: Manifest, brand: str | None = None, *, base_url: str = ""
) -> PolicyContext:
    """The policy's content for the whole group, or for one brand (``NotFound`` with code
    ``unknown_brand`` for a key the manifest lacks). Links start with ``base_url`` (empty: the
    page is served by Charter; the CLI gives ``CHARTER_PUBLIC_BASE_URL`` for a file published
    elsewhere)."""
    if brand is not None and brand not in manifest.brands:
        raise NotFound(f"no brand '{brand}' in the manifest", code="unknown_brand")
    policy = manifest.policy
    base = base_url.rstrip("/")
    touchpoints = {
        key: tp
        for key, tp in manifest.touchpoints.items()
        if brand is None or brand in manifest.touchpoint_brands(tp)
    }
    texts = [_text_of_touchpoint(manifest, key, tp, brand) for key, tp in touchpoints.items()]
    shown = _shown_purposes(manifest, touchpoints.values(), brand)
    purposes = [_purpose_text(manifest, key) for key in shown]
    bases = tuple(
        BasisGroup(
            basis,
            BASIS_NAMES[basis],
            BASIS_ARTICLES[basis],
            _BASIS_EXPLANATIONS[basis],
            tuple(p for p in purposes if p.basis is basis),
        )
        for basis in _BASIS_ORDER
        if any(p.basis is basis for p in purposes)
    )
    recipients = {
        key: r
        for key, r in manifest.recipients.items()
        if not r.purposes or any(p in shown for p in r.purposes)
    }
    groups = tuple(
        RecipientGroup(
            kind,
            title,
            introduction,
            tuple(
                RecipientText(
                    r.name,
                    r.kind,
                    r.description,
                    in_country(r.country) if r.country else None,
                    tuple(manifest.purposes[p].name for p in r.purposes if p in shown),
                )
                for r in recipients.values()
                if r.kind is kind
            ),
        )
        for kind, title, introduction in _GROUPS
        if any(r.kind is kind for r in recipients.values())
    )
    transfers = tuple(
        TransferText(r.name, country_name(r.country), safeguard_words(r.transfer))
        for r in recipients.values()
        if r.country is not None and transfers_outside(manifest, r.country)
    )
    cookie_categories = tuple(
        CookieCategoryText(
            key,
            category.name,
            category.description,
            category.consent_required,
            tuple(
                CookieText(
                    c.name, c.vendor, not c.first_party, duration_words(c.duration), c.description
                )
                for c in category.cookies
                if brand is None or c.brands == "all" or brand in c.brands
            ),
        )
        for key, category in manifest.cookies.items()
    )
    minors = {key: manifest.purposes[key].minors for key in shown}
    brand_name = manifest.brands[brand].name if brand is not None else None
    return PolicyContext(
        sections=SECTIONS,
        title=policy.title,
        brand=brand,
        brand_name=brand_name,
        version=policy.version,
        effective_date=policy.effective_date,
        covered_brands=(brand_name,)
        if brand_name
        else tuple(b.name for b in manifest.brands.values()),
        controller=policy.controller,
        representative=policy.representative,
        dpo=policy.dpo,
        contact_email=policy.controller.email,
        privacy_url=f"{base}/privacy" + (f"?brand={brand}" if brand else ""),
        sells_personal_data=policy.sells_personal_data,
        shares_aggregate_statistics=policy.shares_aggregate_statistics,
        given=tuple(t for t in texts if t.source is Source.DIRECT),
        automatic=tuple(t for t in texts if t.source is Source.AUTOMATIC),
        other_sources=tuple(
            SourceGroup(name, group)
            for source, name in _SOURCE_NAMES.items()
            if (group := tuple(t for t in texts if t.source is source))
        ),
        collects_payment_tokens=any(
            spec.type is FieldType.PAYMENT_TOKEN
            for tp in touchpoints.values()
            for spec in tp.fields.values()
        ),
        child_age=policy.child_age,
        parental_consent_days=policy.parental_consent_days,
        excluded_for_children=tuple(
            manifest.purposes[k].name for k, rule in minors.items() if rule is MinorsRule.EXCLUDED
        ),
        allowed_for_children=tuple(
            manifest.purposes[k].name for k, rule in minors.items() if rule is MinorsRule.ALLOWED
        ),
        purposes=tuple(purposes),
        bases=bases,
        recipient_groups=groups,
        security_measures=SECURITY_MEASURES,
        retention=_retention(manifest, touchpoints, brand),
        rights=_rights(manifest, purposes),
        response_deadline_days=policy.response_deadline_days,
        extension_days=policy.extension_days,
        supervisory_authority_url=policy.supervisory_authority_url,
        marketing=tuple(p for p in purposes if p.direct_marketing),
        service_messages=tuple(
            p
            for p in purposes
            if p.key in manifest.purposes
            and covers(_NOTIFICATIONS, manifest.purposes[p.key].data_use)
        ),
        cookie_categories=cookie_categories,
        refusal_months=manifest.cookie_banner.refusal_months,
        consent_months=manifest.cookie_banner.consent_months,
        home_region=region_name(policy.home_region),
        transfers=transfers,
    )
