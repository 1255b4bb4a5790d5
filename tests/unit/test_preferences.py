"""Objections, restriction, unsubscribes and the sale opt-out as pure transitions; may_send."""

from __future__ import annotations

import datetime as dt

import pytest

from charter.domain.consent import ConsentAction, ConsentRecord
from charter.domain.decisions import MARKETING_OBJECTION, Decision, SubjectState
from charter.domain.preferences import (
    MessageClass,
    SubjectRecord,
    may_send,
    object_to,
    opt_out_of_sale,
    plan_sale_opt_out,
    set_restricted,
    subscribe,
    unsubscribe,
    withdraw_objection,
)

AT = dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC)
EMPTY = SubjectRecord()
OK = Decision(True, "consent", "ok")
WITHDRAWN = Decision(False, "consent", "consent_withdrawn")
OBJECTED = Decision(False, "legitimate_interest", "objected")


def test_objection_to_a_purpose_and_to_marketing_and_their_withdrawal() -> None:
    record = object_to(EMPTY, "analytics")
    record = object_to(record, None)
    assert record.decision.objections == {"analytics", MARKETING_OBJECTION}
    assert object_to(record, "analytics") == record  # idempotent: nothing to record
    record = withdraw_objection(record, None)
    assert record.decision.objections == {"analytics"}
    assert withdraw_objection(record, "never") == record
    assert EMPTY.decision.objections == frozenset()  # transitions never mutate


def test_restriction_set_and_lifted() -> None:
    restricted = set_restricted(EMPTY, True)
    assert restricted.decision.restricted
    assert set_restricted(restricted, True) == restricted
    assert set_restricted(restricted, False) == EMPTY


def test_unsubscribe_is_per_brand_and_channel() -> None:
    record = unsubscribe(EMPTY, "acme", "email")
    assert record.unsubscribed == {("acme", "email")}
    assert unsubscribe(record, "acme", "email") == record
    assert subscribe(record, "acme", "email") == EMPTY
    assert subscribe(record, "zeta", "email") == record


NON_MARKETING = [c for c in MessageClass if c is not MessageClass.MARKETING]
UNSUBSCRIBED = unsubscribe(EMPTY, "acme", "email")


@pytest.mark.parametrize(
    ("record", "message_class", "brand", "channel", "marketing", "expected"),
    [
        *[
            (UNSUBSCRIBED, c, "acme", "email", WITHDRAWN, (True, "not_marketing"))
            for c in NON_MARKETING
        ],
        *[(None, c, "acme", "email", None, (True, "not_marketing")) for c in NON_MARKETING],
        (None, MessageClass.MARKETING, "acme", "email", OK, (False, "unknown_subject")),
        (UNSUBSCRIBED, MessageClass.MARKETING, "acme", "email", OK, (False, "unsubscribed")),
        (UNSUBSCRIBED, MessageClass.MARKETING, "acme", "sms", OK, (True, "ok")),
        (UNSUBSCRIBED, MessageClass.MARKETING, "zeta", "email", OK, (True, "ok")),
        (EMPTY, MessageClass.MARKETING, "acme", "email", None, (False, "no_marketing_purpose")),
        (EMPTY, MessageClass.MARKETING, "acme", "email", WITHDRAWN, (False, "consent_withdrawn")),
        (EMPTY, MessageClass.MARKETING, "acme", "email", OBJECTED, (False, "objected")),
        (EMPTY, MessageClass.MARKETING, "acme", "email", OK, (True, "ok")),
    ],
)
def test_may_send(
    record: SubjectRecord | None,
    message_class: MessageClass,
    brand: str,
    channel: str,
    marketing: Decision | None,
    expected: tuple[bool, str],
) -> None:
    verdict = may_send(record, message_class, brand, channel, marketing)
    assert (verdict.allowed, verdict.reason) == expected


def _with_consents(*items: tuple[str, str, str, ConsentAction]) -> SubjectRecord:
    return SubjectRecord(
        decision=SubjectState(consents={(b, p, c): ConsentRecord(a, 1, AT) for b, p, c, a in items})
    )


def test_sale_opt_out_plans_refusals_objections_and_the_flag_once() -> None:
    record = _with_consents(
        ("acme", "ads", "web", ConsentAction.GIVEN),
        ("acme", "social", "any", ConsentAction.WITHDRAWN),
        ("zeta", "ads", "any", ConsentAction.GIVEN),
    )
    plan = plan_sale_opt_out(record, "acme", ["ads", "social"], ["sharing"])
    # ads: the never-recorded "any" channel is refused, the granted "web" one withdrawn (so
    # decisions say the consent was withdrawn); social: already ended.
    assert plan.refuse == (("acme", "ads", "any"),)
    assert plan.withdraw == (("acme", "ads", "web"),)
    assert plan.object_to == ("sharing",)
    assert plan.set_opt_out
    assert not plan.empty


def test_sale_opt_out_in_place_plans_nothing() -> None:
    record = _with_consents(("acme", "ads", "any", ConsentAction.REFUSED))
    record = opt_out_of_sale(object_to(record, "sharing"))
    plan = plan_sale_opt_out(record, "acme", ["ads"], ["sharing"])
    assert plan.empty
    # Another brand still gets its own refusal (consent is per brand).
    assert plan_sale_opt_out(record, "zeta", ["ads"], ["sharing"]).refuse == (
        ("zeta", "ads", "any"),
    )
