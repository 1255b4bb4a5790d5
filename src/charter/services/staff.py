"""Staff accounts and their console sessions (the admin console at ``/admin``).

- Passwords are stored only as Argon2id hashes (argon2-cffi's ``PasswordHasher`` defaults); a
  hash made with weaker parameters is replaced at the next successful login. A password has at
  least 12 characters and is not the account's e-mail.
- A login that fails says the same thing whatever failed (unknown e-mail, wrong password,
  locked or disabled account), and an unknown e-mail is checked against a dummy hash, so that
  neither the answer nor its timing tells which accounts exist.
- Five failed logins in a row lock the account for 15 minutes; tries while it is locked are not
  even checked (and do not lengthen the lock). A success resets the count.
- A session lasts 8 hours from login. Its cookie token is 32 random bytes; only its SHA-256 is
  stored (there is nothing to brute-force, unlike a password). Each session has its own CSRF
  token for the console's forms. Logging out, disabling the account or changing the password
  ends sessions.

Nothing here logs or returns a password or a hash; logs name accounts by id, never by e-mail.
The audit log (``charter.services.audit``) records accounts created and disabled, logins that
succeeded or failed (with why: wrong password, locked, disabled, unknown account) and lockouts,
naming accounts by id; a failed login's actor is ``system``, as nobody was authenticated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from charter.domain.clock import Clock
from charter.domain.errors import InvalidInput, InvalidValue, NotFound, Unauthorized
from charter.domain.permissions import Role
from charter.services.values import normalise_email
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.store import Store
from charter.storage.tables import staff_sessions, staff_users

logger = logging.getLogger("charter.staff")

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(hours=8)
_SEEN_EVERY = dt.timedelta(minutes=1)  # last_seen_at is a hint: one write a minute at most
LOGIN_FAILED = (
    "the e-mail or password is wrong, or the account is locked for 15 minutes after too many tries"
)


@dataclass(frozen=True)
class StaffUser:
    id: str
    email: str
    name: str
    role: Role


@dataclass(frozen=True)
class StaffSession:
    token: str
    """The cookie's value; only its digest is stored."""
    user: StaffUser
    csrf_token: str
    expires_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _login_email(email: str) -> str:
    """The e-mail as ``create_user`` stored it; a malformed one simply matches nothing."""
    try:
        return normalise_email(email, "email")
    except InvalidValue:
        return email.strip().lower()


def _user(row: Any) -> StaffUser:
    return StaffUser(row.id, row.email, row.name, Role(row.role))


class StaffService:
    def __init__(self, store: Store, clock: Clock, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.clock = clock
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    # -- accounts -------------------------------------------------------------------------------

    def create_user(
        self, email: str, name: str, role: str, password: str, *, actor: str = "system"
    ) -> StaffUser:
        address = normalise_email(email, "email")
        if not name.strip():
            raise InvalidInput("name: give the person's name", code="name_required")
        try:
            checked = Role(role)
        except ValueError:
            raise InvalidInput(
                f"no role '{role}' (roles: {', '.join(r.value for r in Role)})", code="unknown_role"
            ) from None
        self._check_password(password, address)
        user = StaffUser(str(uuid.uuid4()), address, name.strip(), checked)
        password_hash = self.hasher.hash(password)
        try:
            with self.store.write() as connection:
                connection.execute(
                    insert(staff_users).values(
                        id=user.id,
                        email=user.email,
                        name=user.name,
                        role=user.role.value,
                        password_hash=password_hash,
                        failed_logins=0,
                        created_at=self.clock(),
                    )
                )
                append_audit(
                    connection,
                    at=self.clock(),
                    actor=actor,
                    action="staff.created",
                    target=user.id,
                    details={"role": user.role.value},
                )
        except IntegrityError:
            raise InvalidInput(
                "a staff account with this e-mail exists", code="staff_exists"
            ) from None
        return user

    def disable(self, email: str, *, actor: str = "system") -> None:
        """Disable an account (kept, so the history still names who did what) and end its
        sessions."""
        with self.store.write() as connection:
            user_id = connection.scalar(
                select(staff_users.c.id).where(
                    staff_users.c.email == _login_email(email),
                    staff_users.c.disabled_at.is_(None),
                )
            )
            if user_id is None:
                raise NotFound("no active staff account with this e-mail", code="unknown_staff")
            connection.execute(
                update(staff_users)
                .where(staff_users.c.id == user_id)
                .values(disabled_at=self.clock())
            )
            ended = connection.execute(
                delete(staff_sessions).where(staff_sessions.c.user_id == user_id)
            ).rowcount
            append_audit(
                connection,
                at=self.clock(),
                actor=actor,
                action="staff.disabled",
                target=user_id,
                details={"sessions_ended": ended},
            )

    def change_password(self, email: str, current: str, new: str) -> None:
        """Replace the password after checking the current one (a wrong one counts as a failed
        login); every session of the account ends."""
        user = self._authenticate(email, current)
        self._check_password(new, user.email)
        password_hash = self.hasher.hash(new)
        with self.store.write() as connection:
            connection.execute(
                update(staff_users)
                .where(staff_users.c.id == user.id)
                .values(password_hash=password_hash)
            )
            connection.execute(delete(staff_sessions).where(staff_sessions.c.user_id == user.id))

    # -- sessions -------------------------------------------------------------------------------

    def login(self, email: str, password: str) -> StaffSession:
        user = self._authenticate(email, password)
        now = self.clock()
        token = secrets.token_urlsafe(32)
        session = StaffSession(token, user, secrets.token_urlsafe(32), now + SESSION_LIFETIME)
        with self.store.write() as connection:
            connection.execute(
                delete(staff_sessions).where(
                    staff_sessions.c.user_id == user.id, staff_sessions.c.expires_at <= now
                )
            )
            connection.execute(
                insert(staff_sessions).values(
                    id=_digest(token),
                    user_id=user.id,
                    csrf_token=session.csrf_token,
                    created_at=now,
                    expires_at=session.expires_at,
                    last_seen_at=now,
                )
            )
            append_audit(
                connection,
                at=now,
                actor=f"staff:{user.id}",
                action="staff.login_succeeded",
                target=user.id,
                details={"role": user.role.value},
            )
        return session

    def logout(self, token: str) -> None:
        with self.store.write() as connection:
            connection.execute(delete(staff_sessions).where(staff_sessions.c.id == _digest(token)))

    def session(self, token: str | None) -> StaffSession | None:
        """The live session this cookie token opens, or ``None`` (unknown, expired, or its
        account disabled)."""
        if not token:
            return None
        digest = _digest(token)
        now = self.clock()
        with self.store.read() as connection:
            row = connection.execute(
                select(
                    staff_sessions.c.csrf_token,
                    staff_sessions.c.expires_at,
                    staff_sessions.c.last_seen_at,
                    staff_users.c.id,
                    staff_users.c.email,
                    staff_users.c.name,
                    staff_users.c.role,
                )
                .join(staff_users, staff_users.c.id == staff_sessions.c.user_id)
                .where(staff_sessions.c.id == digest, staff_users.c.disabled_at.is_(None))
            ).first()
        if row is None or utc(row.expires_at) <= now:
            return None
        if now - utc(row.last_seen_at) >= _SEEN_EVERY:
            with self.store.write() as connection:
                connection.execute(
                    update(staff_sessions)
                    .where(staff_sessions.c.id == digest)
                    .values(last_seen_at=now)
                )
        return StaffSession(token, _user(row), row.csrf_token, utc(row.expires_at))

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _check_password(password: str, email: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise InvalidInput(
                f"password: at least {MIN_PASSWORD} characters", code="password_too_short"
            )
        if len(password) > MAX_PASSWORD:
            raise InvalidInput(
                f"password: at most {MAX_PASSWORD} characters", code="password_too_long"
            )
        if password.strip().lower() == email.lower():
            raise InvalidInput("password: must not be the e-mail", code="password_is_email")

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    def _authenticate(self, email: str, password: str) -> StaffUser:
        """The account these credentials open, counting failures; one error for every failure."""
        dummy = self._dummy_hash()  # made before the lookup, so the first call costs the same
        now = self.clock()
        with self.store.read() as connection:
            row = connection.execute(
                select(staff_users).where(staff_users.c.email == _login_email(email))
            ).first()
        usable = row is not None and (
            row.disabled_at is None and (row.locked_until is None or utc(row.locked_until) <= now)
        )
        # Argon2 runs whatever happens, so an answer takes about as long for any e-mail.
        matched = self._verify(row.password_hash if row is not None and usable else dummy, password)
        if row is None or not usable:
            reason = "unknown_account" if row is None else "locked"
            if row is not None and row.disabled_at is not None:
                reason = "disabled"
            with self.store.write() as connection:
                append_audit(
                    connection,
                    at=now,
                    actor="system",
                    action="staff.login_failed",
                    target=None if row is None else row.id,
                    details={"reason": reason},
                )
            raise Unauthorized(LOGIN_FAILED, code="login_failed")
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
        if matched and self.hasher.check_needs_rehash(row.password_hash):
            values["password_hash"] = self.hasher.hash(password)  # outside the write lock
        with self.store.write() as connection:
            if not matched:
                self._failed(connection, row.id, now)
            else:
                connection.execute(
                    update(staff_users).where(staff_users.c.id == row.id).values(**values)
                )
        if not matched:
            raise Unauthorized(LOGIN_FAILED, code="login_failed")
        return _user(row)

    def _failed(self, connection: Connection, user_id: str, now: dt.datetime) -> None:
        query = select(staff_users.c.failed_logins).where(staff_users.c.id == user_id)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()  # two wrong tries at once both count
        failed = int(connection.scalar(query) or 0) + 1
        if failed >= MAX_FAILED_LOGINS:
            logger.warning("staff account %s locked after %d failed logins", user_id, failed)
            values: dict[str, Any] = {"failed_logins": 0, "locked_until": now + LOCKOUT}
        else:
            values = {"failed_logins": failed}
        connection.execute(update(staff_users).where(staff_users.c.id == user_id).values(**values))
        append_audit(
            connection,
            at=now,
            actor="system",
            action="staff.login_failed",
            target=user_id,
            details={"reason": "wrong_password", "failed_logins": failed},
        )
        if failed >= MAX_FAILED_LOGINS:
            append_audit(
                connection,
                at=now,
                actor="system",
                action="staff.locked",
                target=user_id,
                details={"failed_logins": failed, "until": values["locked_until"]},
            )
