"""Plain words for the manifest's codes, shared by the public policy and the records of processing.

A policy must be "concise, transparent, intelligible ... using clear and plain language"
(GDPR Art. 12(1)): a reader sees "3 years after your last activity", never ``P3Y``; "standard
contractual clauses (module 2: controller to processor)", never ``standard_contractual_clauses``;
"the United States", never ``US``. Everything here is a pure function of manifest values, so the
policy and the Art. 30 records say the same thing in the same words.
"""

from __future__ import annotations

from collections.abc import Iterable

from charter.domain.categories import covers
from charter.domain.durations import parse_duration
from charter.domain.regions import REGIONS, in_region
from charter.manifest.countries import in_country
from charter.manifest.models import (
    IDENTITY_CATEGORIES,
    CountedFrom,
    IdentityKind,
    LegalBasis,
    LegalHold,
    Manifest,
    RecipientKind,
    RetentionAction,
    RetentionRule,
    Transfer,
    TransferMechanism,
)

BASIS_NAMES: dict[LegalBasis, str] = {
    LegalBasis.CONSENT: "Your consent",
    LegalBasis.CONTRACT: "Performance of a contract with you",
    LegalBasis.LEGITIMATE_INTEREST: "Our legitimate interests",
    LegalBasis.LEGAL_OBLIGATION: "A legal obligation",
    LegalBasis.VITAL_INTEREST: "Protection of someone's vital interests",
    LegalBasis.PUBLIC_TASK: "A task in the public interest",
    LegalBasis.SOFT_OPT_IN: "Your being our customer, until you opt out",
}
"""Each basis of GDPR Art. 6(1) as a reader names it."""

BASIS_TEXT: dict[LegalBasis, str] = {
    basis: name[:1].lower() + name[1:] for basis, name in BASIS_NAMES.items()
}
"""The same inside a sentence ("on the basis of your consent"); the access report uses it."""

REGISTER_BASIS_NAMES: dict[LegalBasis, str] = {
    LegalBasis.CONSENT: "Consent of the data subject",
    LegalBasis.CONTRACT: "Performance of a contract with the data subject",
    LegalBasis.LEGITIMATE_INTEREST: "Legitimate interests of the controller",
    LegalBasis.LEGAL_OBLIGATION: "Compliance with a legal obligation",
    LegalBasis.VITAL_INTEREST: "Vital interests of a natural person",
    LegalBasis.PUBLIC_TASK: "A task in the public interest",
    LegalBasis.SOFT_OPT_IN: (
        "Legitimate interests of the controller: marketing of its own similar products to "
        "existing customers who did not opt out (soft opt-in)"
    ),
}
"""The same bases as the records of processing name them, in the words of Art. 6(1)."""

BASIS_ARTICLES: dict[LegalBasis, str] = {
    LegalBasis.CONSENT: "GDPR Art. 6(1)(a)",
    LegalBasis.CONTRACT: "GDPR Art. 6(1)(b)",
    LegalBasis.LEGAL_OBLIGATION: "GDPR Art. 6(1)(c)",
    LegalBasis.VITAL_INTEREST: "GDPR Art. 6(1)(d)",
    LegalBasis.PUBLIC_TASK: "GDPR Art. 6(1)(e)",
    LegalBasis.LEGITIMATE_INTEREST: "GDPR Art. 6(1)(f)",
    LegalBasis.SOFT_OPT_IN: "GDPR Art. 6(1)(f); ePrivacy Directive Art. 13(2)",
}

KIND_NAMES: dict[RecipientKind, str] = {
    RecipientKind.PROCESSOR: "service provider acting on our instructions (processor)",
    RecipientKind.AFFILIATE: "company of our group",
    RecipientKind.PUBLIC: "the public",
    RecipientKind.AUTHORITY: "authority or court",
    RecipientKind.THIRD_PARTY: "other company, using it under its own privacy policy",
}

SCC_MODULES = {
    1: "controller to controller",
    2: "controller to processor",
    3: "processor to processor",
    4: "processor to controller",
}
"""The four modules of the standard contractual clauses of Decision (EU) 2021/914."""

_IDENTITY_FALLBACK: dict[IdentityKind, str] = {
    IdentityKind.EMAIL: "E-mail address",
    IdentityKind.PHONE: "Telephone number",
    IdentityKind.ACCOUNT_ID: "Account identifier",
    IdentityKind.COOKIE_ID: "Identifier stored in a cookie",
    IdentityKind.DEVICE_SERIAL: "Serial number of your product",
}
_REGION_NAMES = {"EEA": "the European Economic Area"}
_ACRONYMS = {"ip": "IP", "url": "URL", "id": "ID", "os": "OS", "sms": "SMS"}


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


def duration_words(value: str) -> str:
    """An ISO 8601 duration in words: ``P3Y`` -> "3 years", ``P1Y6M`` -> "1 year and 6 months",
    ``PT30M`` -> "30 minutes", ``P2W`` -> "14 days"; a cookie's ``session`` -> "until you close
    your browser"."""
    if value == "session":
        return "until you close your browser"
    duration = parse_duration(value)
    hours, rest = divmod(duration.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        _count(number, unit)
        for number, unit in (
            (duration.years, "year"),
            (duration.months, "month"),
            (duration.days, "day"),
            (hours, "hour"),
            (minutes, "minute"),
            (seconds, "second"),
        )
        if number
    ]
    if not parts:
        return "no time at all"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def region_name(region: str) -> str:
    """``EEA`` -> "the European Economic Area"; a country code -> its name."""
    if region.upper() in REGIONS:
        return _REGION_NAMES.get(region.upper(), region)
    return in_country(region)


def label(key: str) -> str:
    """A manifest key as words: ``shipping_address`` -> "Shipping address", ``ip_address`` ->
    "IP address"."""
    words = [_ACRONYMS.get(word, word) for word in key.split("_") if word]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def category_words(manifest: Manifest, category: str) -> list[str]:
    """What a category holds, from its description; a group key (``user.contact``) gives the
    description of each declared category it covers."""
    declared = manifest.data_categories.get(category)
    if declared is not None:
        return [declared.description]
    covered = [
        d.description for key, d in manifest.data_categories.items() if covers(category, key)
    ]
    return covered or [label(category.rsplit(".", 1)[-1])]


def categories_words(manifest: Manifest, categories: Iterable[str]) -> list[str]:
    """Several categories in words, each description once, in the order given."""
    return list(dict.fromkeys(w for c in categories for w in category_words(manifest, c)))


def identity_words(manifest: Manifest, kind: IdentityKind) -> str:
    """An identity by the description of its category (``IDENTITY_CATEGORIES``) where the
    manifest declares it, so the policy describes it as the manifest does."""
    declared = manifest.data_categories.get(IDENTITY_CATEGORIES[kind])
    return declared.description if declared is not None else _IDENTITY_FALLBACK[kind]


def safeguard_words(transfer: Transfer | None) -> str:
    """The Chapter V safeguard of a transfer (GDPR Art. 13(1)(f), Art. 30(1)(e))."""
    if transfer is None:
        return "no safeguard declared"
    mechanism = transfer.mechanism
    if mechanism is TransferMechanism.SCC:
        text = "standard contractual clauses of the European Commission (GDPR Art. 46(2)(c))"
        if transfer.module is not None:
            text += f", module {transfer.module} ({SCC_MODULES[transfer.module]})"
    elif mechanism is TransferMechanism.ADEQUACY:
        text = "an adequacy decision of the European Commission (GDPR Art. 45)"
    elif mechanism is TransferMechanism.BCR:
        text = "binding corporate rules (GDPR Art. 47)"
    else:
        text = "a derogation for specific situations (GDPR Art. 49)"
    if transfer.reference:
        text += f", {transfer.reference}"
    return text


def transfers_outside(manifest: Manifest, country: str | None) -> bool:
    """Whether data sent to ``country`` leaves ``policy.home_region`` (no country: it does not
    travel, as for the public or an authority of the home region)."""
    return country is not None and not in_region(country, manifest.policy.home_region)


def retention_period_words(rule: RetentionRule, *, register: bool = False) -> str:
    """How long, in words: "3 years after your last activity", "1 year after we collect it",
    or the rule's criteria where no fixed period applies (GDPR Art. 13(2)(a)). ``register``
    words it for the records of processing: "after the person's last activity", "after
    collection"."""
    parts = []
    if rule.period is not None:
        if rule.counted_from is CountedFrom.LAST_ACTIVITY:
            start = "after the person's last activity" if register else "after your last activity"
        else:
            start = "after collection" if register else "after we collect it"
        parts.append(f"{duration_words(rule.period)} {start}")
    if rule.criteria:
        parts.append(rule.criteria)
    return ". ".join(parts)


def hold_period_words(hold: LegalHold) -> str:
    """How long a legal hold keeps a record: its period runs from the record's creation
    (``charter.domain.retention``), whatever the person does meanwhile."""
    return f"{duration_words(hold.period)} after the record is made"


def retention_action_words(rule: RetentionRule, *, register: bool = False) -> str:
    if rule.action is RetentionAction.ANONYMISE:
        return "anonymised" if register else "anonymised, so that it no longer identifies you"
    return "deleted"


def join(items: Iterable[str]) -> str:
    """A list in a sentence: "a", "a and b", "a, b and c"."""
    listed = list(items)
    if len(listed) <= 1:
        return "".join(listed)
    return ", ".join(listed[:-1]) + " and " + listed[-1]
