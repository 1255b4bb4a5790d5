"""The disclosures domain: the workflow of compelled disclosures and what a share may be."""

from __future__ import annotations

import datetime as dt

import pytest

from charter.domain.disclosures import (
    COMPELLED,
    TRANSITIONS,
    Declared,
    DisclosureKind,
    DisclosureStatus,
    StepInput,
    check_step,
    confidential_now,
    initial_status,
    next_statuses,
    undeclared,
)
from charter.domain.errors import InvalidInput

K = DisclosureKind
S = DisclosureStatus
ORDER = K.COURT_ORDER
ASKED = ("user.contact", "user.name")

# Every (from, to) pair: allowed or not. The table is the workflow of the module docstring.
ALLOWED = {
    (S.RECEIVED, S.LEGAL_REVIEW),
    (S.LEGAL_REVIEW, S.SCOPE_DECIDED),
    (S.LEGAL_REVIEW, S.REFUSED),
    (S.SCOPE_DECIDED, S.DISCLOSED),
    (S.SCOPE_DECIDED, S.REFUSED),
}


def step(to: S | None, **fields: object) -> StepInput:
    values: dict[str, object] = {"note": "checked", "to": to}
    if to is S.REFUSED:
        values["reasons"] = "no legal basis shown"
    values.update(fields)
    return StepInput(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("to", list(S))
def test_the_transitions_table(current: S, to: S) -> None:
    move = step(to)
    if (current, to) in ALLOWED:
        assert check_step(ORDER, current, move, legal_reference="12/2026", requested=ASKED) is to
    else:
        with pytest.raises(InvalidInput) as refused:
            check_step(ORDER, current, move, legal_reference="12/2026", requested=ASKED)
        assert refused.value.code == "not_allowed_now"
        assert current.value in refused.value.message


def test_the_table_and_next_statuses_agree_and_end_in_two_final_statuses() -> None:
    assert {(a, b) for a, following in TRANSITIONS.items() for b in following} == ALLOWED
    assert next_statuses(ORDER, S.LEGAL_REVIEW) == [S.SCOPE_DECIDED, S.REFUSED]
    assert next_statuses(ORDER, S.DISCLOSED) == next_statuses(ORDER, S.REFUSED) == []
    assert next_statuses(K.PROCESSOR_SHARE, S.DISCLOSED) == []


@pytest.mark.parametrize("kind", list(K))
def test_a_share_is_recorded_disclosed_and_a_compelled_disclosure_received(kind: K) -> None:
    assert initial_status(kind) is (S.RECEIVED if kind in COMPELLED else S.DISCLOSED)


@pytest.mark.parametrize(
    "kind", [K.PROCESSOR_SHARE, K.AFFILIATE_SHARE, K.THIRD_PARTY_SHARE, K.PUBLIC_POSTING]
)
def test_a_share_has_no_workflow_but_takes_notes(kind: K) -> None:
    with pytest.raises(InvalidInput, match="no workflow"):
        check_step(kind, S.DISCLOSED, step(S.REFUSED), legal_reference=None, requested=ASKED)
    assert check_step(kind, S.DISCLOSED, step(None), legal_reference=None, requested=ASKED) is (
        S.DISCLOSED
    )


@pytest.mark.parametrize(
    ("current", "move", "field"),
    [
        (S.RECEIVED, step(S.LEGAL_REVIEW, note="  "), "note"),
        (S.LEGAL_REVIEW, step(S.REFUSED, reasons=" "), "reasons"),
        (S.LEGAL_REVIEW, step(S.SCOPE_DECIDED, reasons="why"), "reasons"),
        (S.LEGAL_REVIEW, step(S.SCOPE_DECIDED), "legal_reference"),
        (S.SCOPE_DECIDED, step(S.DISCLOSED), "legal_reference"),
        (S.LEGAL_REVIEW, step(S.SCOPE_DECIDED, legal_reference="§ 100a", scope=()), "categories"),
        (
            S.LEGAL_REVIEW,
            step(S.SCOPE_DECIDED, legal_reference="§ 100a", scope=("user.content",)),
            "categories",
        ),
        (S.RECEIVED, step(S.LEGAL_REVIEW, scope=("user.name",)), "categories"),
        (S.RECEIVED, step(None, reasons="why"), "to"),
    ],
)
def test_each_step_refusal_names_its_field(current: S, move: StepInput, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_step(ORDER, current, move, legal_reference=None, requested=ASKED)
    assert refused.value.message.startswith(f"{field}:")


def test_a_scope_may_narrow_what_was_asked_and_the_reference_may_come_with_the_step() -> None:
    narrowed = step(S.SCOPE_DECIDED, legal_reference="§ 100a StPO", scope=("user.contact.email",))
    assert check_step(ORDER, S.LEGAL_REVIEW, narrowed, legal_reference=None, requested=ASKED) is (
        S.SCOPE_DECIDED
    )
    # a refusal needs no legal reference: the request may have shown none
    assert check_step(
        ORDER, S.LEGAL_REVIEW, step(S.REFUSED), legal_reference=None, requested=ASKED
    ) is (S.REFUSED)


HOST = Declared("processor", ("user.contact", "user.name"), ("order_fulfilment",))
PURPOSES = {
    "order_fulfilment": ("user.contact", "user.name"),
    "support": ("user.contact", "user.name", "user.content.private"),
    "marketing_email": ("user.contact.email",),
}
KNOWN = ("user.contact.email", "user.contact.address", "user.name", "user.content.private")


def problems(
    kind: K,
    categories: list[str],
    purposes: list[str],
    recipient: Declared | None = HOST,
) -> list[str]:
    return undeclared(
        kind,
        "shop_host",
        recipient,
        categories,
        purposes,
        known_categories=KNOWN,
        purpose_categories=PURPOSES,
    )


@pytest.mark.parametrize(
    ("kind", "categories", "purposes", "recipient", "expected"),
    [
        # declared: a category the recipient holds (or a narrower one), a purpose it serves
        (K.PROCESSOR_SHARE, ["user.contact.email", "user.name"], ["order_fulfilment"], HOST, []),
        (K.PROCESSOR_SHARE, ["user.contact"], ["order_fulfilment"], HOST, []),
        # not declared for the recipient
        (K.PROCESSOR_SHARE, ["user.content.private"], ["order_fulfilment"], HOST, ["categories"]),
        (K.PROCESSOR_SHARE, ["user.name"], ["support"], HOST, ["purposes"]),
        (K.PROCESSOR_SHARE, ["user.name"], [], HOST, ["purposes"]),
        # purpose limitation: the recipient may hold it, but not for the purpose named
        (
            K.PROCESSOR_SHARE,
            ["user.name"],
            ["marketing_email"],
            Declared("processor", ("user.name",), ("marketing_email",)),
            ["categories"],
        ),
        # unknown to the manifest altogether
        (K.PROCESSOR_SHARE, ["user.secrets"], ["order_fulfilment"], HOST, ["categories"]),
        (K.PROCESSOR_SHARE, ["user.name"], ["telepathy"], HOST, ["purposes"]),
        (K.PROCESSOR_SHARE, ["user.name"], ["order_fulfilment"], None, ["recipient"]),
        # the kind must match the recipient's
        (K.AFFILIATE_SHARE, ["user.name"], ["order_fulfilment"], HOST, ["recipient"]),
        # a third party (a contest's sponsor) receives a third_party_share, nothing else
        (
            K.THIRD_PARTY_SHARE,
            ["user.name"],
            ["order_fulfilment"],
            Declared("third_party", ("user.name",), ("order_fulfilment",)),
            [],
        ),
        (K.THIRD_PARTY_SHARE, ["user.name"], ["order_fulfilment"], HOST, ["recipient"]),
        (K.COURT_ORDER, ["user.name"], [], HOST, ["recipient"]),
        # a compelled disclosure: its categories must exist, not be declared for the recipient
        (
            K.COURT_ORDER,
            ["user.content.private"],
            [],
            Declared("authority", ("user.name",), ()),
            [],
        ),
        (K.AUTHORITY_REQUEST, ["user.dreams"], [], Declared("authority", (), ()), ["categories"]),
    ],
)
def test_enforcement_rules(
    kind: K,
    categories: list[str],
    purposes: list[str],
    recipient: Declared | None,
    expected: list[str],
) -> None:
    found = problems(kind, categories, purposes, recipient)
    assert [p.split(":")[0] for p in found] == expected, found


def test_every_problem_is_reported_at_once() -> None:
    found = problems(K.PROCESSOR_SHARE, ["user.content.private", "user.name"], ["support"])
    assert len(found) == 2 and all(p.startswith(("purposes:", "categories:")) for p in found)


NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("confidential", "until", "holds"),
    [
        (False, None, False),
        (True, None, True),
        (True, NOW + dt.timedelta(seconds=1), True),
        (True, NOW, False),  # it ends at ``until``
        (True, NOW - dt.timedelta(days=1), False),
        (False, NOW + dt.timedelta(days=1), False),
    ],
)
def test_confidentiality_holds_until_it_ends(
    confidential: bool, until: dt.datetime | None, holds: bool
) -> None:
    assert confidential_now(confidential, until, NOW) is holds
