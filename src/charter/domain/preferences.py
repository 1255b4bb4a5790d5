"""Objections, restriction, communication preferences and opt-out signals (GDPR Art. 18, 21;
ePrivacy Art. 13; CCPA/CPRA opt-out of sale and sharing).

A subject's record holds what decisions read (``SubjectState``) and what message checks read
(unsubscribes per brand and channel, the sale/sharing opt-out). Transitions are pure functions
from one record to the next; the ledger stores the event and the new record together.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from charter.domain.decisions import MARKETING_OBJECTION, Decision, SubjectState


@dataclass(frozen=True, slots=True)
class SubjectRecord:
    decision: SubjectState = field(default_factory=SubjectState)
    unsubscribed: frozenset[tuple[str, str]] = frozenset()
    sale_opt_out: bool = False


class PreferenceKind(StrEnum):
    OBJECTION = "objection"
    OBJECTION_WITHDRAWN = "objection_withdrawn"
    RESTRICTION = "restriction"
    RESTRICTION_LIFTED = "restriction_lifted"
    UNSUBSCRIBE = "unsubscribe"
    SUBSCRIBE = "subscribe"
    SALE_OPT_OUT = "sale_opt_out"


class MessageClass(StrEnum):
    MARKETING = "marketing"
    SERVICE = "service"
    ORDER = "order"
    SECURITY = "security"
    LEGAL = "legal"
    POLICY_CHANGE = "policy_change"
    BREACH_NOTICE = "breach_notice"


def object_to(record: SubjectRecord, purpose: str | None) -> SubjectRecord:
    """Object to one purpose, or (``None``) to direct marketing as a whole (Art. 21(2))."""
    key = purpose or MARKETING_OBJECTION
    objections = record.decision.objections | {key}
    return replace(record, decision=replace(record.decision, objections=objections))


def withdraw_objection(record: SubjectRecord, purpose: str | None) -> SubjectRecord:
    key = purpose or MARKETING_OBJECTION
    objections = record.decision.objections - {key}
    return replace(record, decision=replace(record.decision, objections=objections))


def set_restricted(record: SubjectRecord, restricted: bool) -> SubjectRecord:
    return replace(record, decision=replace(record.decision, restricted=restricted))


def unsubscribe(record: SubjectRecord, brand: str, channel: str) -> SubjectRecord:
    return replace(record, unsubscribed=record.unsubscribed | {(brand, channel)})


def subscribe(record: SubjectRecord, brand: str, channel: str) -> SubjectRecord:
    return replace(record, unsubscribed=record.unsubscribed - {(brand, channel)})


def opt_out_of_sale(record: SubjectRecord) -> SubjectRecord:
    return replace(record, sale_opt_out=True)


@dataclass(frozen=True, slots=True)
class MessageVerdict:
    allowed: bool
    reason: str


def may_send(
    record: SubjectRecord | None,
    message_class: MessageClass,
    brand: str,
    channel: str,
    marketing: Decision | None,
) -> MessageVerdict:
    """Whether a message may go. Service, order, security, legal, policy-change and breach
    messages always go (the policy promises them whatever the settings); marketing only to a
    known person, not unsubscribed from that brand and channel, with a valid basis and no
    objection (``marketing`` is the decision for the brand's marketing purpose)."""
    if message_class is not MessageClass.MARKETING:
        return MessageVerdict(True, "not_marketing")
    if record is None:
        return MessageVerdict(False, "unknown_subject")
    if (brand, channel) in record.unsubscribed:
        return MessageVerdict(False, "unsubscribed")
    if marketing is None:
        return MessageVerdict(False, "no_marketing_purpose")
    return MessageVerdict(marketing.allowed, marketing.reason)
