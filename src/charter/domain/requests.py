"""Rights requests: their types, the state machine, and identity verification (GDPR Art. 12, 15-22).

A request moves through these statuses; every move is a ``transition`` that says why it is
refused when it is not allowed, so that staff buttons and API calls share one rule:

    awaiting_verification --verify--> verified --start--> in_progress --complete--> completed
            |                   (or, when approval is required)
            |                 --verify--> awaiting_approval --approve--> in_progress
            +-- 5 wrong codes, or staff --reject--> rejected  (any open status may be rejected)

Nothing is disclosed or changed before verification (Art. 12(6)): the code goes to the identity
on file, never to an address given only in the request. Verification is throttled: after the
n-th wrong code the next try waits 2^(n-1) seconds, and the fifth wrong code closes the request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class RequestType(StrEnum):
    ACCESS = "access"  # Art. 15
    PORTABILITY = "portability"  # Art. 20
    RECTIFICATION = "rectification"  # Art. 16
    ERASURE = "erasure"  # Art. 17
    RESTRICTION = "restriction"  # Art. 18
    OBJECTION = "objection"  # Art. 21
    WITHDRAW_CONSENT = "withdraw_consent"  # Art. 7(3)


class RequestStatus(StrEnum):
    AWAITING_VERIFICATION = "awaiting_verification"
    VERIFIED = "verified"
    AWAITING_APPROVAL = "awaiting_approval"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"


class ReceivedVia(StrEnum):
    """How a request arrived; staff record requests that came by mail, letter or phone."""

    PRIVACY_CENTER = "privacy_center"
    API = "api"
    EMAIL = "email"
    LETTER = "letter"
    PHONE = "phone"
    IN_PERSON = "in_person"
    PARENT_LINK = "parent_link"  # a parent, through the link of their consent for a child
    STAFF_ACTION = "staff_action"  # the privacy team acting on what it learned


TERMINAL = frozenset({RequestStatus.COMPLETED, RequestStatus.REJECTED})
OPEN = frozenset(RequestStatus) - TERMINAL

_ALLOWED: dict[str, tuple[frozenset[RequestStatus], RequestStatus | None]] = {
    # action: (statuses it may start from, status it leads to; None: decided by the caller)
    "verify": (frozenset({RequestStatus.AWAITING_VERIFICATION}), None),
    "approve": (frozenset({RequestStatus.AWAITING_APPROVAL}), RequestStatus.IN_PROGRESS),
    "start": (frozenset({RequestStatus.VERIFIED}), RequestStatus.IN_PROGRESS),
    "complete": (frozenset({RequestStatus.IN_PROGRESS}), RequestStatus.COMPLETED),
    "reject": (OPEN, RequestStatus.REJECTED),
    "extend": (OPEN, None),
}


class TransitionRefused(Exception):
    """The action is not allowed from the request's status; ``str()`` says why."""


def transition(
    status: RequestStatus, action: str, *, approval_required: bool = False
) -> RequestStatus:
    """The status after ``action``; raises ``TransitionRefused`` naming the status otherwise."""
    allowed = _ALLOWED.get(action)
    if allowed is None:
        raise TransitionRefused(f"no action '{action}'")
    sources, target = allowed
    if status not in sources:
        raise TransitionRefused(
            f"a request that is {status.value.replace('_', ' ')} cannot {action}"
        )
    if action == "verify":
        return RequestStatus.AWAITING_APPROVAL if approval_required else RequestStatus.VERIFIED
    return status if target is None else target


@dataclass(frozen=True, slots=True)
class VerificationPolicy:
    max_attempts: int = 5
    code_lifetime: dt.timedelta = dt.timedelta(minutes=30)
    resend_interval: dt.timedelta = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class VerificationState:
    code_expires_at: dt.datetime | None
    failed_attempts: int
    next_attempt_at: dt.datetime | None


class AttemptVerdict(StrEnum):
    ALLOWED = "allowed"
    TOO_SOON = "too_soon"
    EXPIRED = "expired"
    LOCKED = "locked"


def may_attempt(
    state: VerificationState, policy: VerificationPolicy, now: dt.datetime
) -> AttemptVerdict:
    if state.failed_attempts >= policy.max_attempts:
        return AttemptVerdict.LOCKED
    if state.next_attempt_at is not None and now < state.next_attempt_at:
        return AttemptVerdict.TOO_SOON
    if state.code_expires_at is None or now >= state.code_expires_at:
        return AttemptVerdict.EXPIRED
    return AttemptVerdict.ALLOWED


def after_failure(state: VerificationState, now: dt.datetime) -> VerificationState:
    """The state after a wrong code: one more failure, and the next try waits 2^(n-1) s."""
    failed = state.failed_attempts + 1
    return VerificationState(
        state.code_expires_at, failed, now + dt.timedelta(seconds=2 ** (failed - 1))
    )
