"""The soft opt-in in the store (ePrivacy Directive Art. 13(2); rules in
``charter.domain.soft_opt_in``).

A relationship is a ledger entry on the ``customer`` channel (method ``soft_opt_in``), its
notice the purpose's ``opt_out_notice``: decisions read it from the compact state they already
read, so the hot path needs no new state. An opt-out at collection is an objection in the
preference ledger (method ``form_checkbox``), written in the submission's own transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from charter.domain.clock import Clock
from charter.domain.consent import (
    CUSTOMER_CHANNEL,
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    ConsentRecord,
    notice_hash,
)
from charter.domain.durations import parse_duration
from charter.domain.preferences import PreferenceKind, object_to
from charter.domain.retention import latest_start
from charter.domain.soft_opt_in import (
    Offer,
    SoftOptInRule,
    check_opt_outs,
    due_to_lapse,
    lapsed,
    offered_at,
    offers,
)
from charter.manifest.models import LegalBasis, Manifest, Touchpoint
from charter.storage.ledger import Ledger, LedgerEntry, PreferenceEntry, keep_notice
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import consent_events

_BATCH = 500


def rules_of(manifest: Manifest) -> list[SoftOptInRule]:
    """The manifest's ``soft_opt_in`` purposes, in manifest order."""
    return [
        SoftOptInRule(
            key,
            frozenset(p.soft_opt_in.established_by),
            p.soft_opt_in.opt_out_notice.strip(),
            parse_duration(p.soft_opt_in.lapses_after) if p.soft_opt_in.lapses_after else None,
            p.notice_version,
        )
        for key, p in manifest.purposes.items()
        if p.legal_basis is LegalBasis.SOFT_OPT_IN and p.soft_opt_in is not None
    ]


@dataclass(frozen=True)
class SoftOptInPlan:
    """What a submission establishes (checked before anything is written)."""

    offered: tuple[SoftOptInRule, ...] = ()
    opt_outs: frozenset[str] = field(default_factory=frozenset)


def plan_soft_opt_in(
    rules: Sequence[SoftOptInRule], key: str, touchpoint: Touchpoint, opt_outs: Sequence[str]
) -> SoftOptInPlan:
    """The relationships a submission at ``key`` establishes (``rules``: the manifest's
    ``rules_of``) and the opt-outs taken there; 422 ``opt_out_not_offered`` for an opt-out the
    touchpoint does not offer."""
    offered = offered_at(rules, key, touchpoint.purposes)
    return SoftOptInPlan(tuple(offered), check_opt_outs(opt_outs, offered, key))


def establish(
    connection: Connection,
    planned: SoftOptInPlan,
    *,
    subject_id: str,
    brand: str,
    touchpoint: str,
    submission_id: str,
    policy_version: str,
    now: dt.datetime,
    minor: bool = False,
) -> list[Offer]:
    """Record, in the caller's transaction, each relationship the submission establishes and
    each opt-out taken at collection; return what the receipt says of them.

    A child's sale establishes nothing: the soft opt-in never applies to a person known as a
    minor (nor later, when they come of age, on the strength of a sale made as a child)."""
    if not planned.offered or minor:
        return []
    ledger = Ledger(connection)
    entries = []
    for rule in planned.offered:
        digest = notice_hash(rule.opt_out_notice)
        keep_notice(connection, digest, rule.opt_out_notice, now)
        event = ConsentEvent(
            brand,
            rule.purpose,
            CUSTOMER_CHANNEL,
            ConsentAction.GIVEN,
            rule.version,
            now,
        )
        entries.append(
            LedgerEntry(
                event,
                digest,
                ConsentMethod.SOFT_OPT_IN.value,
                policy_version,
                touchpoint=touchpoint,
                submission_id=submission_id,
            )
        )
    record, _ = ledger.record_consents(subject_id, entries, now)
    for rule in planned.offered:
        if rule.purpose in planned.opt_outs and rule.purpose not in record.decision.objections:
            record = object_to(record, rule.purpose)
            entry = PreferenceEntry(
                PreferenceKind.OBJECTION.value,
                ConsentMethod.FORM_CHECKBOX.value,
                now,
                brand=brand,
                purpose=rule.purpose,
            )
            ledger.record_preference(subject_id, entry, record, now)
    return offers(planned.offered, planned.opt_outs, record.decision.objections)


class SoftOptInService:
    """Lapsing relationships (``lapses_after``), for the retention sweep."""

    def __init__(self, manifest: Manifest, store: Store, clock: Clock) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.lapsing = {r.purpose: r for r in rules_of(manifest) if r.lapses_after is not None}

    def expire_lapsed(self, when: dt.datetime, dry_run: bool = False) -> int:
        """Give every relationship whose latest establishing entry is ``lapses_after`` old by
        ``when`` an ``expired`` entry (method ``expiry``); returns how many lapsed."""
        if not self.lapsing:
            return 0
        events = consent_events.c
        records: dict[tuple[str, str, str], ConsentRecord | None] = {}
        with self.store.read() as connection:
            repo = SubjectRepository(connection, self.store.vault)
            ledger = Ledger(connection)
            for purpose, rule in sorted(self.lapsing.items()):
                assert rule.lapses_after is not None
                candidates = connection.execute(
                    select(events.subject_id, events.brand)
                    .where(
                        events.channel == CUSTOMER_CHANNEL,
                        events.purpose == purpose,
                        events.action == ConsentAction.GIVEN.value,
                        events.occurred_at <= latest_start(rule.lapses_after, when),
                    )
                    .distinct()
                ).all()
                for subject, brand in candidates:
                    current = repo.resolve(subject)
                    if current is None:
                        continue
                    consents = ledger.load(current).decision.consents
                    records[(current, brand, purpose)] = consents.get(
                        (brand, purpose, CUSTOMER_CHANNEL)
                    )
        periods = {p: r.lapses_after for p, r in self.lapsing.items() if r.lapses_after}
        due = due_to_lapse(records, periods, when)
        if dry_run:
            return len(due)
        now = self.clock()
        policy_version = self.manifest.policy.version
        lapsed_count = 0
        for start in range(0, len(due), _BATCH):
            chunk = due[start : start + _BATCH]
            with self.store.write() as connection:
                ledger = Ledger(connection)
                states = ledger.load_many(sorted({s for s, _, _ in chunk}), for_update=True)
                per_subject: dict[str, list[LedgerEntry]] = {}
                for subject, brand, purpose in chunk:
                    state = states.get(subject)
                    # Checked again under the lock: a sale since the read re-established it.
                    if state is None or not lapsed(
                        state.decision.consents.get((brand, purpose, CUSTOMER_CHANNEL)),
                        periods[purpose],
                        when,
                    ):
                        continue
                    notice = self.lapsing[purpose].opt_out_notice
                    digest = notice_hash(notice)
                    keep_notice(connection, digest, notice, now)
                    event = ConsentEvent(
                        brand,
                        purpose,
                        CUSTOMER_CHANNEL,
                        ConsentAction.EXPIRED,
                        self.lapsing[purpose].version,
                        now,
                    )
                    per_subject.setdefault(subject, []).append(
                        LedgerEntry(event, digest, ConsentMethod.EXPIRY.value, policy_version)
                    )
                    lapsed_count += 1
                ledger.record_many(
                    [(s, states[s], entries) for s, entries in per_subject.items()], now
                )
        return lapsed_count
