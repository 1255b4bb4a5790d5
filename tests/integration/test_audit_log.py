"""The audit log on SQLite and PostgreSQL: concurrent appends chain into one contiguous log, the
services record their changes in the same transaction (and nothing when the change fails), the
rows hold no personal data, and ``verify`` streams the log and checks it against anchors."""

from __future__ import annotations

import datetime as dt
import email
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, insert, select, update

from charter.bootstrap import initialise
from charter.config import Settings
from charter.domain.audit import GENESIS, Anchor, FindingKind
from charter.domain.errors import InvalidInput, Unauthorized
from charter.facade import Charter
from charter.services import audit as audit_module
from charter.services.audit import AuditService
from charter.services.requests import NewRequest
from charter.services.staff import StaffService
from charter.storage.audit import append_audit, read_audit
from charter.storage.tables import audit_events, audit_head

PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class FakeClock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(microseconds=1)  # every event at its own moment
        return self.now


def actions(charter: Charter) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    return [
        (row.entry.actor, row.entry.action, row.entry.target, row.entry.details)
        for row in charter.audit.rows()
    ]


def test_concurrent_appends_in_separate_transactions_chain_into_one_log(
    charter: Charter,
) -> None:
    threads, each = 8, 50
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait()
            for index in range(each):
                with charter.store.write() as connection:
                    append_audit(
                        connection,
                        at=dt.datetime.now(dt.UTC),
                        actor="system",
                        action="test.append",
                        target=f"writer-{number}",
                        details={"index": index},
                    )
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    seqs = [row.seq for row in charter.audit.rows()]
    assert seqs == list(range(1, threads * each + 1))
    assert charter.audit.verify() is None
    per_writer = {f"writer-{n}": 0 for n in range(threads)}
    for row in charter.audit.rows():
        per_writer[str(row.entry.target)] += 1
    assert set(per_writer.values()) == {each}
    assert charter.audit.anchor().seq == threads * each


def test_an_append_rolls_back_with_its_transaction_and_leaves_no_gap(charter: Charter) -> None:
    now = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)
    charter.audit.record("system", "test.first")

    def failing_change() -> None:
        with charter.store.write() as connection:
            append_audit(connection, at=now, actor="system", action="test.rolled_back")
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        failing_change()
    charter.audit.record("system", "test.second")
    assert [(r.seq, r.entry.action) for r in charter.audit.rows()] == [
        (1, "test.first"),
        (2, "test.second"),
    ]
    assert charter.audit.verify() is None


def test_times_and_details_read_back_exactly_as_hashed(charter: Charter) -> None:
    local = dt.timezone(dt.timedelta(hours=-5))
    at = dt.datetime(2026, 11, 29, 5, 0, 0, 123456, tzinfo=local)
    with charter.store.write() as connection:
        append_audit(
            connection,
            at=at,
            actor="token:ab12",
            action="test.types",
            target=None,
            details={"when": at, "n": 1.5, "list": (1, "ü"), "nested": {"b": None, "a": True}},
        )
    (row,) = charter.audit.rows()
    assert row.entry.at == at
    assert row.entry.details == {
        "when": "2026-11-29T10:00:00.123456Z",
        "n": 1.5,
        "list": [1, "ü"],
        "nested": {"b": None, "a": True},
    }
    assert charter.audit.verify() is None


def test_verify_streams_in_batches_and_finds_tampering_in_the_database(
    charter: Charter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_module, "BATCH", 7)
    for index in range(40):
        charter.audit.record("system", "test.row", f"t{index}", {"index": index})
    seen: list[int] = []
    assert charter.audit.verify(progress=seen.append) is None
    assert seen == [7, 14, 21, 28, 35, 40, 40]
    anchor = charter.audit.anchor()
    assert anchor.seq == 40
    assert anchor.at is not None
    assert anchor.at.microsecond == 0

    with charter.store.write() as connection:  # content swapped between rows 12 and 30
        rows = {r.seq: r for r in read_audit(connection, 0, 100)}
        for seq, other in ((12, 30), (30, 12)):
            source = rows[other]
            connection.execute(
                update(audit_events)
                .where(audit_events.c.seq == seq)
                .values(
                    at=source.entry.at,
                    actor=source.entry.actor,
                    action=source.entry.action,
                    target=source.entry.target,
                    details=source.entry.details,
                    prev_hash=source.prev_hash,
                    hash=source.hash,
                )
            )
    finding = charter.audit.verify()
    assert finding is not None
    assert (finding.kind, finding.seq) == (FindingKind.REORDERED, 12)
    assert finding.message == "row 12 is out of order: it links to row 29, not to row 11"


def test_the_databases_own_head_shows_a_log_cut_back_and_anchors_show_it_when_the_head_is_too(
    charter: Charter,
) -> None:
    for index in range(10):
        charter.audit.record("system", "test.row", details={"index": index})
    kept = charter.audit.anchor()
    with charter.store.write() as connection:
        connection.execute(delete(audit_events).where(audit_events.c.seq > 7))
    finding = charter.audit.verify()
    assert finding is not None
    assert (finding.kind, finding.seq) == (FindingKind.TRUNCATED, 8)
    assert "the head recorded in the database (row 10) is gone" in finding.message
    with charter.store.write() as connection:  # the head set back to row 7 as well
        seven = connection.scalar(select(audit_events.c.hash).where(audit_events.c.seq == 7))
        connection.execute(update(audit_head).values(seq=7, hash=seven))
    assert charter.audit.verify() is None
    finding = charter.audit.verify([kept])
    assert finding is not None
    assert (finding.kind, finding.seq) == (FindingKind.TRUNCATED, 8)
    assert finding.anchor == kept


def test_rows_past_a_head_set_back_are_checked_too(charter: Charter) -> None:
    for index in range(5):
        charter.audit.record("system", "test.row", details={"index": index})
    with charter.store.write() as connection:
        connection.execute(
            update(audit_events).where(audit_events.c.seq == 5).values(details={"index": 99})
        )
        three = connection.scalar(select(audit_events.c.hash).where(audit_events.c.seq == 3))
        connection.execute(update(audit_head).values(seq=3, hash=three))
    finding = charter.audit.verify()
    assert finding is not None
    assert (finding.kind, finding.seq) == (FindingKind.CHANGED, 5)


def test_an_empty_log_is_intact_and_anchors_at_row_zero(charter: Charter) -> None:
    assert charter.audit.verify() is None
    anchor = charter.audit.anchor()
    assert (anchor.seq, anchor.hash) == (0, GENESIS)
    assert charter.audit.verify([anchor]) is None
    assert charter.audit.verify([Anchor(2, "c" * 64)]) is not None


def test_a_row_unreadable_after_tampering_is_reported_not_raised(charter: Charter) -> None:
    charter.audit.record("system", "test.row")
    charter.audit.record("system", "test.row")
    if charter.store.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's types refuse such values")
    with charter.store.engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE audit_events SET at = 'yesterday', details = '{not json' WHERE seq = 2"
        )
    finding = charter.audit.verify()
    assert finding is not None
    assert (finding.kind, finding.seq) == (FindingKind.CHANGED, 2)


# -- the services record their changes -----------------------------------------------------------


@pytest.fixture
def audited(settings: Settings) -> Iterator[Charter]:
    """A Charter whose clock moves a microsecond at each reading (the events' order is known)."""
    initialise(settings)
    with Charter.open(settings, clock=FakeClock()) as instance:
        yield instance


def test_services_record_their_changes_in_order_without_personal_data(
    audited: Charter, settings: Settings
) -> None:
    charter = audited
    staff = StaffService(charter.store, charter.clock, FAST)
    issued = charter.create_token("privacy_officer", "Dana's laptop")
    charter.revoke_token(issued.id)
    user = staff.create_user("dana@example.org", "Dana Diaz", "privacy_officer", PASSWORD)
    with pytest.raises(Unauthorized):
        staff.login("dana@example.org", "wrong password!!")
    with pytest.raises(Unauthorized):
        staff.login("nobody@example.invalid", PASSWORD)
    staff.login("dana@example.org", PASSWORD)
    received = charter.requests.submit(
        NewRequest("access", "acme", {"email": "ann.person@example.org"})
    )
    code = _code(settings.outbox_dir)
    charter.requests.verify(received.id, code)
    actor = f"staff:{user.id}"
    second = charter.requests.submit(
        NewRequest("erasure", "acme", {"email": "bo.person@example.org"}),
        actor=actor,
    )
    with pytest.raises(InvalidInput):  # refused: nothing changes, nothing is recorded
        charter.requests.approve(second.id, actor)
    charter.requests.extend(received.id, actor, "the systems are many")
    charter.requests.reject(second.id, actor, "Ann Person's request is a duplicate")
    charter.rights.run(received.id)  # the shop has no connection: a step for staff
    waiting = [s.seq for s in charter.requests.view(received.id).steps if s.action == "manual"]
    assert len(waiting) == 1
    charter.rights.confirm_manual_step(received.id, waiting[0], actor, "done by hand")
    staff.disable("dana@example.org")

    recorded = actions(charter)
    assert [(a, b, c) for a, b, c, _ in recorded] == [
        ("system", "token.created", issued.id),
        ("system", "token.revoked", issued.id),
        ("system", "staff.created", user.id),
        ("system", "staff.login_failed", user.id),
        ("system", "staff.login_failed", None),
        (actor, "staff.login_succeeded", user.id),
        ("person", "request.filed", received.id),
        ("person", "request.verified", received.id),
        (actor, "request.filed", second.id),
        (actor, "request.extended", received.id),
        (actor, "request.rejected", second.id),
        (actor, "request.step_confirmed", received.id),
        ("system", "request.completed", received.id),
        ("system", "staff.disabled", user.id),
    ]
    details = [d for *_, d in recorded]
    assert details[0] == {"role": "privacy_officer"}
    assert details[3] == {"reason": "wrong_password", "failed_logins": 1}
    assert details[4] == {"reason": "unknown_account"}
    assert details[6] == {"type": "access", "brand": "acme", "via": "api"}
    assert details[9]["due_at"].endswith("Z")
    assert details[10] == {"status": "rejected"}
    assert details[11] == {"seq": waiting[0], "system": "shop"}
    assert details[12]["type"] == "access"
    stored = json.dumps(recorded)
    for personal in ("example", "Dana", "Ann", "laptop", "duplicate", "by hand", "chr_"):
        assert personal not in stored
    assert code not in [value for *_, d in recorded for value in d.values()]
    assert charter.audit.verify() is None


def test_a_lockout_is_recorded_and_tries_while_locked_too(audited: Charter) -> None:
    charter = audited
    staff = StaffService(charter.store, charter.clock, FAST)
    user = staff.create_user("eve@example.org", "Eve Example", "admin", PASSWORD)
    for _ in range(5):
        with pytest.raises(Unauthorized):
            staff.login("eve@example.org", "wrong password!!")
    with pytest.raises(Unauthorized):
        staff.login("eve@example.org", PASSWORD)  # locked now
    recorded = actions(charter)
    assert [b for _, b, _, _ in recorded[-3:]] == [
        "staff.login_failed",
        "staff.locked",
        "staff.login_failed",
    ]
    assert recorded[-2][3]["failed_logins"] == 5
    assert recorded[-1][3] == {"reason": "locked"}
    assert all(target == user.id for _, _, target, _ in recorded)
    assert charter.audit.verify() is None


def test_an_approval_is_recorded_with_the_status_it_led_to(
    audited: Charter, settings: Settings
) -> None:
    charter = audited
    received = charter.requests.submit(
        NewRequest("erasure", "acme", {"email": "cy.person@example.org"})
    )
    charter.requests.verify(received.id, _code(settings.outbox_dir))
    charter.requests.approve(received.id, "staff:officer-1")
    assert [(a, b, d) for a, b, _, d in actions(charter)] == [
        ("person", "request.filed", {"type": "erasure", "brand": "acme", "via": "api"}),
        ("person", "request.verified", {"status": "awaiting_approval"}),
        ("staff:officer-1", "request.approved", {"status": "in_progress"}),
    ]
    assert charter.audit.verify() is None


def test_a_change_that_fails_records_nothing(audited: Charter) -> None:
    charter = audited
    staff = StaffService(charter.store, charter.clock, FAST)
    staff.create_user("finn@example.org", "Finn Example", "support", PASSWORD)
    with pytest.raises(InvalidInput):
        staff.create_user("finn@example.org", "Finn Again", "support", PASSWORD)
    assert [b for _, b, _, _ in actions(charter)] == ["staff.created"]
    with charter.store.write() as connection:
        assert connection.scalar(select(audit_head.c.seq)) == 1
        # and an insert of a row with a taken seq is refused by the primary key
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            connection.execute(
                insert(audit_events).values(
                    seq=1,
                    at=charter.clock(),
                    actor="system",
                    action="x",
                    details={},
                    prev_hash=GENESIS,
                    hash=GENESIS,
                )
            )


def _code(outbox: Path) -> str:
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        mail = email.message_from_bytes(path.read_bytes())
        body = mail.get_payload(decode=True)
        assert isinstance(body, bytes)
        found = re.search(r"^\s+(\d{6})$", body.decode(), re.M)
        if found:
            return found.group(1)
    raise AssertionError("no verification code in the outbox")


def test_record_uses_the_service_clock(charter: Charter) -> None:
    clock = FakeClock()
    service = AuditService(charter.store, clock)
    assert service.record("system", "test.clock") == 1
    (row,) = service.rows()
    assert row.entry.at == clock.now
