"""May this purpose use these categories of this person's data, now? (GDPR Art. 6, 7, 8, 18, 21)

Checks run in a fixed order and the first that fails gives the reason:

1. ``unknown_purpose`` — the manifest has no such purpose.
2. ``unknown_subject`` — nobody with that id or identity is known.
3. ``category_not_allowed`` — the purpose does not declare every category asked for.
4. ``restricted`` — processing is restricted (Art. 18): only storage and legal claims go on.
5. ``objected`` — the person objected to this purpose (Art. 21(1)), or to direct marketing,
   which is absolute (Art. 21(2)-(3)) and blocks every marketing purpose, profiling included.
6. ``child_without_parental_consent`` — a person under the child age, for a purpose that
   excludes minors, or that needs a parent's consent (Art. 8) and has none standing for that
   brand and purpose (the ledger's ``parent`` channel, ``charter.domain.children``).
7. For consent purposes: ``no_consent`` (never given, refused or expired),
   ``consent_withdrawn``, ``consent_outdated`` (given to an earlier purpose version).
   For soft opt-in purposes (ePrivacy Directive Art. 13(2): e-mail marketing of the brand's own
   similar products to its existing customers) the ledger's ``customer`` channel, never a
   consent, decides: ``not_a_customer`` (no sale or registration of that brand established the
   relationship, or it lapsed: ``expired``). An opt-out, at collection or later, is an
   objection, so it answers ``objected`` (check 5); a consent never stands in for the
   relationship, nor the relationship for a consent.
8. ``ok``.

State is a compact per-subject snapshot kept current on every event, so a decision is a few
dictionary look-ups, never a scan of the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from charter.domain.consent import (
    ANY_CHANNEL,
    CUSTOMER_CHANNEL,
    PARENT_CHANNEL,
    ConsentAction,
    ConsentKey,
    ConsentRecord,
)

SOFT_OPT_IN = "soft_opt_in"
"""The basis of e-mail marketing to existing customers (``LegalBasis.SOFT_OPT_IN``)."""
MARKETING_OBJECTION = "*marketing*"
"""Objection key meaning "no direct marketing of any kind" (Art. 21(2))."""


@dataclass(frozen=True, slots=True)
class PurposeRule:
    key: str
    basis: str
    categories: frozenset[str]
    version: int
    objectable: bool
    marketing: bool
    restriction_exempt: bool
    minors: str  # parental_consent | excluded | allowed


@dataclass(frozen=True, slots=True)
class SubjectState:
    consents: Mapping[ConsentKey, ConsentRecord] = field(default_factory=dict)
    objections: frozenset[str] = frozenset()
    restricted: bool = False
    minor: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    basis: str | None
    reason: str


UNKNOWN_PURPOSE = Decision(False, None, "unknown_purpose")

# Decisions are immutable values with a handful of (basis, reason) combinations, so one instance
# of each is shared: building a frozen dataclass per call would cost more than the checks.
_DECISIONS: dict[tuple[str | None, str], Decision] = {}
_DECISIONS_MAX = 4096  # rules built by hand could use any basis text; keep the cache bounded
_NO_CONSENT_ACTIONS = (ConsentAction.REFUSED, ConsentAction.EXPIRED)
_WITHDRAWN = ConsentAction.WITHDRAWN
_GRANTING = (ConsentAction.GIVEN, ConsentAction.RENEWED)


def _decision(basis: str | None, reason: str) -> Decision:
    found = _DECISIONS.get((basis, reason))
    if found is None:
        found = Decision(reason == "ok", basis, reason)
        if len(_DECISIONS) < _DECISIONS_MAX:
            _DECISIONS[(basis, reason)] = found
    return found


def category_allowed(category: str, allowed: frozenset[str]) -> bool:
    """Whether ``category`` or one of its ancestors is in ``allowed``."""
    if category in allowed:
        return True
    index = category.rfind(".")
    while index > 0:
        category = category[:index]
        if category in allowed:
            return True
        index = category.rfind(".")
    return False


def consent_reason(
    rule: PurposeRule, consents: Mapping[ConsentKey, ConsentRecord], brand: str, channel: str
) -> str:
    record = consents.get((brand, rule.key, channel))
    if record is None and channel != ANY_CHANNEL:
        record = consents.get((brand, rule.key, ANY_CHANNEL))
    if record is None or record.action in (ConsentAction.REFUSED, ConsentAction.EXPIRED):
        return "no_consent"
    if record.action is ConsentAction.WITHDRAWN:
        return "consent_withdrawn"
    if record.purpose_version < rule.version:
        return "consent_outdated"
    return "ok"


def _parent_consents(
    consents: Mapping[ConsentKey, ConsentRecord], brand: str, rule: PurposeRule
) -> bool:
    record = consents.get((brand, rule.key, PARENT_CHANNEL))
    return (
        record is not None
        and record.action in (ConsentAction.GIVEN, ConsentAction.RENEWED)
        and record.purpose_version >= rule.version
    )


def decide(
    rule: PurposeRule | None,
    state: SubjectState | None,
    categories: Iterable[str],
    brand: str,
    channel: str = ANY_CHANNEL,
) -> Decision:
    # The hot path of every decision (the target is >= 500,000/s on one core): the checks of
    # the module docstring, in that order, with ``consent_reason`` inlined.
    if rule is None:
        return UNKNOWN_PURPOSE
    basis = rule.basis
    if state is None:
        return _decision(basis, "unknown_subject")
    allowed = rule.categories
    for category in categories:
        if category not in allowed and not category_allowed(category, allowed):
            return _decision(basis, "category_not_allowed")
    if state.restricted and not rule.restriction_exempt:
        return _decision(basis, "restricted")
    objections = state.objections
    if objections and (
        (rule.objectable and rule.key in objections)
        or (rule.marketing and MARKETING_OBJECTION in objections)
    ):
        return _decision(basis, "objected")
    consents = state.consents
    if state.minor and (
        rule.minors == "excluded"
        or (rule.minors == "parental_consent" and not _parent_consents(consents, brand, rule))
    ):
        return _decision(basis, "child_without_parental_consent")
    if basis != "consent":
        if basis != SOFT_OPT_IN:
            return _decision(basis, "ok")
        # Only a standing relationship counts; an opt-out is an objection (check 5 above).
        record = consents.get((brand, rule.key, CUSTOMER_CHANNEL))
        if record is None or record.action not in _GRANTING:
            return _decision(basis, "not_a_customer")
        return _decision(basis, "ok")
    record = consents.get((brand, rule.key, channel))
    if record is None and channel != ANY_CHANNEL:
        record = consents.get((brand, rule.key, ANY_CHANNEL))
    if record is None or record.action in _NO_CONSENT_ACTIONS:
        return _decision(basis, "no_consent")
    if record.action is _WITHDRAWN:
        return _decision(basis, "consent_withdrawn")
    if record.purpose_version < rule.version:
        return _decision(basis, "consent_outdated")
    return _decision(basis, "ok")
