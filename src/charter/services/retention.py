"""The retention sweep: the manifest's retention rules applied to the store.

Which rule governs which values is decided in ``charter.domain.retention`` per (touchpoint,
category) pair found in the store; the database then selects each rule's expired values with
one comparison (``latest_start``), minus those a legal hold still keeps. Deletion runs in
batches, each its own transaction, so that a long sweep never holds the write lock for long and
a crash loses nothing but the batch under way (the next sweep finds it again). ``anonymise``
keeps a count per brand, touchpoint, field and category in ``anonymous_tallies`` and deletes
the value: a number that identifies no one. Identities go once none of their person's values is
left and their own rule's period has passed. Every sweep leaves its counts per rule in the
audit log, and ends with a checkpoint of SQLite's WAL, so that no old page image keeps what it
removed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Table,
    and_,
    delete,
    exists,
    false,
    func,
    insert,
    or_,
    select,
)

from charter.domain.clock import Clock
from charter.domain.consent import ANY_CHANNEL, ConsentAction, ConsentMethod
from charter.domain.durations import Duration, parse_duration
from charter.domain.retention import (
    LAST_ACTIVITY,
    Hold,
    Rule,
    governing_rule,
    identity_rule,
    latest_start,
    longest_hold,
)
from charter.manifest.models import IDENTITY_CATEGORIES, Manifest
from charter.services.consents import ConsentRequest, ConsentService
from charter.services.soft_opt_in import SoftOptInService
from charter.storage.audit import append_audit
from charter.storage.ledger import Ledger
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import (
    anonymous_tallies,
    consent_events,
    identities,
    personal_values,
    rights_requests,
)

Progress = Callable[[str, int], None]
BATCH = 100_000  # ids per window, one transaction each: about a second of write lock


@dataclass
class RuleOutcome:
    rule: str
    action: str
    expired: int = 0
    held: int = 0
    removed: int = 0
    identities: int = 0


@dataclass
class SweepReport:
    as_of: dt.datetime
    dry_run: bool
    rules: list[RuleOutcome] = field(default_factory=list)
    consents_expired: int = 0
    """Cookie banner consents older than ``cookie_banner.consent_months``, now ``expired``."""
    requests_deleted: int = 0
    """Records of rights requests closed more than ``policy.request_record_months`` ago."""
    relationships_lapsed: int = 0
    """Soft opt-in relationships older than their purpose's ``lapses_after``, now ``expired``."""

    @property
    def removed(self) -> int:
        return sum(r.removed + r.identities for r in self.rules)


@dataclass(frozen=True)
class _Selection:
    """Values of one rule under one (or no) legal hold: the pairs it governs there."""

    rule: Rule
    hold: Hold | None
    pairs: tuple[tuple[str, str], ...]  # (touchpoint, category)


class RetentionService:
    def __init__(
        self, manifest: Manifest, store: Store, clock: Clock, consents: ConsentService
    ) -> None:
        self.store = store
        self.clock = clock
        self.consents = consents
        self.soft_opt_in = SoftOptInService(manifest, store, clock)
        self.request_record_term = Duration(months=manifest.policy.request_record_months)
        self.banner_purposes = sorted(
            {c.purpose for c in manifest.cookies.values() if c.consent_required and c.purpose}
        )
        self.banner_term = Duration(months=manifest.cookie_banner.consent_months)
        self.rules = [
            Rule(
                r.key,
                tuple(r.categories),
                tuple(r.touchpoints),
                parse_duration(r.period) if r.period else None,
                r.counted_from.value,
                r.action.value,
            )
            for r in manifest.retention.rules
        ]
        self.holds = [
            Hold(h.key, tuple(h.categories), tuple(h.touchpoints), parse_duration(h.period))
            for h in manifest.retention.legal_holds
        ]

    def sweep(
        self,
        as_of: dt.datetime | None = None,
        *,
        dry_run: bool = False,
        batch_size: int = BATCH,
        progress: Progress | None = None,
    ) -> SweepReport:
        """Apply every rule as of ``as_of`` (default now); ``dry_run`` only counts. Returns
        per rule what expired, what a legal hold kept, and what was removed.

        One pass over the values in windows of ``batch_size`` ids, each window one
        transaction deleting what every rule removes there, so the table is read once however
        many rules there are."""
        when = as_of or self.clock()
        selections = self._selections()
        outcomes = {s.rule.key: RuleOutcome(s.rule.key, s.rule.action) for s in selections}
        rule_of = {pair: s.rule.key for s in selections for pair in s.pairs}
        conditions = [self._conditions(s, when) for s in selections]
        with self.store.read() as connection:
            for selection, (expired, deletable) in zip(selections, conditions, strict=True):
                if selection.hold is not None:
                    outcomes[selection.rule.key].held += _count(
                        connection, personal_values, and_(expired, ~deletable)
                    )
        removable = or_(false(), *(deletable for _, deletable in conditions))
        if dry_run:
            with self.store.read() as connection:
                counted = connection.execute(
                    select(personal_values.c.touchpoint, personal_values.c.category, func.count())
                    .where(removable)
                    .group_by(personal_values.c.touchpoint, personal_values.c.category)
                ).all()
            for touchpoint, category, n in counted:
                outcomes[rule_of[(touchpoint, category)]].expired += n
        elif selections:
            for pair, n in self._remove(removable, rule_of, batch_size, progress).items():
                outcomes[rule_of[pair]].removed += n
                outcomes[rule_of[pair]].expired += n
        for outcome in outcomes.values():
            outcome.expired += outcome.held
        for kind, category in IDENTITY_CATEGORIES.items():
            rule = identity_rule(self.rules, category)
            if rule is None or rule.period is None:
                continue
            outcome = outcomes.setdefault(rule.key, RuleOutcome(rule.key, rule.action))
            outcome.identities += self._sweep_identities(
                kind.value, rule, when, dry_run, batch_size, progress
            )
        report = SweepReport(
            when,
            dry_run,
            [outcomes[r.key] for r in self.rules if r.key in outcomes],
            self._expire_banner_consents(when, dry_run),
            self._delete_request_records(when, dry_run),
            self.soft_opt_in.expire_lapsed(when, dry_run),
        )
        if not dry_run:
            with self.store.write() as connection:
                append_audit(
                    connection,
                    at=self.clock(),
                    actor="system",
                    action="retention.sweep",
                    details={
                        "as_of": when.isoformat(),
                        "consents_expired": report.consents_expired,
                        "requests_deleted": report.requests_deleted,
                        "relationships_lapsed": report.relationships_lapsed,
                        "rules": {
                            r.rule: {
                                "expired": r.expired,
                                "held": r.held,
                                "removed": r.removed,
                                "identities": r.identities,
                            }
                            for r in report.rules
                        },
                    },
                )
            # The removed rows' old page images leave SQLite's WAL (``Store.checkpoint``).
            self.store.checkpoint()
        return report

    def _delete_request_records(self, when: dt.datetime, dry_run: bool) -> int:
        """A closed request's record is evidence that it was answered, kept for
        ``policy.request_record_months`` (the time to defend a complaint), then deleted with its
        history, steps and package; open requests are never touched."""
        closed_before = latest_start(self.request_record_term, when)
        old = and_(
            rights_requests.c.closed_at.is_not(None), rights_requests.c.closed_at <= closed_before
        )
        if dry_run:
            with self.store.read() as connection:
                return _count(connection, rights_requests, old)
        with self.store.write() as connection:
            # The steps, history and package go with it (ON DELETE CASCADE).
            return int(connection.execute(delete(rights_requests).where(old)).rowcount or 0)

    def _expire_banner_consents(self, when: dt.datetime, dry_run: bool) -> int:
        """A cookie banner's consent lasts ``consent_months`` at most (the banner then asks
        again); a consent given there and not renewed since gets an ``expired`` event, so that
        decisions on the server agree with the banner."""
        if not self.banner_purposes:
            return 0
        cutoff = latest_start(self.banner_term, when)
        events = consent_events.c
        with self.store.read() as connection:
            candidates = connection.execute(
                select(events.subject_id, events.brand, events.purpose)
                .where(
                    events.method == ConsentMethod.BANNER.value,
                    events.action == ConsentAction.GIVEN.value,
                    events.purpose.in_(self.banner_purposes),
                    events.occurred_at <= cutoff,
                )
                .distinct()
            ).all()
            repo = SubjectRepository(connection, self.store.vault)
            ledger = Ledger(connection)
            due: set[tuple[str, str, str]] = set()
            for subject, brand, purpose in candidates:
                current = repo.resolve(subject)
                if current is None:
                    continue
                record = ledger.load(current).decision.consents.get((brand, purpose, ANY_CHANNEL))
                if record is not None and record.granted and record.at <= cutoff:
                    due.add((current, brand, purpose))
        if not dry_run:
            ordered = sorted(due)
            for start in range(0, len(ordered), 500):
                self.consents.record_all(
                    [
                        ConsentRequest(
                            brand,
                            purpose,
                            "expire",
                            method=ConsentMethod.EXPIRY.value,
                            subject_id=subject,
                        )
                        for subject, brand, purpose in ordered[start : start + 500]
                    ]
                )
        return len(due)

    def _selections(self) -> list[_Selection]:
        with self.store.read() as connection:
            pairs = connection.execute(
                select(personal_values.c.touchpoint, personal_values.c.category).distinct()
            ).all()
        grouped: dict[tuple[str, str | None], list[tuple[str, str]]] = defaultdict(list)
        governing: dict[str, Rule] = {}
        held_by: dict[str, Hold] = {}
        for touchpoint, category in pairs:
            rule = governing_rule(self.rules, category, touchpoint)
            if rule is None or rule.period is None:
                continue
            hold = longest_hold(self.holds, category, touchpoint)
            governing[rule.key] = rule
            if hold is not None:
                held_by[hold.key] = hold
            grouped[(rule.key, hold.key if hold else None)].append((touchpoint, category))
        return [
            _Selection(governing[rule], held_by[hold] if hold else None, tuple(sorted(found)))
            for (rule, hold), found in sorted(grouped.items(), key=lambda item: str(item[0]))
        ]

    def _conditions(
        self, selection: _Selection, when: dt.datetime
    ) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        """(expired, expired and no longer held) over ``personal_values``."""
        rule = selection.rule
        assert rule.period is not None
        by_touchpoint: dict[str, list[str]] = defaultdict(list)
        for touchpoint, category in selection.pairs:
            by_touchpoint[touchpoint].append(category)
        start = (
            personal_values.c.last_activity_at
            if rule.counted_from == LAST_ACTIVITY
            else personal_values.c.collected_at
        )
        expired = and_(
            start <= latest_start(rule.period, when),
            or_(
                false(),
                *(
                    and_(
                        personal_values.c.touchpoint == touchpoint,
                        personal_values.c.category.in_(categories),
                    )
                    for touchpoint, categories in sorted(by_touchpoint.items())
                ),
            ),
        )
        if selection.hold is None:
            return expired, expired
        released = personal_values.c.collected_at <= latest_start(selection.hold.period, when)
        return expired, and_(expired, released)

    def _remove(
        self,
        condition: ColumnElement[bool],
        rule_of: dict[tuple[str, str], str],
        batch_size: int,
        progress: Progress | None,
    ) -> Counter[tuple[str, str]]:
        """Delete the values matching ``condition``, a window of ids per transaction; the
        count removed per (touchpoint, category)."""
        anonymise = {r.key for r in self.rules if r.action == "anonymise"}
        columns = personal_values.c
        removed: Counter[tuple[str, str]] = Counter()
        with self.store.bulk() as transaction:
            for low, high in _windows(self.store, columns.id, batch_size):
                with transaction() as connection:
                    gone = connection.execute(
                        delete(personal_values)
                        .where(columns.id >= low, columns.id < high, condition)
                        .returning(
                            columns.touchpoint, columns.category, columns.brand, columns.field
                        )
                    ).all()
                    tallies = Counter(
                        (rule_of[(t, c)], b, t, f, c)
                        for t, c, b, f in gone
                        if rule_of[(t, c)] in anonymise
                    )
                    if tallies:
                        _tally(connection, tallies, self.clock())
                window = Counter((t, c) for t, c, _, _ in gone)
                removed.update(window)
                if progress is not None:
                    per_rule = Counter[str]()
                    for pair, n in window.items():
                        per_rule[rule_of[pair]] += n
                    for rule, n in per_rule.items():
                        progress(rule, n)
        return removed

    def _sweep_identities(
        self,
        kind: str,
        rule: Rule,
        when: dt.datetime,
        dry_run: bool,
        batch_size: int,
        progress: Progress | None,
    ) -> int:
        assert rule.period is not None
        start = (
            identities.c.last_seen_at
            if rule.counted_from == LAST_ACTIVITY
            else identities.c.created_at
        )
        values_left = exists().where(personal_values.c.subject_id == identities.c.subject_id)
        condition = and_(
            identities.c.kind == kind,
            start <= latest_start(rule.period, when),
            ~values_left,
        )
        if dry_run:
            with self.store.read() as connection:
                return _count(connection, identities, condition)
        removed = 0
        for low, high in _windows(self.store, identities.c.id, batch_size):
            with self.store.write() as connection:
                n = connection.execute(
                    delete(identities).where(
                        identities.c.id >= low, identities.c.id < high, condition
                    )
                ).rowcount
            removed += n
            if progress is not None and n:
                progress(rule.key, n)
        return removed


def _count(connection: Connection, table: Table, condition: ColumnElement[bool]) -> int:
    return int(connection.scalar(select(func.count()).select_from(table).where(condition)) or 0)


def _windows(store: Store, key: Column[int], size: int) -> Iterator[tuple[int, int]]:
    """Half-open ranges ``[low, high)`` of ``size`` ids covering the table's ids now; rows
    added later have higher ids and are left for the next sweep."""
    with store.read() as connection:
        low, high = connection.execute(select(func.min(key), func.max(key))).one()
    if low is None:
        return
    for start in range(int(low), int(high) + 1, size):
        yield start, start + size


def _tally(
    connection: Connection, tallies: Counter[tuple[str, str, str, str, str]], now: dt.datetime
) -> None:
    """Keep what anonymisation leaves: how many values of each kind there were."""
    connection.execute(
        insert(anonymous_tallies),
        [
            {
                "rule": rule,
                "swept_at": now,
                "brand": brand,
                "touchpoint": touchpoint,
                "field": name,
                "category": category,
                "count": count,
            }
            for (rule, brand, touchpoint, name, category), count in tallies.items()
        ],
    )
