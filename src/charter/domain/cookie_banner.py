"""The cookie banner's rules: what a choice means, how long it holds, and its TC string.

ePrivacy Directive Art. 5(3): nothing but strictly necessary cookies before consent. The EDPB
(Guidelines 05/2020 and the cookie banner taskforce report, 2023) and the CNIL add: refusing is
as easy as accepting (one click each, equally prominent), closing the banner is a refusal, the
choice is asked again when what is asked changes, a refusal is remembered for some time rather
than asked on every page (CNIL: six months) and a consent lasts at most 13 months.

Global Privacy Control (CCPA regulations section 7025; CPA; the signal honoured in the EU as an
objection) switches off the categories used for sale, sharing or targeted advertising, whatever
the person clicks. Section 7025(c)(1) asks that it be honoured without any further action of the
person: a stored choice that the signal overrules is corrected by the signal alone (method
``gpc``), which withdraws what stood of those categories and leaves the person's other answers
as they were.

For brands in the IAB Transparency & Consent Framework, ``tc_model`` turns a choice into the
TC string's content: a consent to a cookie category grants its TCF purposes and special features
and is the consent of the vendors belonging to that category; refusing the category also objects
to those vendors' legitimate-interest processing, so one switch governs everything in it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from charter.domain.deadlines import add_months
from charter.domain.errors import InvalidInput
from charter.domain.tcf import TCF_POLICY_VERSION, PublisherTC, TCModel, day_level_timestamp


class ChoiceMethod(StrEnum):
    ACCEPT_ALL = "accept_all"
    REJECT_ALL = "reject_all"
    CUSTOMIZE = "customize"
    CLOSE = "close"
    GPC = "gpc"  # no click: the signal alone, applied to the stored choice it overrules


@dataclass(frozen=True, slots=True)
class BannerCategory:
    key: str
    purpose: str | None  # None: strictly necessary, never asked
    sale_or_sharing: bool = False
    tcf_purposes: frozenset[int] = frozenset()
    tcf_special_features: frozenset[int] = frozenset()

    @property
    def asks_consent(self) -> bool:
        return self.purpose is not None


@dataclass(frozen=True, slots=True)
class Vendor:
    id: int
    category: str
    legitimate_interests: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class TcfSetup:
    cmp_id: int
    cmp_version: int
    vendor_list_version: int
    publisher_country: str
    publisher_purposes: frozenset[int]
    vendors: tuple[Vendor, ...]


def version_of(content: Any) -> str:
    """A short, stable digest of JSON-able content: the version the banner and ledger quote."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def resolve_choice(
    categories: Sequence[BannerCategory],
    method: ChoiceMethod,
    chosen: Mapping[str, bool] | None,
    gpc: bool,
) -> dict[str, bool]:
    """Consent per category asking for it. ``customize`` takes ``chosen`` (a category left out
    is refused: no pre-ticked boxes, CJEU C-673/17 *Planet49*); closing is refusing; with GPC
    the sale and sharing categories are refused whatever was chosen. ``gpc`` takes the stored
    choice as ``chosen`` and needs the signal itself (422 ``gpc_not_signalled``)."""
    asked = [c for c in categories if c.asks_consent]
    names = {c.key for c in asked}
    if method is ChoiceMethod.GPC and not gpc:
        raise InvalidInput(
            "method 'gpc' applies the Global Privacy Control signal, and the request carries "
            'none (send the Sec-GPC: 1 header or "gpc": true)',
            code="gpc_not_signalled",
        )
    if method in (ChoiceMethod.CUSTOMIZE, ChoiceMethod.GPC):
        if chosen is None:
            raise InvalidInput("a customised choice needs 'choices'", code="choices_required")
        unknown = sorted(set(chosen) - names)
        if unknown:
            raise InvalidInput(
                f"no cookie category asking for consent named {', '.join(unknown)} "
                f"(known: {', '.join(sorted(names))})",
                code="unknown_cookie_category",
            )
        result = {c.key: bool(chosen.get(c.key, False)) for c in asked}
    else:
        result = {c.key: method is ChoiceMethod.ACCEPT_ALL for c in asked}
    if gpc:
        for category in asked:
            if category.sale_or_sharing:
                result[category.key] = False
    return result


@dataclass(frozen=True, slots=True)
class Answer:
    """What a choice records for one category asking for consent."""

    category: BannerCategory
    purpose: str
    action: str  # give | switch_off (the ledger: withdrawn if it stood, else refused)
    by_gpc: bool  # off because of the GPC signal, not by a click


def answers(
    categories: Sequence[BannerCategory], choice: Mapping[str, bool], gpc: bool
) -> list[Answer]:
    """One answer per category asking for consent: given, or switched off (which the ledger
    records as a withdrawal of a consent that stood, GDPR Art. 7(3), else a refusal); a sale or
    sharing category off under GPC is the signal's."""
    return [
        Answer(
            category,
            category.purpose,
            "give" if choice[category.key] else "switch_off",
            gpc and category.sale_or_sharing,
        )
        for category in categories
        if category.purpose is not None
    ]


def signal_withdrawals(
    categories: Sequence[BannerCategory], standing: Collection[str]
) -> list[Answer]:
    """What the GPC signal alone records against a stored choice (method ``gpc``, no click):
    each sale or sharing category whose consent still stands (its purpose in ``standing``) is
    switched off, which the ledger records as a withdrawal. Nothing else is recorded: the
    person answered nothing new about the other categories, so their answers stand as they
    were; and a category already off is not recorded again, so the signal sent on every visit
    leaves one withdrawal."""
    return [
        Answer(category, category.purpose, "switch_off", True)
        for category in categories
        if category.purpose is not None
        and category.sale_or_sharing
        and category.purpose in standing
    ]


def cookie_value(
    cookie_id: str, config_version: str, choice: Mapping[str, bool], expires: dt.datetime
) -> str:
    """The first-party consent cookie the banner script reads back:
    ``1~<cookie id>~<config version>~<granted categories joined by +>~<expiry, epoch s>``."""
    granted = "+".join(key for key, on in choice.items() if on)
    return f"1~{cookie_id}~{config_version}~{granted}~{int(expires.timestamp())}"


def remembered_until(
    choice: Mapping[str, bool],
    at: dt.datetime,
    refusal_months: int,
    consent_months: int,
    not_after: dt.datetime | None = None,
) -> dt.datetime:
    """When the banner asks again: after ``refusal_months`` if anything was refused, else
    after ``consent_months``. A choice with nothing to refuse (no category asks) counts as a
    full consent. ``not_after`` (the expiry of a stored choice that the GPC signal corrects)
    caps it: the consents kept from that choice were given then, and a correction must not
    make them outlive their term."""
    months = consent_months if all(choice.values()) else refusal_months
    until = add_months(at, months)
    return until if not_after is None else min(until, not_after)


def gpc_signalled(header: str | None) -> bool:
    """Whether a ``Sec-GPC`` request header carries the signal: its only defined value is 1."""
    return (header or "").strip() == "1"


def tc_model(
    setup: TcfSetup,
    categories: Sequence[BannerCategory],
    choice: Mapping[str, bool],
    at: dt.datetime,
    language: str,
    customised: bool,
) -> TCModel:
    """The TC string content for a choice. ``ConsentScreen`` is 1 for the first layer and 2 for
    the customise layer; the publisher TC segment is written when the brand pursues TCF
    purposes itself."""
    granted = [c for c in categories if choice.get(c.key, False)]
    purposes = frozenset().union(*(c.tcf_purposes for c in granted))
    features = frozenset().union(*(c.tcf_special_features for c in granted))
    vendors = [v for v in setup.vendors if choice.get(v.category, False)]
    with_li = [v for v in vendors if v.legitimate_interests]
    publisher = (
        PublisherTC(purpose_consents=setup.publisher_purposes & purposes)
        if setup.publisher_purposes
        else None
    )
    day = day_level_timestamp(at)
    return TCModel(
        created=day,
        last_updated=day,
        cmp_id=setup.cmp_id,
        cmp_version=setup.cmp_version,
        consent_screen=2 if customised else 1,
        consent_language=language.upper(),
        vendor_list_version=setup.vendor_list_version,
        tcf_policy_version=TCF_POLICY_VERSION,
        is_service_specific=True,
        special_feature_optins=features,
        purpose_consents=purposes,
        purpose_legitimate_interests=frozenset().union(*(v.legitimate_interests for v in with_li)),
        publisher_cc=setup.publisher_country,
        vendor_consents=frozenset(v.id for v in vendors),
        vendor_legitimate_interests=frozenset(v.id for v in with_li),
        disclosed_vendors=frozenset(v.id for v in setup.vendors),
        publisher=publisher,
    )
