"""Group commit: concurrent writes share a transaction; each is acknowledged only once committed,
and a unit that fails costs the others nothing (on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, func, insert, select

from charter.domain.errors import InvalidInput
from charter.facade import Charter
from charter.services.consents import ConsentRequest
from charter.storage.group import GroupCommit
from charter.storage.tables import consent_events, notices

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)


def stored(charter: Charter, names: Sequence[str]) -> set[str]:
    with charter.store.read() as connection:
        return set(connection.scalars(select(notices.c.hash).where(notices.c.hash.in_(names))))


def test_units_waiting_together_share_one_transaction(charter: Charter) -> None:
    release = threading.Event()
    groups: list[list[str]] = []

    def apply(connection: Connection, units: Sequence[str]) -> list[str]:
        groups.append(list(units))
        if units == ["first"]:
            release.wait(10)  # hold the writer so that the others queue behind it
        connection.execute(
            insert(notices), [{"hash": u, "text": u, "first_shown_at": NOW} for u in units]
        )
        return [f"done {u}" for u in units]

    writer: GroupCommit[str, str] = GroupCommit(charter.store, apply)
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            first = pool.submit(writer.submit, "first")
            while not groups:
                threading.Event().wait(0.001)
            rest = [pool.submit(writer.submit, f"unit-{n}") for n in range(5)]
            threading.Event().wait(0.2)
            release.set()
            answers = [first.result(10)] + [f.result(10) for f in rest]
    finally:
        writer.close()
    assert answers == ["done first"] + [f"done unit-{n}" for n in range(5)]
    assert groups[0] == ["first"]
    assert sorted(groups[1]) == [f"unit-{n}" for n in range(5)]
    assert stored(charter, ["first", *(f"unit-{n}" for n in range(5))]) == {
        "first",
        *(f"unit-{n}" for n in range(5)),
    }


def test_a_failing_unit_fails_alone_and_leaves_nothing(charter: Charter) -> None:
    release = threading.Event()
    started = threading.Event()

    def apply(connection: Connection, units: Sequence[str]) -> list[str | Exception]:
        if units == ["gate"]:
            started.set()
            release.wait(10)
        outcomes: list[str | Exception] = []
        for unit in units:
            if unit == "refused":
                outcomes.append(InvalidInput("refused before writing", code="refused"))
                continue
            connection.execute(insert(notices).values(hash=unit, text=unit, first_shown_at=NOW))
            if unit == "broken":
                raise RuntimeError("the database said no")
            outcomes.append(unit)
        return outcomes

    writer: GroupCommit[str, str] = GroupCommit(charter.store, apply)
    units = ["a", "broken", "b", "refused", "c"]
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            gate = pool.submit(writer.submit, "gate")
            assert started.wait(10)
            futures = {u: pool.submit(writer.submit, u) for u in units}
            threading.Event().wait(0.2)
            release.set()
            assert gate.result(10) == "gate"
            for unit in ("a", "b", "c"):
                assert futures[unit].result(10) == unit
            with pytest.raises(RuntimeError, match="the database said no"):
                futures["broken"].result(10)
            with pytest.raises(InvalidInput, match="refused before writing"):
                futures["refused"].result(10)
    finally:
        writer.close()
    assert stored(charter, ["gate", *units]) == {"gate", "a", "b", "c"}


def test_concurrent_consents_are_all_recorded_and_an_unknown_subject_is_refused_alone(
    charter: Charter,
) -> None:
    people = [
        charter.record_consent(
            ConsentRequest(
                "acme", "marketing_email", "give", notice="Email me", identities={"email": e}
            )
        ).subject_id
        for e in ("g1@example.org", "g2@example.org", "g3@example.org")
    ]

    def record(n: int) -> str:
        subject = "no-such-subject" if n % 7 == 3 else people[n % 3]
        try:
            done = charter.record_consent(
                ConsentRequest(
                    "acme",
                    "marketing_email",
                    ("give", "withdraw")[n % 2],
                    notice="Email me",
                    subject_id=subject,
                )
            )
        except InvalidInput as error:
            return error.code
        return str(done.event_id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(record, range(60)))
    refused = [a for a in answers if a == "unknown_subject"]
    assert len(refused) == len([n for n in range(60) if n % 7 == 3])
    event_ids = [int(a) for a in answers if a != "unknown_subject"]
    assert len(set(event_ids)) == len(event_ids)
    with charter.store.read() as connection:
        assert connection.scalar(select(func.count()).select_from(consent_events)) == 3 + len(
            event_ids
        )
    # Each person's state is the fold of their own events: the newest wins, ties by arrival.
    for person in people:
        with charter.store.read() as connection:
            last = connection.execute(
                select(consent_events.c.action)
                .where(consent_events.c.subject_id == person)
                .order_by(consent_events.c.occurred_at.desc(), consent_events.c.id.desc())
                .limit(1)
            ).scalar_one()
        expected = "ok" if last == "given" else "consent_withdrawn"
        decision = charter.decide("marketing_email", [], brand="acme", subject_id=person)
        assert decision.reason == expected
