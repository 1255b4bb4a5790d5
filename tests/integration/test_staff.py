"""Staff accounts and console sessions on SQLite and PostgreSQL: Argon2id hashes, one answer for
every failed login, lockout, rehashing, session expiry, disabled accounts."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from charter.domain.errors import InvalidInput, NotFound, Unauthorized
from charter.domain.permissions import Role
from charter.facade import Charter
from charter.services.staff import StaffService
from charter.storage.tables import staff_sessions, staff_users

PASSWORD = "correct horse battery"
# Cheap parameters keep the suite fast; one test checks the defaults the facade uses.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class FakeClock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def staff(charter: Charter, clock: FakeClock) -> StaffService:
    return StaffService(charter.store, clock, FAST)


def stored_hash(charter: Charter, email: str) -> str:
    with charter.store.read() as connection:
        return str(
            connection.scalar(
                select(staff_users.c.password_hash).where(staff_users.c.email == email)
            )
        )


def test_an_account_logs_in_and_its_session_opens(
    staff: StaffService, charter: Charter, clock: FakeClock
) -> None:
    user = staff.create_user(" Dana@Example.org ", "Dana Diaz", "privacy_officer", PASSWORD)
    assert (user.email, user.name, user.role) == (
        "dana@example.org",
        "Dana Diaz",
        Role.PRIVACY_OFFICER,
    )
    assert not any("password" in name or "hash" in name for name in vars(user))
    session = staff.login("DANA@example.org", PASSWORD)
    assert session.user == user
    assert session.expires_at == clock.now + dt.timedelta(hours=8)
    assert len(session.token) >= 43 and len(session.csrf_token) >= 43
    assert staff.session(session.token) == session
    assert staff.session("not-a-token") is None
    assert staff.session(None) is None
    with charter.store.read() as connection:
        ids = list(connection.scalars(select(staff_sessions.c.id)))
    assert ids and session.token not in ids  # only its digest is stored
    staff.logout(session.token)
    assert staff.session(session.token) is None


def test_the_facade_hashes_with_argon2id_defaults(charter: Charter) -> None:
    charter.staff.create_user("erin@example.org", "Erin", "auditor", PASSWORD)
    stored = stored_hash(charter, "erin@example.org")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored
    assert charter.staff.login("erin@example.org", PASSWORD).user.role is Role.AUDITOR


@pytest.mark.parametrize(
    ("email", "name", "role", "password", "code"),
    [
        ("ann@example.org", "Ann", "admin", "short-pass1", "password_too_short"),
        (
            "ann.long.address@example.org",
            "Ann",
            "admin",
            "Ann.Long.Address@example.org",
            "password_is_email",
        ),
        ("ann@example.org", "Ann", "admin", "x" * 1025, "password_too_long"),
        ("ann@example.org", "Ann", "superuser", PASSWORD, "unknown_role"),
        ("ann@example.org", "  ", "admin", PASSWORD, "name_required"),
        ("not-an-address", "Ann", "admin", PASSWORD, "invalid_value"),
    ],
)
def test_bad_accounts_are_refused(
    staff: StaffService, email: str, name: str, role: str, password: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        staff.create_user(email, name, role, password)
    assert refused.value.code == code
    assert password not in refused.value.message


def test_an_email_has_one_account(staff: StaffService) -> None:
    staff.create_user("ann@example.org", "Ann", "admin", PASSWORD)
    with pytest.raises(InvalidInput) as refused:
        staff.create_user("ANN@example.org", "Ann again", "support", PASSWORD + "!")
    assert refused.value.code == "staff_exists"


def test_unknown_email_and_wrong_password_get_the_same_answer(staff: StaffService) -> None:
    staff.create_user("ann@example.org", "Ann", "admin", PASSWORD)
    with pytest.raises(Unauthorized) as unknown:
        staff.login("nobody@example.org", PASSWORD)
    with pytest.raises(Unauthorized) as wrong:
        staff.login("ann@example.org", "wrong password here")
    assert (unknown.value.code, unknown.value.message) == (wrong.value.code, wrong.value.message)
    assert unknown.value.code == "login_failed"


def test_five_failures_lock_the_account_for_fifteen_minutes(
    staff: StaffService, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    staff.create_user("ann@example.org", "Ann", "admin", PASSWORD)
    # a success resets the count: four failures, a success, four more do not lock
    for _ in range(4):
        with pytest.raises(Unauthorized):
            staff.login("ann@example.org", "wrong password here")
    staff.login("ann@example.org", PASSWORD)
    for _ in range(4):
        with pytest.raises(Unauthorized):
            staff.login("ann@example.org", "wrong password here")
    staff.login("ann@example.org", PASSWORD)
    with caplog.at_level(logging.WARNING, logger="charter.staff"):
        for _ in range(5):
            with pytest.raises(Unauthorized) as failed:
                staff.login("ann@example.org", "wrong password here")
    assert "locked" in caplog.text and "ann@example.org" not in caplog.text
    with pytest.raises(Unauthorized) as locked:
        staff.login("ann@example.org", PASSWORD)  # right, but locked: the same answer
    assert locked.value.message == failed.value.message
    clock.advance(minutes=14, seconds=59)
    with pytest.raises(Unauthorized):
        staff.login("ann@example.org", PASSWORD)
    clock.advance(seconds=1)
    assert staff.login("ann@example.org", PASSWORD).user.email == "ann@example.org"


def test_a_weaker_hash_is_replaced_at_login(charter: Charter, clock: FakeClock) -> None:
    StaffService(charter.store, clock, FAST).create_user(
        "ann@example.org", "Ann", "admin", PASSWORD
    )
    weak = stored_hash(charter, "ann@example.org")
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    assert stronger.check_needs_rehash(weak)
    StaffService(charter.store, clock, stronger).login("ann@example.org", PASSWORD)
    rehashed = stored_hash(charter, "ann@example.org")
    assert rehashed != weak and not stronger.check_needs_rehash(rehashed)
    assert stronger.verify(rehashed, PASSWORD)


def test_a_session_ends_after_eight_hours(staff: StaffService, clock: FakeClock) -> None:
    staff.create_user("ann@example.org", "Ann", "admin", PASSWORD)
    session = staff.login("ann@example.org", PASSWORD)
    clock.advance(hours=7, minutes=59)
    assert staff.session(session.token) is not None
    clock.advance(minutes=1)
    assert staff.session(session.token) is None


def test_a_disabled_account_has_no_session_and_cannot_log_in(staff: StaffService) -> None:
    staff.create_user("ann@example.org", "Ann", "admin", PASSWORD)
    session = staff.login("ann@example.org", PASSWORD)
    staff.disable("Ann@example.org")
    assert staff.session(session.token) is None
    with pytest.raises(Unauthorized) as refused:
        staff.login("ann@example.org", PASSWORD)
    assert refused.value.code == "login_failed"
    with pytest.raises(NotFound):
        staff.disable("ann@example.org")


def test_changing_the_password_ends_every_session(staff: StaffService) -> None:
    staff.create_user("ann@example.org", "Ann", "admin", PASSWORD)
    session = staff.login("ann@example.org", PASSWORD)
    with pytest.raises(Unauthorized):
        staff.change_password("ann@example.org", "wrong password here", "a new long password")
    with pytest.raises(InvalidInput) as short:
        staff.change_password("ann@example.org", PASSWORD, "too short")
    assert short.value.code == "password_too_short"
    staff.change_password("ann@example.org", PASSWORD, "a new long password")
    assert staff.session(session.token) is None
    with pytest.raises(Unauthorized):
        staff.login("ann@example.org", PASSWORD)
    assert staff.login("ann@example.org", "a new long password").user.email == "ann@example.org"
