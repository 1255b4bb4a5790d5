"""Objections, restriction, communication preferences and opt-out signals (GDPR Art. 18, 21;
ePrivacy Art. 13; CCPA/CPRA opt-out of sale and sharing).

A subject's record holds what decisions read (``SubjectState``) and what message checks read
(unsubscribes per brand and channel, the sale/sharing opt-out). Transitions are pure functions
from one record to the next; the ledger stores the event and the new record together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from charter.domain.consent import ANY_CHANNEL, ConsentKey
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


class MessageChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    POST = "post"


CHANNEL_CATEGORIES: dict[MessageChannel, str] = {
    MessageChannel.EMAIL: "user.contact.email",
    MessageChannel.SMS: "user.contact.phone_number",
    MessageChannel.POST: "user.contact.address",
}
"""The contact data a message on each channel uses: a marketing purpose may send on a channel
only if it declares that category."""


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
class OptOutPlan:
    """What an opt-out-of-sale signal (GPC) changes for one brand: consents to refuse (brand,
    purpose, channel; never answered), consents to withdraw (they stood), purposes to object to,
    and whether the opt-out flag is newly set."""

    refuse: tuple[ConsentKey, ...]
    withdraw: tuple[ConsentKey, ...]
    object_to: tuple[str, ...]
    set_opt_out: bool

    @property
    def empty(self) -> bool:
        return not (self.refuse or self.withdraw or self.object_to or self.set_opt_out)


def plan_sale_opt_out(
    record: SubjectRecord,
    brand: str,
    consent_purposes: Iterable[str],
    objectable_purposes: Iterable[str],
) -> OptOutPlan:
    """The changes an opt-out of sale, sharing and targeted advertising makes (CCPA/CPRA; the
    GPC signal). Consent purposes of that kind are switched off for ``brand`` on the ``any``
    channel and on every channel where a consent stands: a standing consent is withdrawn (Art.
    7(3): the ledger and the decisions then say so), one never answered is refused; objectable
    ones (legitimate interest) get an objection. Nothing already in that state is repeated, so a
    browser sending the signal on every request leaves one set of events, not one per request."""
    consents = record.decision.consents
    refuse: list[ConsentKey] = []
    withdraw: list[ConsentKey] = []
    for purpose in consent_purposes:
        channels = {ANY_CHANNEL} | {
            c for (b, p, c), r in consents.items() if b == brand and p == purpose and r.granted
        }
        for channel in sorted(channels):
            current = consents.get((brand, purpose, channel))
            if current is None:
                refuse.append((brand, purpose, channel))
            elif current.granted:
                withdraw.append((brand, purpose, channel))
    objections = tuple(p for p in objectable_purposes if p not in record.decision.objections)
    return OptOutPlan(tuple(refuse), tuple(withdraw), objections, not record.sale_opt_out)


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


def merge_records(kept: SubjectRecord, merged: SubjectRecord) -> SubjectRecord:
    """The record of two subjects found to be one person, erring on the side of protection.

    Consents: per (brand, purpose, channel) the later event wins, as in the ledger. Objections,
    unsubscribes and opt-outs add up; a restriction or a minor flag on either side holds.
    """
    consents = dict(kept.decision.consents)
    for key, record in merged.decision.consents.items():
        current = consents.get(key)
        if current is None or record.at > current.at:
            consents[key] = record
    a, b = kept.decision, merged.decision
    return SubjectRecord(
        decision=SubjectState(
            consents=consents,
            objections=a.objections | b.objections,
            restricted=a.restricted or b.restricted,
            minor=a.minor or b.minor,
        ),
        unsubscribed=kept.unsubscribed | merged.unsubscribed,
        sale_opt_out=kept.sale_opt_out or merged.sale_opt_out,
    )
