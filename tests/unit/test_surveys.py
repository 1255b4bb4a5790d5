"""The survey rules of ``charter.domain.surveys`` (one answer per person and field, every choice
listed, noise split over the fields, suppression, quote eligibility) and the choices of a field
(``charter.services.values``)."""

from __future__ import annotations

import datetime as dt

import pytest

from charter.domain.errors import InvalidValue
from charter.domain.surveys import (
    MAX_QUOTE_LENGTH,
    Answer,
    check_period,
    choice_counts,
    field_scale,
    latest_answers,
    latest_signed,
    quotable,
    quote_text,
    released_counts,
)
from charter.manifest.models import FieldSpec
from charter.services.values import validate_field

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
CHOICES = ["very_satisfied", "satisfied", "neutral"]


def a(
    person: str, field: str, value: object, minutes: int = 0, order: int = 0, submission: str = ""
) -> Answer[str]:
    return Answer(person, field, T0 + dt.timedelta(minutes=minutes), order, value, submission)


def test_each_person_keeps_their_latest_answer_to_each_field() -> None:
    answers = [
        a("ann", "satisfaction", "neutral", minutes=0, order=1),
        a("ann", "satisfaction", "satisfied", minutes=5, order=2),
        a("ann", "recommend", "yes", minutes=0, order=3),  # an older form, another field: kept
        a("bob", "satisfaction", "neutral", minutes=1, order=4),
        # Two answers at the same instant: the later row wins.
        a("cat", "satisfaction", "neutral", minutes=2, order=6),
        a("cat", "satisfaction", "very_satisfied", minutes=2, order=5),
    ]
    latest = latest_answers(answers)
    assert {k: v.value for k, v in latest.items()} == {
        ("ann", "satisfaction"): "satisfied",
        ("ann", "recommend"): "yes",
        ("bob", "satisfaction"): "neutral",
        ("cat", "satisfaction"): "neutral",
    }


def test_counts_list_every_declared_choice_in_order_and_skip_the_undeclared() -> None:
    latest = latest_answers(
        [
            a("ann", "satisfaction", "neutral"),
            a("bob", "satisfaction", "neutral"),
            a("cat", "satisfaction", "ecstatic"),  # a choice the manifest no longer has
            a("dan", "recommend", "yes"),
            a("eve", "satisfaction", 3),
        ]
    ).values()
    counts = choice_counts(CHOICES, latest, "satisfaction")
    assert list(counts.items()) == [("very_satisfied", 0), ("satisfied", 0), ("neutral", 2)]


def test_counts_refuse_two_answers_of_one_person_to_one_field() -> None:
    with pytest.raises(ValueError, match="one answer per person"):
        choice_counts(CHOICES, [a("ann", "s", "neutral"), a("ann", "s", "satisfied")], "s")


@pytest.mark.parametrize(
    ("fields", "epsilon", "scale"), [(1, 1.0, 1.0), (2, 1.0, 2.0), (2, 8.0, 0.25), (5, 0.5, 10.0)]
)
def test_the_epsilon_is_split_over_the_fields_at_sensitivity_one(
    fields: int, epsilon: float, scale: float
) -> None:
    assert field_scale(fields, epsilon) == pytest.approx(scale)


@pytest.mark.parametrize(("fields", "epsilon"), [(0, 1.0), (1, 0.0), (1, -1.0), (1, float("inf"))])
def test_a_scale_needs_fields_and_a_positive_epsilon(fields: int, epsilon: float) -> None:
    with pytest.raises(InvalidValue):
        field_scale(fields, epsilon)


def test_counts_below_k_after_noise_and_rounding_are_suppressed() -> None:
    released = released_counts({"a": 12.0, "b": 9.6, "c": 9.4, "d": -2.0, "e": 10.0}, k=10)
    assert released == {"a": 12, "b": 10, "c": None, "d": None, "e": 10}
    assert list(released) == ["a", "b", "c", "d", "e"]  # the order of the choices


@pytest.mark.parametrize(
    ("allowed", "quote", "name", "expected"),
    [
        (True, "Great synth.", "Ann E.", True),
        (False, "Great synth.", "Ann E.", False),  # no permission: never quoted, even unsigned
        (True, "Great synth.", None, False),  # a quote is signed, or not published
        (True, "Great synth.", "  ", False),
        (True, "   ", "Ann E.", False),
        (True, None, "Ann E.", False),
        (True, 42, "Ann E.", False),
    ],
)
def test_a_quote_needs_the_permission_now_a_text_and_a_name(
    allowed: bool, quote: object, name: object, expected: bool
) -> None:
    assert quotable(allowed, quote, name) is expected


def test_a_quote_is_signed_with_the_name_given_in_the_same_submission() -> None:
    answers = [
        a("ann", "display_name", "Ann E.", minutes=0, order=1, submission="s1"),
        a("ann", "comment", "First thoughts.", minutes=0, order=2, submission="s1"),
        a("ann", "comment", "Second thoughts.", minutes=9, order=3, submission="s2"),
        a("bob", "comment", "Unsigned.", minutes=1, order=4, submission="s3"),
        a("cat", "comment", "  ", minutes=1, order=5, submission="s4"),  # nothing to quote
        a("cat", "display_name", "Cat", minutes=1, order=6, submission="s4"),
    ]
    signed = latest_signed(answers, "comment", "display_name")
    assert set(signed) == {"ann", "bob"}
    quote, name = signed["ann"]
    assert quote.value == "Second thoughts." and name is None  # s2 gave no name: unsigned
    assert signed["bob"][1] is None


def test_a_long_quote_is_cut() -> None:
    assert quote_text("  Fine.  ") == "Fine."
    cut = quote_text("x" * (MAX_QUOTE_LENGTH + 50))
    assert len(cut) == MAX_QUOTE_LENGTH and cut.endswith("…")


def test_a_period_has_zones_and_runs_forward() -> None:
    check_period(None, None)
    check_period(T0, T0 + dt.timedelta(days=1))
    with pytest.raises(InvalidValue, match=r"^since: give a time zone"):
        check_period(dt.datetime(2026, 1, 1), None)
    with pytest.raises(InvalidValue, match=r"^since, until"):
        check_period(T0, T0)


# -- the choices of a field, at collection ----------------------------------------------------


def test_a_value_among_the_choices_is_kept_in_canonical_form() -> None:
    spec = FieldSpec(category="user.content.survey_response", choices=CHOICES)
    assert validate_field(spec, " neutral ", "data.satisfaction", "US") == "neutral"


@pytest.mark.parametrize("value", ["thrilled", "Neutral", "x" * 400, ""])
def test_a_value_outside_the_choices_is_refused_naming_the_choices_not_the_value(
    value: str,
) -> None:
    spec = FieldSpec(category="user.content.survey_response", choices=CHOICES)
    with pytest.raises(InvalidValue) as refused:
        validate_field(spec, value, "data.satisfaction", "US")
    message = refused.value.message
    assert message == "data.satisfaction: must be one of very_satisfied, satisfied, neutral"
    assert refused.value.code == "invalid_value"
