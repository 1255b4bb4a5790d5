"""The retention sweep on a real store (SQLite and PostgreSQL): what each rule removes, what a
legal hold keeps, activity restarting a period, identities once nothing is left, anonymised
tallies, dry runs into the future, batches, and the audit log's record of each sweep."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter
from charter.storage.tables import (
    anonymous_tallies,
    audit_events,
    consent_events,
    identities,
    personal_values,
)

T0 = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def open_charter(settings: Settings, clock: Clock) -> Iterator[Charter]:
    initialise(settings)
    with Charter.open(settings, clock=clock) as charter:
        yield charter


@pytest.fixture
def charter(settings: Settings, clock: Clock) -> Iterator[Charter]:
    yield from open_charter(settings, clock)


def people(charter: Charter) -> None:
    """Ann buys, signs up and asks support; Bob only asks support."""
    ann = {"email": "ann@example.org"}
    charter.submit("marketing_signup", brand="acme", identities=ann, data={"name": "Ann"})
    charter.submit(
        "purchase",
        brand="acme",
        identities=ann,
        data={
            "name": "Ann",
            "shipping_address": "1 Main St, Springfield",
            "phone": "+1 202 555 0142",
            "payment_token": "tok_visa_4242abcd",
        },
    )
    charter.submit(
        "support",
        brand="acme",
        identities=ann,
        data={"message": "My keyboard hums.", "date_of_birth": "1990-04-01"},
    )
    charter.submit(
        "support", brand="acme", identities={"email": "bob@example.org"}, data={"message": "Hi"}
    )


def fields(charter: Charter) -> list[tuple[str, str]]:
    with charter.store.read() as connection:
        rows = connection.execute(
            select(personal_values.c.touchpoint, personal_values.c.field)
        ).all()
    return sorted((t, f) for t, f in rows)


def count(charter: Charter, table: object) -> int:
    with charter.store.read() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)))  # type: ignore[arg-type]


def outcomes(report: object) -> dict[str, tuple[int, int, int, int]]:
    return {
        r.rule: (r.expired, r.held, r.removed, r.identities)
        for r in report.rules  # type: ignore[attr-defined]
    }


def test_each_rule_removes_what_expired_and_holds_keep_the_rest(
    charter: Charter, clock: Clock
) -> None:
    people(charter)
    everything = fields(charter)
    assert charter.retention.sweep(T0 + dt.timedelta(days=365)).removed == 0
    assert fields(charter) == everything

    # Support messages go two years after collection.
    two_years = charter.retention.sweep(dt.datetime(2028, 1, 15, 9, 0, tzinfo=dt.UTC))
    assert outcomes(two_years)["support_messages"] == (3, 0, 3, 0)
    assert ("support", "message") not in fields(charter)
    assert ("support", "date_of_birth") not in fields(charter)

    # Contact data goes three years after the last activity, except what tax law holds.
    later = dt.datetime(2029, 1, 16, tzinfo=dt.UTC)
    preview = charter.retention.sweep(later, dry_run=True)
    assert preview.dry_run and preview.removed == 1  # Bob's email: nothing else of his is left
    assert fields(charter) == sorted(
        set(everything) - {("support", "message"), ("support", "date_of_birth")}
    )
    swept = charter.retention.sweep(later)
    expired, held, removed, gone_identities = outcomes(swept)["contact"]
    assert (expired, held) == (4, 2)  # the purchase's name and address are held
    assert removed == expired - held
    assert fields(charter) == [
        ("purchase", "name"),
        ("purchase", "payment_token"),
        ("purchase", "shipping_address"),
    ]
    assert gone_identities == 1  # Bob's email; Ann still has values, so hers stays
    with charter.store.read() as connection:
        kinds = connection.execute(select(identities.c.kind)).scalars().all()
    assert kinds == ["email"]
    # The payment token has criteria, not a period: people apply them, the sweep never does.
    assert charter.retention.sweep(dt.datetime(2040, 1, 1, tzinfo=dt.UTC)).removed == 2
    assert fields(charter) == [("purchase", "payment_token")]


def test_activity_starts_a_last_activity_period_again(charter: Charter, clock: Clock) -> None:
    people(charter)
    clock.now = dt.datetime(2028, 6, 1, tzinfo=dt.UTC)  # Ann comes back
    charter.submit("marketing_signup", brand="zeta", identities={"email": "ann@example.org"})
    report = charter.retention.sweep(dt.datetime(2029, 1, 16, tzinfo=dt.UTC))
    expired, _, _, _ = outcomes(report)["contact"]
    assert expired == 0
    assert ("marketing_signup", "name") in fields(charter)


def test_anonymise_keeps_only_counts(settings: Settings, clock: Clock) -> None:
    manifest = yaml.safe_load(Path(settings.manifest).read_text())
    manifest["retention"]["rules"][1]["action"] = "anonymise"
    Path(settings.manifest).write_text(yaml.safe_dump(manifest, sort_keys=False))
    for charter in open_charter(settings, clock):
        people(charter)
        report = charter.retention.sweep(dt.datetime(2028, 2, 1, tzinfo=dt.UTC), batch_size=1)
        assert outcomes(report)["support_messages"][2] == 3
        with charter.store.read() as connection:
            tallies = connection.execute(
                select(
                    anonymous_tallies.c.rule,
                    anonymous_tallies.c.field,
                    func.sum(anonymous_tallies.c.count),
                ).group_by(anonymous_tallies.c.rule, anonymous_tallies.c.field)
            ).all()
        assert sorted(tuple(t) for t in tallies) == [
            ("support_messages", "date_of_birth", 1),
            ("support_messages", "message", 2),
        ]


def test_batches_report_progress_and_the_audit_log_keeps_the_counts(
    charter: Charter, clock: Clock
) -> None:
    people(charter)
    seen: list[tuple[str, int]] = []
    report = charter.retention.sweep(
        dt.datetime(2028, 2, 1, tzinfo=dt.UTC),
        batch_size=2,
        progress=lambda r, n: seen.append((r, n)),
    )
    assert {rule for rule, _ in seen} == {"support_messages"}
    assert sum(n for _, n in seen) == 3 and len(seen) >= 2  # several windows
    assert report.removed == 3
    charter.retention.sweep(dt.datetime(2028, 2, 2, tzinfo=dt.UTC), dry_run=True)
    with charter.store.read() as connection:
        rows = connection.execute(
            select(audit_events.c.action, audit_events.c.details).where(
                audit_events.c.action == "retention.sweep"
            )
        ).all()
    assert len(rows) == 1  # a dry run changes nothing, so it leaves no record
    assert rows[0].details["rules"]["support_messages"]["removed"] == 3
    assert charter.audit.verify() is None


def test_a_cookie_banner_consent_expires_after_its_term(charter: Charter, clock: Clock) -> None:
    from charter.services.cookie_banner import CookieChoice

    banner = charter.cookie_banner.config("zeta", "en", gpc=False)

    def choose(method: str, cookie_id: str) -> None:
        charter.cookie_banner.record(
            CookieChoice(
                brand="zeta",
                method=method,
                language="en",
                config_version=banner["config_version"],
                text_version=banner["text_version"],
                cookie_id=cookie_id,
            )
        )

    choose("accept_all", "visitor-one-0000000")
    clock.now = T0 + dt.timedelta(days=200)
    choose("accept_all", "visitor-two-0000000")  # asked again later: its own term

    def allowed(cookie_id: str) -> bool:
        return charter.decide(
            "site_analytics", brand="zeta", identities={"cookie_id": cookie_id}
        ).allowed

    thirteen_months = dt.datetime(2027, 2, 15, 9, 0, tzinfo=dt.UTC)
    assert charter.retention.sweep(thirteen_months, dry_run=True).consents_expired == 1
    assert allowed("visitor-one-0000000")  # a dry run changes nothing
    report = charter.retention.sweep(thirteen_months)
    assert report.consents_expired == 1
    assert not allowed("visitor-one-0000000")
    assert allowed("visitor-two-0000000")
    assert charter.retention.sweep(thirteen_months).consents_expired == 0  # once only
    with charter.store.read() as connection:
        expiry = connection.execute(
            select(consent_events.c.action, consent_events.c.method).where(
                consent_events.c.method == "expiry"
            )
        ).all()
    assert [tuple(e) for e in expiry] == [("expired", "expiry")]


def test_records_of_closed_requests_go_after_their_term(charter: Charter, clock: Clock) -> None:
    from charter.services.requests import NewRequest

    old = charter.requests.submit(NewRequest("access", "acme", {"email": "ann@example.org"}))
    charter.requests.submit(NewRequest("access", "acme", {"email": "bob@example.org"}))  # open
    # Ann's request is closed (five wrong codes) at once; Bob's stays open.
    for _ in range(5):
        clock.now += dt.timedelta(minutes=5)
        with pytest.raises(Exception):  # noqa: B017, PT011 (the wrong-code refusals)
            charter.requests.verify(old.id, "000000x")
    assert charter.requests.view(old.id).status == "rejected"
    closed = charter.requests.view(old.id).closed_at
    assert closed is not None
    almost = closed + dt.timedelta(days=730)  # 24 months after 2026-01-15 is 2028-01-15
    assert (
        charter.retention.sweep(almost - dt.timedelta(days=1), dry_run=True).requests_deleted == 0
    )
    assert (
        charter.retention.sweep(closed.replace(year=closed.year + 2), dry_run=True).requests_deleted
        == 1
    )
    report = charter.retention.sweep(closed.replace(year=closed.year + 2))
    assert report.requests_deleted == 1
    with pytest.raises(Exception, match="no request"):
        charter.requests.view(old.id)
    assert [v.status for v in charter.requests.queue()] == ["awaiting_verification"]  # Bob's
    with charter.store.read() as connection:
        details = connection.execute(
            select(audit_events.c.details)
            .where(audit_events.c.action == "retention.sweep")
            .order_by(audit_events.c.seq.desc())
        ).scalar()
    assert details["requests_deleted"] == 1
