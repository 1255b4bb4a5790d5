"""A sponsored contest's entries passed to its sponsor, and read again (JSON or CSV).

Apart from ``charter.services.contests`` (the winners, published to everyone) because this is a
share with one third party under its own declaration, with its own marks and its own reading.

The policy ("Contests"): a third party sponsoring an event may require entrants' information "as
a condition for participation"; the touchpoint's ``contest.sponsor`` names it.

Passing entries (``transfer``): the entries not passed before, each with only the values of a
category the sponsor is declared to receive and collected for a purpose it is declared for; in
the same transaction a disclosure per person (recipient, purposes, the categories actually
passed) and a mark on each entry passed, so that the next call passes only new ones. A person
the sponsor's purpose may not use now (restricted, a child) is withheld and named in the answer
with the reason; their entries stay unpassed. The ledger's record is what tells the sponsor of a
later erasure or correction (Art. 19, ``charter.services.notices``).

A transfer is the entries one call marked passed; they share the transfer's id, a random UUID
kept on each mark.

Reading a transfer again (``read``), for the sponsor's staff who work in spreadsheets: the same
entries, their values read at the time of the reading, never more than the categories the
person's disclosure recorded nor than the sponsor is declared for now. The reading records no
second disclosure (the data was disclosed when the transfer was made) but is audited as a staff
read (``contest.sponsor_transfer_read``: the id, counts and the format, never values). An entrant
erased since (Art. 17) is gone from it: the erasure removes their entries and so the marks; a
transfer whose entrants were all erased is gone (``unknown_transfer``); one restricted since
(Art. 18) is withheld, named with the reason, until it is lifted. A value corrected since
(Art. 16) reads corrected. ``transfer_csv`` gives the CSV form: one column per field the sponsor
receives (its identities first, then the touchpoint's fields, in the manifest's order), one row
per entry (``charter.domain.spreadsheets``: RFC 4180, formula injection neutralised).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from charter.domain.categories import covered_by_any
from charter.domain.clock import Clock
from charter.domain.contests import Collected, for_sponsor, sponsor_purposes
from charter.domain.decisions import decide
from charter.domain.disclosures import DisclosureKind
from charter.domain.errors import Conflict, InvalidInput, NotFound
from charter.domain.spreadsheets import csv_text
from charter.manifest.models import (
    IDENTITY_CATEGORIES,
    IdentityKind,
    Manifest,
    Recipient,
    RecipientKind,
    Touchpoint,
)
from charter.services.contests import contest_of, identity_lookups, require_offered
from charter.services.disclosures import DisclosureService
from charter.services.rules import compile_rules
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.ledger import Ledger
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import contest_transfers, disclosures, personal_values, submissions

SPONSOR_KINDS = {
    RecipientKind.THIRD_PARTY: DisclosureKind.THIRD_PARTY_SHARE,
    RecipientKind.AFFILIATE: DisclosureKind.AFFILIATE_SHARE,
}
"""Who may sponsor a contest, and the kind of disclosure passing entries to it is."""


@dataclass(frozen=True, slots=True)
class PassedEntry:
    entry: str
    """The entry's id (its submission)."""
    subject_id: str
    received_at: dt.datetime
    identities: dict[str, list[str]]
    data: dict[str, Any]
    disclosure_id: str | None


@dataclass(frozen=True, slots=True)
class Withheld:
    entry: str
    subject_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class TransferView:
    id: str | None
    """None when nothing was passed: there is no transfer to read again."""
    touchpoint: str
    brand: str
    recipient: str
    recipient_name: str
    purposes: list[str]
    passed_at: dt.datetime
    entries: list[PassedEntry]
    withheld: list[Withheld]
    disclosures: int
    columns: list[str]
    """The fields the sponsor receives, in the manifest's order: the CSV's header."""


def transfer_csv(view: TransferView) -> tuple[str, bytes]:
    """A transfer as a CSV file for the sponsor's staff: its file name and its UTF-8 bytes; one
    row per entry, a column per field the sponsor receives (see the module docstring)."""
    rows = []
    for entry in view.entries:
        values = {k: "; ".join(v) for k, v in entry.identities.items()} | entry.data
        rows.append([values.get(column) for column in view.columns])
    stamp = view.passed_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{view.touchpoint}-{view.brand}-{stamp}.csv"
    return name, csv_text(view.columns, rows).encode("utf-8")


@dataclass(frozen=True, slots=True)
class _Shaped:
    """One person's entries as the sponsor receives them."""

    identities: dict[str, list[str]]
    entries: list[tuple[Any, dict[str, Any]]]
    categories: set[str]


class SponsorTransferService:
    def __init__(
        self, manifest: Manifest, store: Store, clock: Clock, disclosures: DisclosureService
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.disclosures = disclosures
        self.rules = compile_rules(manifest)

    def transfer(self, touchpoint_key: str, brand: str, actor: str) -> TransferView:
        """Pass the entries not passed before to the contest's sponsor (see the module
        docstring); all or nothing."""
        touchpoint, rules = contest_of(self.manifest, touchpoint_key)
        require_offered(self.manifest, touchpoint_key, touchpoint, brand)
        key = rules.sponsor
        if key is None:
            raise InvalidInput(
                f"touchpoint '{touchpoint_key}': its contest rules name no sponsor",
                code="no_sponsor",
            )
        sponsor, purposes = self._sponsor(touchpoint_key, touchpoint, key)
        now = self.clock()
        made = str(uuid.uuid4())
        passed: list[PassedEntry] = []
        withheld: list[Withheld] = []
        recorded = 0
        try:
            with self.store.write() as connection:
                repo = SubjectRepository(connection, self.store.vault)
                ledger = Ledger(connection)
                pending = connection.execute(
                    select(submissions.c.id, submissions.c.subject_id, submissions.c.received_at)
                    .where(
                        submissions.c.touchpoint == touchpoint_key,
                        submissions.c.brand == brand,
                        submissions.c.id.not_in(select(contest_transfers.c.submission_id)),
                    )
                    .order_by(submissions.c.received_at, submissions.c.id)
                ).all()
                marks: list[dict[str, Any]] = []
                for subject_id, entries in _by_person(pending).items():
                    refused = self._refusal(ledger, subject_id, purposes, brand)
                    if refused is not None:
                        withheld.extend(Withheld(e.id, subject_id, refused) for e in entries)
                        continue
                    shaped = self._shape(
                        connection, repo, subject_id, entries, touchpoint, sponsor, purposes
                    )
                    disclosure_id = None
                    if shaped.categories:
                        disclosure_id = self.disclosures.record_about(
                            connection,
                            kind=SPONSOR_KINDS[sponsor.kind],
                            recipient=key,
                            brand=brand,
                            subject_id=subject_id,
                            lookups=identity_lookups(connection, subject_id),
                            categories=sorted(shaped.categories),
                            purposes=purposes,
                            note=f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} of "
                            f"'{touchpoint_key}' passed to the sponsor, as the contest rules "
                            "make it a condition of taking part.",
                            actor=actor,
                            now=now,
                        )
                        recorded += 1
                    passed.extend(_passed(subject_id, shaped, disclosure_id))
                    marks.extend(
                        {
                            "submission_id": entry.id,
                            "touchpoint": touchpoint_key,
                            "brand": brand,
                            "recipient": key,
                            "disclosure_id": disclosure_id,
                            "passed_at": now,
                            "transfer_id": made,
                        }
                        for entry, _ in shaped.entries
                    )
                if marks:
                    connection.execute(insert(contest_transfers), marks)
                append_audit(
                    connection,
                    at=now,
                    actor=actor,
                    action="contest.sponsor_transfer",
                    target=touchpoint_key,
                    details={
                        "brand": brand,
                        "recipient": key,
                        "entries": len(marks),
                        "people": recorded,
                        "withheld": len(withheld),
                        "transfer": made if marks else None,
                    },
                )
        except IntegrityError:
            # Another transfer of the same contest marked some of these entries first.
            raise Conflict(
                "another transfer of this contest's entries ran at the same time; nothing was "
                "passed by this one: ask again for the entries still new",
                code="transfer_in_progress",
            ) from None
        return TransferView(
            id=made if passed else None,
            touchpoint=touchpoint_key,
            brand=brand,
            recipient=key,
            recipient_name=sponsor.name,
            purposes=purposes,
            passed_at=now,
            entries=passed,
            withheld=withheld,
            disclosures=recorded,
            columns=self._columns(touchpoint, sponsor, purposes),
        )

    def read(
        self, touchpoint_key: str, transfer: str, actor: str, *, as_csv: bool = False
    ) -> TransferView:
        """A transfer made before, read again with its entrants' current values (see the module
        docstring); audited as a staff read, no disclosure recorded. ``as_csv`` only says, in
        the audit log, in which form it was read."""
        touchpoint, _ = contest_of(self.manifest, touchpoint_key)
        now = self.clock()
        with self.store.write() as connection:
            rows = connection.execute(
                select(
                    contest_transfers.c.brand,
                    contest_transfers.c.recipient,
                    contest_transfers.c.disclosure_id,
                    contest_transfers.c.passed_at,
                    submissions.c.id,
                    submissions.c.subject_id,
                    submissions.c.received_at,
                )
                .join(submissions, submissions.c.id == contest_transfers.c.submission_id)
                .where(
                    contest_transfers.c.touchpoint == touchpoint_key,
                    contest_transfers.c.transfer_id == transfer,
                )
                .order_by(submissions.c.received_at, submissions.c.id)
            ).all()
            if not rows:  # never made, or every entrant erased since
                raise _unknown(touchpoint_key, transfer)
            brand, stored_at = rows[0].brand, rows[0].passed_at
            key = rows[0].recipient
            sponsor, purposes = self._sponsor(touchpoint_key, touchpoint, key)
            recorded = {
                row.id: set(row.categories)
                for row in connection.execute(
                    select(disclosures.c.id, disclosures.c.categories).where(
                        disclosures.c.id.in_({r.disclosure_id for r in rows if r.disclosure_id})
                    )
                )
            }
            repo = SubjectRepository(connection, self.store.vault)
            ledger = Ledger(connection)
            passed: list[PassedEntry] = []
            withheld: list[Withheld] = []
            for subject_id, entries in _by_person(rows).items():
                # Restricted since (Art. 18): their values stay out of every reading too.
                refused = self._refusal(ledger, subject_id, purposes, brand)
                if refused is not None:
                    withheld.extend(Withheld(e.id, subject_id, refused) for e in entries)
                    continue
                disclosure_id = entries[0].disclosure_id
                # Entries merged into one person since may carry several disclosures.
                within = set().union(*(recorded.get(e.disclosure_id, set()) for e in entries))
                shaped = self._shape(
                    connection,
                    repo,
                    subject_id,
                    entries,
                    touchpoint,
                    sponsor,
                    purposes,
                    within=within,
                )
                passed.extend(_passed(subject_id, shaped, disclosure_id))
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="contest.sponsor_transfer_read",
                target=transfer,
                details={
                    "touchpoint": touchpoint_key,
                    "brand": brand,
                    "recipient": key,
                    "entries": len(passed),
                    "withheld": len(withheld),
                    "format": "csv" if as_csv else "json",
                },
            )
        disclosed = {e.disclosure_id for e in passed if e.disclosure_id is not None}
        return TransferView(
            id=transfer,
            touchpoint=touchpoint_key,
            brand=brand,
            recipient=key,
            recipient_name=sponsor.name,
            purposes=purposes,
            passed_at=utc(stored_at).astimezone(dt.UTC),
            entries=passed,
            withheld=withheld,
            disclosures=len(disclosed),
            columns=self._columns(touchpoint, sponsor, purposes),
        )

    # -- helpers ----------------------------------------------------------------------------------

    def _refusal(
        self, ledger: Ledger, subject_id: str, purposes: Sequence[str], brand: str
    ) -> str | None:
        """Why the sponsor's purposes may not use this person's data now (restricted, a
        child...), or None when they may."""
        state = ledger.load(subject_id).decision
        for purpose in purposes:
            decision = decide(self.rules[purpose], state, [], brand)
            if not decision.allowed:
                return decision.reason
        return None

    def _sponsor(
        self, touchpoint_key: str, touchpoint: Touchpoint, key: str
    ) -> tuple[Recipient, list[str]]:
        """The sponsor as the manifest declares it now, and the touchpoint's purposes it is
        declared for; 422 ``sponsor_not_declared`` when it may receive nothing."""
        sponsor = self.manifest.recipients.get(key)
        purposes = sponsor_purposes(touchpoint.purposes, sponsor.purposes if sponsor else ())
        if sponsor is None or sponsor.kind not in SPONSOR_KINDS or not purposes:
            raise InvalidInput(
                f"sponsor '{key}' is not a third-party or affiliate recipient declared for one "
                f"of the purposes of '{touchpoint_key}' ({', '.join(touchpoint.purposes)}); "
                "nothing was passed",
                code="sponsor_not_declared",
            )
        return sponsor, purposes

    def _serving(self, touchpoint: Touchpoint, category: str) -> tuple[str, ...]:
        """The touchpoint's purposes a value of ``category`` is collected for (as collection
        assigns them: those whose categories cover it)."""
        return tuple(
            p
            for p in touchpoint.purposes
            if covered_by_any(category, self.manifest.purposes[p].categories)
        )

    def _columns(
        self, touchpoint: Touchpoint, sponsor: Recipient, purposes: Sequence[str]
    ) -> list[str]:
        """The fields the sponsor receives, in the manifest's order: the identities the
        touchpoint collects, then its fields."""
        declared = [
            Collected(
                kind.value,
                IDENTITY_CATEGORIES[kind],
                self._serving(touchpoint, IDENTITY_CATEGORIES[kind]),
            )
            for kind in touchpoint.identities
        ] + [
            Collected(name, spec.category, self._serving(touchpoint, spec.category))
            for name, spec in touchpoint.fields.items()
        ]
        return [c.field for c in for_sponsor(declared, sponsor.categories, purposes)]

    def _identities_for(
        self,
        repo: SubjectRepository,
        subject_id: str,
        touchpoint: Touchpoint,
        categories: Sequence[str],
        purposes: Sequence[str],
    ) -> list[tuple[str, str, str]]:
        """The person's identities a sponsor receives, as (kind, category, value): of a kind
        the touchpoint collects (the entrant gave one there), collected for one of
        ``purposes`` and of a category the sponsor receives."""
        wanted = {kind.value for kind in touchpoint.identities}
        found = []
        for kind, value in repo.identities_of(subject_id):
            if kind not in wanted:
                continue
            category = IDENTITY_CATEGORIES[IdentityKind(kind)]
            collected = Collected(
                f"identities.{kind}", category, self._serving(touchpoint, category)
            )
            if for_sponsor([collected], categories, purposes):
                found.append((kind, category, value))
        return found

    def _shape(
        self,
        connection: Connection,
        repo: SubjectRepository,
        subject_id: str,
        entries: Sequence[Any],
        touchpoint: Touchpoint,
        sponsor: Recipient,
        purposes: Sequence[str],
        within: set[str] | None = None,
    ) -> _Shaped:
        """The person's identities and entries' values the sponsor receives; ``within``: only
        of these categories (those a transfer's disclosure recorded)."""

        def kept(category: str) -> bool:
            return within is None or category in within

        chosen_ids = [
            found
            for found in self._identities_for(
                repo, subject_id, touchpoint, sponsor.categories, purposes
            )
            if kept(found[1])
        ]
        values = _entry_values(connection, repo, [e.id for e in entries])
        categories = {c for _, c, _ in chosen_ids}
        shaped = []
        for entry in entries:
            collected = [
                Collected(v["field"], v["category"], tuple(v["purposes"]))
                for v in values.get(entry.id, [])
                if kept(v["category"])
            ]
            chosen = {c.field for c in for_sponsor(collected, sponsor.categories, purposes)}
            mine = [v for v in values.get(entry.id, []) if v["field"] in chosen]
            categories |= {v["category"] for v in mine}
            shaped.append((entry, {v["field"]: v["value"] for v in mine}))
        identities: dict[str, list[str]] = {}
        for kind, _, value in chosen_ids:
            identities.setdefault(kind, []).append(value)
        return _Shaped(identities, shaped, categories)


def _by_person(entries: Sequence[Any]) -> dict[str, list[Any]]:
    """Entries (rows with ``subject_id``) by person, in the order given."""
    people: dict[str, list[Any]] = {}
    for entry in entries:
        people.setdefault(entry.subject_id, []).append(entry)
    return people


def _passed(subject_id: str, shaped: _Shaped, disclosure_id: str | None) -> list[PassedEntry]:
    return [
        PassedEntry(
            entry=entry.id,
            subject_id=subject_id,
            received_at=utc(entry.received_at).astimezone(dt.UTC),
            identities=shaped.identities,
            data=data,
            disclosure_id=disclosure_id,
        )
        for entry, data in shaped.entries
    ]


def _unknown(touchpoint: str, transfer: str) -> NotFound:
    return NotFound(
        f"no transfer '{transfer}' of '{touchpoint}' (a transfer whose entrants were all erased "
        "since is gone)",
        code="unknown_transfer",
    )


def _entry_values(
    connection: Connection, repo: SubjectRepository, entries: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Every value of these entries, opened, by entry."""
    found: dict[str, list[dict[str, Any]]] = {}
    for row in connection.execute(
        select(personal_values)
        .where(personal_values.c.submission_id.in_(list(entries)))
        .order_by(personal_values.c.id)
    ):
        found.setdefault(row.submission_id, []).append(
            {
                "field": row.field,
                "category": row.category,
                "purposes": list(row.purposes),
                "value": repo.open_value(
                    row.subject_id, row.touchpoint, row.field, row.value_sealed
                ),
            }
        )
    return found
