"""Children's rules: age, what a touchpoint may take from a child, when a parent's consent
counts."""

from __future__ import annotations

import datetime as dt

import pytest

from charter.domain.children import (
    ParentalConsentFacts,
    ParentalStatus,
    PurposeMinors,
    admit_child,
    age_on,
    birth_date_problem,
    is_child,
    parent_granted,
    usable,
)
from charter.domain.consent import ConsentAction, ConsentRecord

D = dt.date
NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("born", "today", "age"),
    [
        (D(2008, 11, 29), D(2026, 11, 29), 18),  # the birthday itself counts
        (D(2008, 11, 30), D(2026, 11, 29), 17),
        (D(2008, 2, 29), D(2026, 2, 28), 17),  # a leap-day child: 1 March in common years
        (D(2008, 2, 29), D(2026, 3, 1), 18),
        (D(2008, 2, 29), D(2028, 2, 29), 20),
        (D(2026, 11, 29), D(2026, 11, 29), 0),
    ],
)
def test_age_in_completed_years(born: dt.date, today: dt.date, age: int) -> None:
    assert age_on(born, today) == age


def test_a_child_is_under_the_child_age() -> None:
    assert (is_child(17, 18), is_child(18, 18), is_child(15, 16)) == (True, False, True)


@pytest.mark.parametrize(
    ("born", "problem"),
    [
        (D(2026, 11, 30), "is in the future"),
        (D(1895, 1, 1), "is more than 130 years ago"),
        (D(1896, 11, 29), None),
        (D(2026, 11, 29), None),
    ],
)
def test_impossible_birth_dates(born: dt.date, problem: str | None) -> None:
    assert birth_date_problem(born, D(2026, 11, 29)) == problem


FORUM = [
    PurposeMinors("forum_publication", consent_basis=False, minors="parental_consent"),
    PurposeMinors("security", consent_basis=False, minors="allowed"),
    PurposeMinors("newsletter", consent_basis=True, minors="parental_consent"),
    PurposeMinors("ads", consent_basis=True, minors="excluded"),
]


@pytest.mark.parametrize(
    ("asked", "granted", "excluded", "needed"),
    [
        # consent purposes not ticked are not served: only the contract purpose needs a parent
        ((), (), (), ("forum_publication",)),
        (("newsletter",), (), (), ("forum_publication", "newsletter")),
        (("newsletter",), ("forum_publication",), (), ("newsletter",)),
        (("newsletter",), ("forum_publication", "newsletter"), (), ()),
        (("ads",), ("forum_publication",), ("ads",), ()),
    ],
)
def test_what_a_child_may_submit(
    asked: tuple[str, ...],
    granted: tuple[str, ...],
    excluded: tuple[str, ...],
    needed: tuple[str, ...],
) -> None:
    admission = admit_child(FORUM, asked, granted)
    assert (admission.excluded, admission.parent_needed) == (excluded, needed)
    assert admission.admitted is (not excluded and not needed)


def test_a_touchpoint_whose_own_purpose_excludes_minors_refuses_children() -> None:
    contest = [PurposeMinors("contests", consent_basis=False, minors="excluded")]
    assert admit_child(contest, (), ("contests",)).excluded == ("contests",)


def test_only_standing_parent_consents_of_the_brand_count() -> None:
    def record(action: ConsentAction) -> ConsentRecord:
        return ConsentRecord(action, 1, NOW)

    consents = {
        ("acme", "forum", "parent"): record(ConsentAction.GIVEN),
        ("acme", "newsletter", "parent"): record(ConsentAction.WITHDRAWN),
        ("acme", "survey", "any"): record(ConsentAction.GIVEN),  # the child's own, not a parent's
        ("zeta", "shop", "parent"): record(ConsentAction.GIVEN),
    }
    assert parent_granted(consents, "acme") == {"forum"}


def facts(**changes: object) -> ParentalConsentFacts:
    values: dict[str, object] = {
        "brand": "acme",
        "touchpoint": "forum",
        "status": ParentalStatus.CONFIRMED,
        "purposes": frozenset({"forum_publication"}),
        "allowed_consents": frozenset({"newsletter"}),
        "expires_at": NOW + dt.timedelta(days=1),
    }
    values.update(changes)
    return ParentalConsentFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "call", "code"),
    [
        ({}, {}, None),
        ({}, {"consents_asked": ("newsletter",)}, None),
        ({"brand": "zeta"}, {}, "parental_consent_mismatch"),
        ({}, {"touchpoint": "support"}, "parental_consent_mismatch"),
        ({"status": ParentalStatus.PENDING}, {}, "parental_consent_pending"),
        (
            {"status": ParentalStatus.PENDING, "expires_at": NOW},
            {},
            "parental_consent_expired",
        ),
        ({"expires_at": NOW}, {}, "parental_consent_expired"),
        ({"status": ParentalStatus.USED}, {}, "parental_consent_used"),
        ({"status": ParentalStatus.WITHDRAWN}, {}, "parental_consent_used"),
        ({}, {"needed": ("forum_publication", "support")}, "parental_consent_incomplete"),
        ({}, {"consents_asked": ("ads",)}, "consent_not_allowed_by_parent"),
    ],
)
def test_when_a_parental_consent_may_be_relied_on(
    changes: dict[str, object], call: dict[str, object], code: str | None
) -> None:
    arguments: dict[str, object] = {
        "brand": "acme",
        "touchpoint": "forum",
        "needed": ("forum_publication",),
        "consents_asked": (),
        "now": NOW,
    }
    arguments.update(call)
    found = usable(facts(**changes), **arguments)  # type: ignore[arg-type]
    assert (found.code if found else None) == code
