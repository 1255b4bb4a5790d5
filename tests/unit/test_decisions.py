"""Decision rules: every reason, in the documented order."""

from __future__ import annotations

import datetime as dt

import pytest

from charter.domain.consent import ConsentAction, ConsentRecord
from charter.domain.decisions import (
    MARKETING_OBJECTION,
    PurposeRule,
    SubjectState,
    category_allowed,
    decide,
)

AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def rule(**changes: object) -> PurposeRule:
    values: dict[str, object] = {
        "key": "newsletter",
        "basis": "consent",
        "categories": frozenset({"user.contact.email", "user.name"}),
        "version": 2,
        "objectable": True,
        "marketing": True,
        "restriction_exempt": False,
        "minors": "parental_consent",
    }
    values.update(changes)
    return PurposeRule(**values)  # type: ignore[arg-type]


def consented(
    action: ConsentAction = ConsentAction.GIVEN,
    version: int = 2,
    brand: str = "acme",
    channel: str = "any",
    **state: object,
) -> SubjectState:
    record = ConsentRecord(action, version, AT)
    return SubjectState(consents={(brand, "newsletter", channel): record}, **state)  # type: ignore[arg-type]


def with_parent(
    state: SubjectState, action: ConsentAction = ConsentAction.GIVEN, version: int = 2
) -> SubjectState:
    """``state`` plus a parent's consent to the newsletter of acme (the ledger's parent channel)."""
    consents = {
        **state.consents,
        ("acme", "newsletter", "parent"): ConsentRecord(action, version, AT),
    }
    return SubjectState(consents=consents, minor=state.minor)


LI = {"basis": "legitimate_interest", "key": "analytics", "marketing": False}
SOI = {"basis": "soft_opt_in"}  # the newsletter as e-mail marketing to existing customers


def customer(action: ConsentAction = ConsentAction.GIVEN, **state: object) -> SubjectState:
    """An existing customer of acme for the newsletter: the ledger's customer channel."""
    return consented(action, channel="customer", **state)


@pytest.mark.parametrize(
    ("purpose", "state", "categories", "brand", "reason"),
    [
        (None, consented(), [], "acme", "unknown_purpose"),
        (rule(), None, [], "acme", "unknown_subject"),
        (rule(), consented(), ["user.financial"], "acme", "category_not_allowed"),
        (rule(), consented(restricted=True), [], "acme", "restricted"),
        (rule(), consented(objections=frozenset({"newsletter"})), [], "acme", "objected"),
        (rule(), consented(objections=frozenset({MARKETING_OBJECTION})), [], "acme", "objected"),
        (rule(), consented(minor=True), [], "acme", "child_without_parental_consent"),
        (
            rule(minors="excluded"),
            with_parent(consented(minor=True)),
            [],
            "acme",
            "child_without_parental_consent",
        ),
        (
            rule(),
            with_parent(consented(minor=True), ConsentAction.WITHDRAWN),
            [],
            "acme",
            "child_without_parental_consent",
        ),
        (
            rule(),
            with_parent(consented(minor=True), version=1),
            [],
            "acme",
            "child_without_parental_consent",
        ),
        (rule(), with_parent(SubjectState(minor=True)), [], "acme", "no_consent"),
        (
            rule(**LI),
            with_parent(SubjectState(minor=True)),
            [],
            "acme",
            "child_without_parental_consent",
        ),
        (rule(), SubjectState(), [], "acme", "no_consent"),
        (rule(), consented(), [], "zeta", "no_consent"),
        (rule(), consented(ConsentAction.REFUSED), [], "acme", "no_consent"),
        (rule(), consented(ConsentAction.EXPIRED), [], "acme", "no_consent"),
        (rule(), consented(ConsentAction.WITHDRAWN), [], "acme", "consent_withdrawn"),
        (rule(), consented(version=1), [], "acme", "consent_outdated"),
        (rule(), consented(), ["user.contact.email"], "acme", "ok"),
        (rule(), consented(ConsentAction.RENEWED, version=3), [], "acme", "ok"),
        (rule(), with_parent(consented(minor=True)), [], "acme", "ok"),
        (rule(minors="allowed"), consented(minor=True), [], "acme", "ok"),
        (rule(**LI), SubjectState(), ["user.name"], "acme", "ok"),
        (rule(**LI), SubjectState(objections=frozenset({"analytics"})), [], "acme", "objected"),
        (rule(**LI), SubjectState(objections=frozenset({MARKETING_OBJECTION})), [], "acme", "ok"),
        (
            rule(**LI, objectable=False),
            SubjectState(objections=frozenset({"analytics"})),
            [],
            "acme",
            "ok",
        ),
        (rule(**LI, restriction_exempt=True), SubjectState(restricted=True), [], "acme", "ok"),
        # The soft opt-in (ePrivacy Art. 13(2)): the customer channel, never a consent.
        (rule(**SOI), customer(), ["user.contact.email"], "acme", "ok"),
        (rule(**SOI), customer(ConsentAction.RENEWED), [], "acme", "ok"),
        (rule(**SOI), customer(version=1), [], "acme", "ok"),  # no notice version to renew
        (rule(**SOI), SubjectState(), [], "acme", "not_a_customer"),
        (rule(**SOI), customer(), [], "zeta", "not_a_customer"),  # a customer of acme only
        (rule(**SOI), customer(ConsentAction.EXPIRED), [], "acme", "not_a_customer"),
        (rule(**SOI), customer(ConsentAction.REFUSED), [], "acme", "not_a_customer"),
        (rule(**SOI), customer(ConsentAction.WITHDRAWN), [], "acme", "not_a_customer"),
        (rule(**SOI), consented(), [], "acme", "not_a_customer"),  # a consent is no sale
        (rule(), customer(), [], "acme", "no_consent"),  # nor a sale a consent
        (rule(**SOI), customer(objections=frozenset({"newsletter"})), [], "acme", "objected"),
        (
            rule(**SOI),
            customer(objections=frozenset({MARKETING_OBJECTION})),
            [],
            "acme",
            "objected",
        ),
        (rule(**SOI), customer(restricted=True), [], "acme", "restricted"),
        (rule(**SOI), customer(), ["user.financial"], "acme", "category_not_allowed"),
        (rule(**SOI), customer(minor=True), [], "acme", "child_without_parental_consent"),
        (
            rule(**SOI, minors="excluded"),
            customer(minor=True),
            [],
            "acme",
            "child_without_parental_consent",
        ),
        (rule(**SOI), with_parent(SubjectState(minor=True)), [], "acme", "not_a_customer"),
    ],
)
def test_reasons(
    purpose: PurposeRule | None,
    state: SubjectState | None,
    categories: list[str],
    brand: str,
    reason: str,
) -> None:
    decision = decide(purpose, state, categories, brand)
    assert decision.reason == reason
    assert decision.allowed is (reason == "ok")
    if purpose is not None:
        assert decision.basis == purpose.basis


def test_a_channel_consent_falls_back_to_the_any_channel_consent() -> None:
    assert decide(rule(), consented(), [], "acme", "email").reason == "ok"
    only_sms = consented(channel="sms")
    assert decide(rule(), only_sms, [], "acme", "sms").reason == "ok"
    assert decide(rule(), only_sms, [], "acme", "email").reason == "no_consent"


@pytest.mark.parametrize(
    ("category", "allowed", "expected"),
    [
        ("user.contact.email", {"user.contact"}, True),
        ("user.contact", {"user.contact.email"}, False),
        ("user.contactless", {"user.contact"}, False),
        ("user.name", {"user.name"}, True),
    ],
)
def test_category_allowed(category: str, allowed: set[str], expected: bool) -> None:
    assert category_allowed(category, frozenset(allowed)) is expected
