"""The cookie banner's rules: what a choice means, how long it holds, its TC string content."""

from __future__ import annotations

import datetime as dt

import pytest

from charter.domain.consent import ConsentAction, ConsentRecord, switched_off
from charter.domain.cookie_banner import (
    BannerCategory,
    ChoiceMethod,
    TcfSetup,
    Vendor,
    answers,
    cookie_value,
    gpc_signalled,
    remembered_until,
    resolve_choice,
    signal_withdrawals,
    tc_model,
    version_of,
)
from charter.domain.errors import InvalidInput
from charter.domain.tcf import TCF_POLICY_VERSION, decode, encode

NECESSARY = BannerCategory("strictly_necessary", None)
FUNCTIONAL = BannerCategory("functional", "site_preferences", tcf_purposes=frozenset({1}))
ANALYTICS = BannerCategory("analytics", "site_analytics", tcf_purposes=frozenset({1, 8, 9, 10}))
ADVERTISING = BannerCategory(
    "advertising",
    "personalised_advertising",
    sale_or_sharing=True,
    tcf_purposes=frozenset({1, 2, 3, 4, 7}),
    tcf_special_features=frozenset({1}),
)
CATEGORIES = (NECESSARY, FUNCTIONAL, ANALYTICS, ADVERTISING)
ALL_OFF = {"functional": False, "analytics": False, "advertising": False}
ALL_ON = {"functional": True, "analytics": True, "advertising": True}


@pytest.mark.parametrize(
    ("method", "chosen", "gpc", "expected"),
    [
        (ChoiceMethod.ACCEPT_ALL, None, False, ALL_ON),
        (ChoiceMethod.REJECT_ALL, None, False, ALL_OFF),
        (ChoiceMethod.CLOSE, None, False, ALL_OFF),  # closing is refusing
        (ChoiceMethod.CLOSE, {"analytics": True}, False, ALL_OFF),  # whatever was ticked
        (ChoiceMethod.CUSTOMIZE, {"analytics": True}, False, {**ALL_OFF, "analytics": True}),
        (ChoiceMethod.CUSTOMIZE, {}, False, ALL_OFF),  # nothing pre-ticked
        (ChoiceMethod.ACCEPT_ALL, None, True, {**ALL_ON, "advertising": False}),
        (ChoiceMethod.CUSTOMIZE, {"advertising": True}, True, ALL_OFF),
        # the signal alone: the stored choice, minus sale and sharing
        (ChoiceMethod.GPC, ALL_ON, True, {**ALL_ON, "advertising": False}),
        (ChoiceMethod.GPC, {"advertising": True}, True, ALL_OFF),
    ],
)
def test_a_choice_means_one_answer_per_category_asking(
    method: ChoiceMethod, chosen: dict[str, bool] | None, gpc: bool, expected: dict[str, bool]
) -> None:
    assert resolve_choice(CATEGORIES, method, chosen, gpc) == expected


def test_customize_names_only_categories_that_ask() -> None:
    with pytest.raises(InvalidInput, match="strictly_necessary") as refused:
        resolve_choice(CATEGORIES, ChoiceMethod.CUSTOMIZE, {"strictly_necessary": False}, False)
    assert refused.value.code == "unknown_cookie_category"
    with pytest.raises(InvalidInput) as missing:
        resolve_choice(CATEGORIES, ChoiceMethod.CUSTOMIZE, None, False)
    assert missing.value.code == "choices_required"


AT = dt.datetime(2026, 8, 31, 15, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (ALL_ON, dt.datetime(2027, 9, 30, 15, 30, tzinfo=dt.UTC)),  # 13 months, clamped
        (ALL_OFF, dt.datetime(2027, 2, 28, 15, 30, tzinfo=dt.UTC)),  # 6 months, clamped
        ({**ALL_ON, "advertising": False}, dt.datetime(2027, 2, 28, 15, 30, tzinfo=dt.UTC)),
        ({}, dt.datetime(2027, 9, 30, 15, 30, tzinfo=dt.UTC)),  # nothing asked
    ],
)
def test_a_refusal_holds_six_months_and_a_full_consent_thirteen(
    choice: dict[str, bool], expected: dt.datetime
) -> None:
    assert remembered_until(choice, AT, refusal_months=6, consent_months=13) == expected


def test_the_signal_alone_needs_the_signal_and_the_stored_choice() -> None:
    with pytest.raises(InvalidInput) as unsignalled:
        resolve_choice(CATEGORIES, ChoiceMethod.GPC, ALL_ON, gpc=False)
    assert unsignalled.value.code == "gpc_not_signalled"
    with pytest.raises(InvalidInput) as missing:
        resolve_choice(CATEGORIES, ChoiceMethod.GPC, None, gpc=True)
    assert missing.value.code == "choices_required"
    with pytest.raises(InvalidInput) as unknown:
        resolve_choice(CATEGORIES, ChoiceMethod.GPC, {"tracking": True}, gpc=True)
    assert unknown.value.code == "unknown_cookie_category"


SOCIAL = BannerCategory("social", "social_plugins", sale_or_sharing=True)


@pytest.mark.parametrize(
    ("standing", "withdrawn"),
    [
        # only what stands of sale and sharing: analytics' answer stays as it was
        (
            {"site_analytics", "personalised_advertising", "social_plugins"},
            ["advertising", "social"],
        ),
        ({"site_analytics", "social_plugins"}, ["social"]),
        ({"site_analytics"}, []),  # already off (the signal seen before): nothing again
        (set(), []),
    ],
)
def test_the_signal_alone_withdraws_only_the_sale_and_sharing_consents_standing(
    standing: set[str], withdrawn: list[str]
) -> None:
    recorded = signal_withdrawals((*CATEGORIES, SOCIAL), standing)
    assert [a.category.key for a in recorded] == withdrawn
    assert all(a.action == "switch_off" and a.by_gpc for a in recorded)


@pytest.mark.parametrize(
    ("not_after", "expected"),
    [
        (None, dt.datetime(2027, 2, 28, 15, 30, tzinfo=dt.UTC)),
        (dt.datetime(2026, 9, 1, tzinfo=dt.UTC), dt.datetime(2026, 9, 1, tzinfo=dt.UTC)),
        (dt.datetime(2028, 1, 1, tzinfo=dt.UTC), dt.datetime(2027, 2, 28, 15, 30, tzinfo=dt.UTC)),
    ],
)
def test_a_correction_by_the_signal_never_outlives_the_stored_choice(
    not_after: dt.datetime | None, expected: dt.datetime
) -> None:
    choice = {**ALL_ON, "advertising": False}
    assert remembered_until(choice, AT, 6, 13, not_after) == expected


@pytest.mark.parametrize(
    ("header", "signalled"), [("1", True), (" 1 ", True), ("0", False), ("", False), (None, False)]
)
def test_the_sec_gpc_header_signals_only_with_1(header: str | None, signalled: bool) -> None:
    assert gpc_signalled(header) is signalled


def test_version_of_is_stable_and_order_free() -> None:
    assert version_of({"a": 1, "b": [1, 2]}) == version_of({"b": [1, 2], "a": 1})
    assert version_of({"a": 1}) != version_of({"a": 2})
    assert len(version_of("x")) == 16


SETUP = TcfSetup(
    cmp_id=300,
    cmp_version=2,
    vendor_list_version=120,
    publisher_country="DE",
    publisher_purposes=frozenset({1, 8, 9}),
    vendors=(
        Vendor(9001, "advertising", frozenset({2, 7})),
        Vendor(9002, "analytics"),
        Vendor(9003, "functional", frozenset({10})),
    ),
)


def test_the_tc_string_grants_what_the_consented_categories_grant() -> None:
    choice = {"functional": False, "analytics": True, "advertising": False}
    model = tc_model(SETUP, CATEGORIES, choice, AT, "de", customised=True)
    assert model.purpose_consents == {1, 8, 9, 10}
    assert model.special_feature_optins == frozenset()
    assert model.vendor_consents == {9002}
    # refusing a category objects to its vendors' legitimate interests too
    assert model.vendor_legitimate_interests == frozenset()
    assert model.purpose_legitimate_interests == frozenset()
    assert model.disclosed_vendors == {9001, 9002, 9003}
    assert model.publisher is not None and model.publisher.purpose_consents == {1, 8, 9}
    assert (model.consent_screen, model.consent_language, model.publisher_cc) == (2, "DE", "DE")
    assert model.tcf_policy_version == TCF_POLICY_VERSION and model.is_service_specific
    # the day only, so that the string does not date the visit to the second
    assert model.created == model.last_updated == dt.datetime(2026, 8, 31, tzinfo=dt.UTC)
    assert decode(encode(model)) == model


def test_accepting_everything_sets_legitimate_interest_of_the_vendors_claiming_it() -> None:
    model = tc_model(SETUP, CATEGORIES, ALL_ON, AT, "en", customised=False)
    assert model.vendor_consents == {9001, 9002, 9003}
    assert model.vendor_legitimate_interests == {9001, 9003}
    assert model.purpose_legitimate_interests == {2, 7, 10}
    assert model.special_feature_optins == {1}
    assert model.consent_screen == 1


def test_no_publisher_segment_when_the_brand_pursues_no_tcf_purpose() -> None:
    setup = TcfSetup(300, 1, 1, "FR", frozenset(), SETUP.vendors)
    assert tc_model(setup, CATEGORIES, ALL_OFF, AT, "fr", customised=False).publisher is None


def test_a_choice_gives_or_switches_off_each_category_asking() -> None:
    choice = {"functional": False, "analytics": True, "advertising": False}
    recorded = answers(CATEGORIES, choice, gpc=True)
    assert [(a.category.key, a.purpose, a.action, a.by_gpc) for a in recorded] == [
        ("functional", "site_preferences", "switch_off", False),
        ("analytics", "site_analytics", "give", False),
        ("advertising", "personalised_advertising", "switch_off", True),
    ]


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (None, ConsentAction.REFUSED),
        (ConsentRecord(ConsentAction.GIVEN, 1, AT), ConsentAction.WITHDRAWN),
        (ConsentRecord(ConsentAction.RENEWED, 1, AT), ConsentAction.WITHDRAWN),
        (ConsentRecord(ConsentAction.WITHDRAWN, 1, AT), ConsentAction.REFUSED),
        (ConsentRecord(ConsentAction.REFUSED, 1, AT), ConsentAction.REFUSED),
    ],
)
def test_switching_off_a_standing_consent_is_a_withdrawal(
    current: ConsentRecord | None, expected: ConsentAction
) -> None:
    assert switched_off(current) is expected


def test_the_consent_cookie_holds_id_version_granted_and_expiry() -> None:
    value = cookie_value("abc", "v1", {"analytics": True, "advertising": False}, AT)
    assert value == f"1~abc~v1~analytics~{int(AT.timestamp())}"
    assert cookie_value("abc", "v1", ALL_OFF, AT).split("~")[3] == ""
