"""The soft opt-in's rules (ePrivacy Directive Art. 13(2)): what a touchpoint establishes,
which opt-outs it accepts, what its receipt says, when a relationship lapses, and the lint rule
``soft_opt_in_valid``."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from charter.domain.consent import ConsentAction, ConsentRecord
from charter.domain.decisions import MARKETING_OBJECTION
from charter.domain.durations import parse_duration
from charter.domain.errors import InvalidInput
from charter.domain.soft_opt_in import (
    Offer,
    RelationshipStatus,
    SoftOptInRule,
    check_opt_outs,
    due_to_lapse,
    lapsed,
    offered_at,
    offers,
)
from charter.manifest import load_manifest
from charter.manifest.lint import soft_opt_in_valid
from charter.manifest.models import Manifest
from charter.manifest.render import render_policy_markdown
from charter.manifest.ropa import processing_records

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
UPDATES = SoftOptInRule("updates", frozenset({"purchase", "registration"}), "Tick to opt out.")
OTHER = SoftOptInRule("tips", frozenset({"purchase"}), "No tips, thanks.")
RULES = [UPDATES, OTHER]


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def test_a_touchpoint_establishes_the_purposes_naming_it_that_it_serves() -> None:
    assert offered_at(RULES, "purchase", ["updates", "tips", "orders"]) == [UPDATES, OTHER]
    assert offered_at(RULES, "purchase", ["updates"]) == [UPDATES]
    assert offered_at(RULES, "registration", ["updates", "tips"]) == [UPDATES]
    assert offered_at(RULES, "support", ["updates", "tips"]) == []


@pytest.mark.parametrize(
    ("opt_outs", "code"),
    [
        (["newsletter"], "opt_out_not_offered"),
        (["tips"], "opt_out_not_offered"),  # established elsewhere, not here
        (["updates", "updates"], "duplicate_opt_out"),
    ],
)
def test_only_an_opt_out_offered_here_is_accepted(opt_outs: list[str], code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_opt_outs(opt_outs, [UPDATES], "registration")
    assert refused.value.code == code
    assert "opt_outs[" in str(refused.value)


def test_accepted_opt_outs() -> None:
    assert check_opt_outs([], [UPDATES], "purchase") == frozenset()
    assert check_opt_outs(["tips", "updates"], RULES, "purchase") == {"tips", "updates"}


@pytest.mark.parametrize(
    ("opt_outs", "objections", "status"),
    [
        (set(), set(), RelationshipStatus.ESTABLISHED),
        ({"updates"}, set(), RelationshipStatus.OPTED_OUT),
        (set(), {"updates"}, RelationshipStatus.OPTED_OUT),  # an earlier objection stands
        (set(), {MARKETING_OBJECTION}, RelationshipStatus.OPTED_OUT),
        (set(), {"tips"}, RelationshipStatus.ESTABLISHED),
    ],
)
def test_the_receipt_says_whether_the_opt_out_stands(
    opt_outs: set[str], objections: set[str], status: RelationshipStatus
) -> None:
    assert offers([UPDATES], opt_outs, objections) == [Offer("updates", status, "Tick to opt out.")]


def record(action: ConsentAction, at: dt.datetime) -> ConsentRecord:
    return ConsentRecord(action, 1, at)


@pytest.mark.parametrize(
    ("at", "period", "now", "expected"),
    [
        (utc(2026, 1, 15, 12), "P2Y", utc(2028, 1, 15, 11), False),
        (utc(2026, 1, 15, 12), "P2Y", utc(2028, 1, 15, 12), True),
        (utc(2024, 2, 29), "P1Y", utc(2025, 2, 28), True),  # a leap day's year ends on the 28th
        (utc(2024, 2, 29), "P1Y", utc(2025, 2, 27, 23), False),
        (utc(2026, 1, 31), "P1M", utc(2026, 2, 28), True),  # a month end clamps
        (utc(2026, 1, 31), "P1M", utc(2026, 2, 27), False),
    ],
)
def test_a_relationship_lapses_when_its_term_has_run(
    at: dt.datetime, period: str, now: dt.datetime, expected: bool
) -> None:
    assert lapsed(record(ConsentAction.GIVEN, at), parse_duration(period), now) is expected


def test_only_a_standing_relationship_lapses() -> None:
    old, now, term = utc(2020, 1, 1), utc(2026, 1, 1), parse_duration("P1Y")
    assert lapsed(record(ConsentAction.RENEWED, old), term, now)
    assert not lapsed(record(ConsentAction.EXPIRED, old), term, now)
    assert not lapsed(record(ConsentAction.WITHDRAWN, old), term, now)
    assert not lapsed(None, term, now)


def test_due_to_lapse_picks_each_purposes_term_and_sorts() -> None:
    now = utc(2026, 6, 1)
    records = {
        ("s2", "acme", "updates"): record(ConsentAction.GIVEN, utc(2025, 5, 1)),
        ("s1", "acme", "updates"): record(ConsentAction.GIVEN, utc(2025, 5, 1)),
        ("s1", "zeta", "updates"): record(ConsentAction.GIVEN, utc(2025, 7, 1)),  # a later sale
        ("s3", "acme", "tips"): record(ConsentAction.GIVEN, utc(2020, 1, 1)),  # no term
        ("s4", "acme", "updates"): None,
    }
    assert due_to_lapse(records, {"updates": parse_duration("P1Y")}, now) == [
        ("s1", "acme", "updates"),
        ("s2", "acme", "updates"),
    ]


# -- the lint rule ---------------------------------------------------------------------------


def example() -> dict[str, Any]:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


BASE = example()


def problems(change: Callable[[dict[str, Any]], None]) -> list[tuple[tuple[str | int, ...], str]]:
    data = copy.deepcopy(BASE)
    change(data)
    manifest = Manifest.model_validate(data)
    found = list(soft_opt_in_valid(manifest))
    assert all(p.rule == "soft_opt_in_valid" for p in found)
    return [(p.path, p.message) for p in found]


def updates(data: dict[str, Any]) -> dict[str, Any]:
    purpose: dict[str, Any] = data["purposes"]["customer_updates"]
    return purpose


def test_the_example_is_clean() -> None:
    assert problems(lambda data: None) == []


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: updates(data).__setitem__(key, value)


def _establish(touchpoint: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: updates(data)["soft_opt_in"].__setitem__("established_by", [touchpoint])


def _drop_email(data: dict[str, Any]) -> None:
    purchase = data["touchpoints"]["purchase"]
    purchase["identities"] = ["account_id"]


def _not_listed(data: dict[str, Any]) -> None:
    purposes = data["touchpoints"]["purchase"]["purposes"]
    purposes.remove("customer_updates")


PATH = ("purposes", "customer_updates")
FIRST = (*PATH, "soft_opt_in", "established_by", 0)


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (_set("direct_marketing", False), (*PATH, "direct_marketing"), "direct marketing"),
        (_set("objectable", False), (*PATH, "objectable"), "opt out"),
        (_set("minors", "allowed"), (*PATH, "minors"), "children"),
        (_set("data_use", "marketing.advertising"), (*PATH, "data_use"), "electronic mail"),
        (
            _set("categories", ["user.name", "user.behavior.purchase_history"]),
            (*PATH, "categories"),
            "user.contact.email",
        ),
        (_establish("no_such_touchpoint"), FIRST, "no touchpoint"),
        (_establish("support"), FIRST, "does not list"),
        (_not_listed, (*PATH, "soft_opt_in", "established_by", 0), "does not list"),
        (_drop_email, FIRST, "e-mail address"),
    ],
)
def test_each_fault_is_named_at_its_key(
    change: Callable[[dict[str, Any]], None], path: tuple[str | int, ...], words: str
) -> None:
    found = problems(change)
    assert any(p == path and words in message for p, message in found), found


def test_an_established_by_touchpoint_must_serve_a_contract_purpose() -> None:
    def signup(data: dict[str, Any]) -> None:
        _establish("marketing_signup")(data)
        data["touchpoints"]["marketing_signup"]["purposes"].append("customer_updates")

    [(path, message)] = problems(signup)
    assert path == FIRST and "contract" in message


def test_a_phone_number_is_an_electronic_contact_too() -> None:
    def by_phone(data: dict[str, Any]) -> None:
        updates(data)["categories"] = ["user.name", "user.contact.phone_number"]

    assert problems(by_phone) == []


# -- the policy and the records of processing --------------------------------------------------


def test_the_policy_names_the_basis_and_the_opt_out_at_collection_and_in_every_message() -> None:
    policy = render_policy_markdown(load_manifest(EXAMPLE))
    section = policy[policy.index("### Your being our customer, until you opt out") :]
    section = section[: section.index("\n### ", 5)]
    assert "ePrivacy Directive Art. 13(2)" in section
    assert "opt out when you bought or registered" in section
    assert "every e-mail lets you opt out" in section
    assert "- **Product news for customers**" in section
    consent = policy[policy.index("### Your consent") :]
    assert "Product news for customers" not in consent[: consent.index("\n### ", 5)]


def test_the_records_of_processing_name_the_basis() -> None:
    [record] = [
        r for r in processing_records(load_manifest(EXAMPLE)) if r.purpose == "customer_updates"
    ]
    assert record.legal_basis == "soft_opt_in"
    assert "existing customers who did not opt out (soft opt-in)" in record.legal_basis_text
    assert "ePrivacy Directive Art. 13(2)" in record.legal_basis_text
