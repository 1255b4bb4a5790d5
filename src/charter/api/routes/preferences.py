"""Objections, restriction, subscriptions and message checks over HTTP (staff and services)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import Field

from charter.api.auth import get_charter, require
from charter.api.routes.consents import Subject
from charter.api.schemas import Body, ErrorOut
from charter.domain.decisions import MARKETING_OBJECTION
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.preferences import PreferenceOutcome

router = APIRouter(prefix="/v1", tags=["preferences"])
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (401, 403, 413, 422)}

MessageClassName = Literal[
    "marketing", "service", "order", "security", "legal", "policy_change", "breach_notice"
]
ChannelName = Literal["email", "sms", "post"]


class ObjectionIn(Subject):
    brand: str | None = Field(default=None, max_length=64, description="Kept as evidence.")
    purpose: str | None = Field(
        default=None,
        max_length=64,
        description="An objectable purpose; omitted: all direct marketing (Art. 21(2)).",
    )
    action: Literal["object", "withdraw"] = "object"


class ObjectionOut(Body):
    subject_id: str
    changed: bool = Field(description="False when the state already was so (nothing recorded).")
    objections: list[str] = Field(description="Purposes the person objects to.")
    direct_marketing: bool = Field(description="Whether the person objects to all marketing.")


class RestrictionIn(Subject):
    brand: str | None = Field(default=None, max_length=64, description="Kept as evidence.")
    action: Literal["restrict", "lift"] = "restrict"


class RestrictionOut(Body):
    subject_id: str
    changed: bool
    restricted: bool


class SubscriptionIn(Subject):
    brand: str = Field(max_length=64)
    channel: ChannelName
    action: Literal["unsubscribe", "subscribe"]


class SubscriptionOut(Body):
    subject_id: str
    changed: bool
    brand: str
    channel: str
    subscribed: bool


class MessageCheckIn(Subject):
    brand: str = Field(max_length=64)
    channel: ChannelName
    message_class: MessageClassName
    purpose: str | None = Field(
        default=None,
        max_length=64,
        description="The direct-marketing purpose of this send; omitted: chosen by channel.",
    )


class MessageCheckOut(Body):
    allowed: bool
    reason: str
    purpose: str | None = None
    unsubscribe_url: str | None = None
    list_unsubscribe: str | None = Field(default=None, description="`List-Unsubscribe` value.")
    list_unsubscribe_post: str | None = Field(
        default=None, description="`List-Unsubscribe-Post` value (RFC 8058)."
    )


def _objections(outcome: PreferenceOutcome) -> ObjectionOut:
    objections = outcome.record.decision.objections
    return ObjectionOut(
        subject_id=outcome.subject_id,
        changed=outcome.changed,
        objections=sorted(objections - {MARKETING_OBJECTION}),
        direct_marketing=MARKETING_OBJECTION in objections,
    )


@router.post(
    "/objections",
    response_model=ObjectionOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.OBJECT))],
    summary="Object to a purpose or to all direct marketing, or withdraw an objection",
)
def objections(body: ObjectionIn, charter: Charter = Depends(get_charter)) -> ObjectionOut:
    outcome = charter.object(
        body.purpose,
        withdraw=body.action == "withdraw",
        brand=body.brand,
        subject_id=body.subject_id,
        identities=body.identities,
    )
    return _objections(outcome)


@router.post(
    "/restrictions",
    response_model=RestrictionOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.RESTRICT))],
    summary="Restrict processing of a person's data (Art. 18), or lift the restriction",
)
def restrictions(body: RestrictionIn, charter: Charter = Depends(get_charter)) -> RestrictionOut:
    outcome = charter.restrict(
        body.action == "restrict",
        brand=body.brand,
        subject_id=body.subject_id,
        identities=body.identities,
    )
    return RestrictionOut(
        subject_id=outcome.subject_id,
        changed=outcome.changed,
        restricted=outcome.record.decision.restricted,
    )


@router.post(
    "/subscriptions",
    response_model=SubscriptionOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.MANAGE_SUBSCRIPTIONS))],
    summary="Unsubscribe a person from one brand's marketing on one channel, or resubscribe",
)
def subscriptions(body: SubscriptionIn, charter: Charter = Depends(get_charter)) -> SubscriptionOut:
    outcome = charter.set_subscription(
        body.brand,
        body.channel,
        body.action == "subscribe",
        subject_id=body.subject_id,
        identities=body.identities,
    )
    return SubscriptionOut(
        subject_id=outcome.subject_id,
        changed=outcome.changed,
        brand=body.brand,
        channel=body.channel,
        subscribed=(body.brand, body.channel) not in outcome.record.unsubscribed,
    )


@router.post(
    "/messages:check",
    response_model=MessageCheckOut,
    response_model_exclude_none=True,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.CHECK_MESSAGE))],
    summary="May a message of this class go to this person now?",
)
def check_message(body: MessageCheckIn, charter: Charter = Depends(get_charter)) -> MessageCheckOut:
    check = charter.check_message(
        body.brand,
        body.channel,
        body.message_class,
        subject_id=body.subject_id,
        identities=body.identities,
        purpose=body.purpose,
    )
    return MessageCheckOut(
        allowed=check.allowed,
        reason=check.reason,
        purpose=check.purpose,
        unsubscribe_url=check.unsubscribe_url,
        list_unsubscribe=check.list_unsubscribe,
        list_unsubscribe_post=check.list_unsubscribe_post,
    )
