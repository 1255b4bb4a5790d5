"""The rights-request state machine and verification throttling."""

from __future__ import annotations

import datetime as dt

import pytest

from charter.domain.requests import (
    AttemptVerdict,
    RequestStatus,
    TransitionRefused,
    VerificationPolicy,
    VerificationState,
    after_failure,
    may_attempt,
    transition,
)

S = RequestStatus


@pytest.mark.parametrize(
    ("status", "action", "approval", "expected"),
    [
        (S.AWAITING_VERIFICATION, "verify", False, S.VERIFIED),
        (S.AWAITING_VERIFICATION, "verify", True, S.AWAITING_APPROVAL),
        (S.VERIFIED, "start", False, S.IN_PROGRESS),
        (S.AWAITING_APPROVAL, "approve", False, S.IN_PROGRESS),
        (S.IN_PROGRESS, "complete", False, S.COMPLETED),
        (S.AWAITING_VERIFICATION, "reject", False, S.REJECTED),
        (S.IN_PROGRESS, "reject", False, S.REJECTED),
        (S.IN_PROGRESS, "extend", False, S.IN_PROGRESS),
    ],
)
def test_allowed_transitions(
    status: RequestStatus, action: str, approval: bool, expected: RequestStatus
) -> None:
    assert transition(status, action, approval_required=approval) is expected


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.AWAITING_VERIFICATION, "start"),  # nothing happens before verification
        (S.AWAITING_VERIFICATION, "complete"),
        (S.AWAITING_APPROVAL, "start"),  # approval cannot be skipped
        (S.VERIFIED, "approve"),
        (S.COMPLETED, "reject"),
        (S.REJECTED, "verify"),
        (S.COMPLETED, "extend"),
        (S.VERIFIED, "teleport"),
    ],
)
def test_refused_transitions_say_why(status: RequestStatus, action: str) -> None:
    with pytest.raises(TransitionRefused):
        transition(status, action)


NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
POLICY = VerificationPolicy()


def test_wrong_codes_are_throttled_then_lock_the_request() -> None:
    state = VerificationState(NOW + dt.timedelta(minutes=30), 0, None)
    waits = []
    for _ in range(4):
        assert may_attempt(state, POLICY, NOW) in (AttemptVerdict.ALLOWED, AttemptVerdict.TOO_SOON)
        state = after_failure(state, NOW)
        assert state.next_attempt_at is not None
        waits.append((state.next_attempt_at - NOW).total_seconds())
        assert may_attempt(state, POLICY, NOW) is AttemptVerdict.TOO_SOON
    assert waits == [1, 2, 4, 8]
    later = NOW + dt.timedelta(seconds=9)
    assert may_attempt(state, POLICY, later) is AttemptVerdict.ALLOWED
    state = after_failure(state, later)
    assert may_attempt(state, POLICY, later + dt.timedelta(hours=1)) is AttemptVerdict.LOCKED


def test_an_expired_or_missing_code_cannot_be_tried() -> None:
    expired = VerificationState(NOW, 0, None)
    assert may_attempt(expired, POLICY, NOW) is AttemptVerdict.EXPIRED
    assert may_attempt(VerificationState(None, 0, None), POLICY, NOW) is AttemptVerdict.EXPIRED
