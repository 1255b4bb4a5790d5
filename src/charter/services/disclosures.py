"""The disclosures ledger: every disclosure of personal data, recorded and checked against the
manifest (GDPR Art. 5(2) accountability, 13(1)(e) and 15(1)(c) recipients, 30(1)(d)).

- ``record``: a processor or affiliate share, a public posting, or an authority's request or
  court order received (``charter.domain.disclosures`` says what may be recorded; a share of
  categories or for purposes the recipient is not declared for is refused as
  ``undeclared_disclosure``). A disclosure is about one person (their identities, kept as keyed
  hashes, and the subject Charter knows them as) or about no one in particular (an aggregate).
- ``step``: an authority request or court order moves through its workflow, each step by staff
  with a note, the legal reference and documents (uploads sealed under the disclosure's own
  key, or references to where they are kept); a refusal states its reasons.
- Every change is a row of ``disclosure_events`` and an entry of the audit log in the same
  transaction (ids, kinds, statuses, counts: never identities, notes or documents).

Notes and documents are evidence the company must keep for as long as the disclosure may be
questioned (Art. 17(3)(b) and (e)): they are sealed under the disclosure's key, which an
erasure of the person does not destroy; the person's subject id is cleared by the erasure, and
the keyed hashes name no one to whoever reads the database.

What the person learns: their access report lists the disclosures made about them (recipient,
kind, date, categories, legal reference), except an authority's request marked confidential
(a gag order) while that confidentiality holds: Art. 23(1)(d) lets Union or Member State law
restrict the right of access to safeguard the prevention, investigation and prosecution of
criminal offences, and the order says it does. Recipients that received their data are told
of an erasure, correction or restriction (Art. 19), authorities aside: a public authority
receiving data for a particular inquiry is not a recipient (Art. 4(9)).

Apart from this service: the inputs and their checks (``charter.services.disclosure_inputs``),
the shapes staff read (``charter.services.disclosure_views``), the sealed notes and documents
(``charter.services.disclosure_evidence``), and a person's disclosures for their access report
and the Art. 19 notices (``charter.services.disclosure_report``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from charter.domain.clock import Clock
from charter.domain.disclosures import (
    COMPELLED,
    Declared,
    DisclosureKind,
    DisclosureStatus,
    StepInput,
    check_step,
    initial_status,
    undeclared,
)
from charter.domain.errors import InvalidInput, InvalidValue, NotFound
from charter.manifest.models import Manifest
from charter.services.brands import require_brand
from charter.services.disclosure_evidence import add_event, open_document, read_history
from charter.services.disclosure_inputs import (
    CLOCK_SKEW,
    DisclosureStep,
    NewDisclosure,
    aware,
    checked_documents,
    checked_keys,
    checked_text,
    disclosure_kind,
)
from charter.services.disclosure_views import DisclosureView, Download, disclosure_view
from charter.services.identify import hash_identities, locate
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.rows import row_by_id
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import (
    disclosure_identities,
    disclosures,
)
from charter.storage.vault import Vault


class DisclosureService:
    def __init__(self, manifest: Manifest, store: Store, clock: Clock) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock

    # -- recording ------------------------------------------------------------------------------

    def record(self, new: NewDisclosure, actor: str) -> DisclosureView:
        """Record a disclosure (see the module docstring); nothing is written if any of it is
        refused."""
        now = self.clock()
        kind = disclosure_kind(new.kind)
        categories = checked_keys(new.categories, "categories")
        purposes = checked_keys(new.purposes, "purposes")
        if not categories:
            raise InvalidValue("categories: name the categories of data disclosed")
        self._check_declared(kind, new.recipient, categories, purposes)
        if new.brand is not None:
            require_brand(self.manifest, new.brand)
        compelled = kind in COMPELLED
        authority = checked_text(new.authority, "authority", 200)
        if compelled and not authority:
            raise InvalidValue("authority: name the authority or court that asks")
        if not compelled and authority:
            raise InvalidValue("authority: only for an authority_request or a court_order")
        note = checked_text(new.note, "note", 4000)
        if compelled and not note:
            raise InvalidValue("note: say how the request arrived and what it asks")
        if not compelled and (new.confidential or new.confidential_until):
            raise InvalidValue("confidential: only an authority's request or order may be")
        if new.confidential_until is not None and not new.confidential:
            raise InvalidValue("confidential_until: goes with confidential: true")
        until = aware(new.confidential_until, "confidential_until")
        occurred = aware(new.occurred_at, "occurred_at") or now
        if occurred > now + CLOCK_SKEW:
            raise InvalidValue("occurred_at: lies in the future")
        legal_reference = checked_text(new.legal_reference, "legal_reference", 500)
        documents = checked_documents(new.documents)
        hashed = []
        if new.identities:
            region = self.manifest.policy.default_phone_region
            hashed = hash_identities(self.store.vault, new.identities, region)
        status = initial_status(kind)
        recipient = self.manifest.recipients[new.recipient]
        disclosure_id = str(uuid.uuid4())
        data_key = Vault.new_data_key()
        with self.store.write() as connection:
            # Located, never created: a disclosure about someone Charter holds nothing of
            # keeps their keyed hashes only.
            subject_id = None
            if hashed:
                subject_id = locate(SubjectRepository(connection, self.store.vault), hashed)
            connection.execute(
                insert(disclosures).values(
                    id=disclosure_id,
                    kind=kind.value,
                    recipient=new.recipient,
                    recipient_name=authority or recipient.name,
                    brand=new.brand,
                    subject_id=subject_id,
                    categories=categories,
                    scope=None,
                    purposes=purposes,
                    status=status.value,
                    legal_reference=legal_reference,
                    confidential=new.confidential,
                    confidential_until=until,
                    received_at=occurred,
                    decided_at=None,
                    disclosed_at=None if compelled else occurred,
                    recorded_at=now,
                    created_by=actor,
                    key_wrapped=self.store.vault.wrap(disclosure_id, data_key),
                )
            )
            lookups = sorted({f"{key.kind}:{key.lookup_hash.hex()}" for key, _ in hashed})
            if lookups:
                connection.execute(
                    insert(disclosure_identities),
                    [{"disclosure_id": disclosure_id, "lookup": x} for x in lookups],
                )
            add_event(
                connection,
                disclosure_id,
                data_key,
                now,
                "recorded",
                status,
                actor,
                note,
                None,
                documents,
            )
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="disclosure.recorded",
                target=disclosure_id,
                details={
                    "kind": kind.value,
                    "recipient": new.recipient,
                    "status": status.value,
                    "categories": categories,
                    "purposes": purposes,
                    "identities": len(lookups),
                    "subject_id": subject_id,
                    "documents": len(documents),
                    "confidential": new.confidential,
                },
            )
        return self.view(disclosure_id)

    def record_aggregate(
        self,
        connection: Connection,
        *,
        recipient: str,
        recipient_name: str,
        categories: Sequence[str],
        note: str,
        actor: str,
        now: dt.datetime,
    ) -> str:
        """Record an aggregate disclosure (a statistics release) inside the caller's
        transaction: about no one, so no identities and no subject; its id."""
        return self._record_disclosed(
            connection,
            kind=DisclosureKind.AGGREGATE,
            recipient=recipient,
            recipient_name=recipient_name,
            brand=None,
            subject_id=None,
            lookups=(),
            categories=list(categories),
            purposes=[],
            note=note,
            actor=actor,
            now=now,
        )

    def record_about(
        self,
        connection: Connection,
        *,
        kind: DisclosureKind,
        recipient: str,
        brand: str,
        subject_id: str,
        lookups: Sequence[str],
        categories: Sequence[str],
        purposes: Sequence[str],
        note: str,
        actor: str,
        now: dt.datetime,
    ) -> str:
        """Record a share or a posting about one person made by a use case of Charter's own (a
        contest's winners published, its entries passed to the sponsor) inside the caller's
        transaction, checked against the manifest as ``record`` checks it. ``lookups``: the
        keyed hashes (``kind:hex``) of the person's identities, which find the record after a
        merge or an erasure. Its id."""
        categories = list(dict.fromkeys(categories))
        purposes = list(dict.fromkeys(purposes))
        self._check_declared(kind, recipient, categories, purposes)
        return self._record_disclosed(
            connection,
            kind=kind,
            recipient=recipient,
            recipient_name=self.manifest.recipients[recipient].name,
            brand=brand,
            subject_id=subject_id,
            lookups=lookups,
            categories=categories,
            purposes=purposes,
            note=note,
            actor=actor,
            now=now,
        )

    def _record_disclosed(
        self,
        connection: Connection,
        *,
        kind: DisclosureKind,
        recipient: str,
        recipient_name: str,
        brand: str | None,
        subject_id: str | None,
        lookups: Sequence[str],
        categories: list[str],
        purposes: list[str],
        note: str,
        actor: str,
        now: dt.datetime,
    ) -> str:
        """A disclosure already made, recorded in the caller's transaction with its event and
        its audit entry; its id."""
        disclosure_id = str(uuid.uuid4())
        data_key = Vault.new_data_key()
        status = DisclosureStatus.DISCLOSED
        connection.execute(
            insert(disclosures).values(
                id=disclosure_id,
                kind=kind.value,
                recipient=recipient,
                recipient_name=recipient_name,
                brand=brand,
                subject_id=subject_id,
                categories=categories,
                scope=None,
                purposes=purposes,
                status=status.value,
                legal_reference=None,
                confidential=False,
                confidential_until=None,
                received_at=now,
                decided_at=None,
                disclosed_at=now,
                recorded_at=now,
                created_by=actor,
                key_wrapped=self.store.vault.wrap(disclosure_id, data_key),
            )
        )
        unique = sorted(set(lookups))
        if unique:
            connection.execute(
                insert(disclosure_identities),
                [{"disclosure_id": disclosure_id, "lookup": x} for x in unique],
            )
        add_event(
            connection, disclosure_id, data_key, now, "recorded", status, actor, note, None, ()
        )
        details: dict[str, Any] = {
            "kind": kind.value,
            "recipient": recipient,
            "status": status.value,
            "categories": categories,
            "identities": len(unique),
        }
        if subject_id is not None:
            details.update(purposes=purposes, subject_id=subject_id)
        append_audit(
            connection,
            at=now,
            actor=actor,
            action="disclosure.recorded",
            target=disclosure_id,
            details=details,
        )
        return disclosure_id

    def _check_declared(
        self, kind: DisclosureKind, key: str, categories: list[str], purposes: list[str]
    ) -> None:
        found = self.manifest.recipients.get(key)
        declared = (
            None
            if found is None
            else Declared(found.kind.value, tuple(found.categories), tuple(found.purposes))
        )
        problems = undeclared(
            kind,
            key,
            declared,
            categories,
            purposes,
            known_categories=self.manifest.data_categories,
            purpose_categories={k: p.categories for k, p in self.manifest.purposes.items()},
        )
        if problems:
            raise InvalidInput("; ".join(problems), code="undeclared_disclosure")

    # -- the workflow ---------------------------------------------------------------------------

    def step(self, disclosure_id: str, step: DisclosureStep, actor: str) -> DisclosureView:
        """Take one step of an authority request or court order (``to``), or add a note,
        documents, the legal reference or a change of confidentiality without moving it."""
        now = self.clock()
        note = checked_text(step.note, "note", 4000) or ""
        reasons = checked_text(step.reasons, "reasons", 4000) if step.reasons is not None else None
        legal_reference = checked_text(step.legal_reference, "legal_reference", 500)
        to = None
        if step.to is not None:
            try:
                to = DisclosureStatus(step.to)
            except ValueError:
                raise InvalidValue(
                    f"to: one of {', '.join(s.value for s in DisclosureStatus)}"
                ) from None
        scope = None if step.categories is None else checked_keys(step.categories, "categories")
        occurred = aware(step.occurred_at, "occurred_at") or now
        if occurred > now + CLOCK_SKEW:
            raise InvalidValue("occurred_at: lies in the future")
        until = aware(step.confidential_until, "confidential_until")
        documents = checked_documents(step.documents)
        with self.store.write() as connection:
            row = _row(connection, disclosure_id, for_update=True)
            kind = DisclosureKind(row.kind)
            current = DisclosureStatus(row.status)
            if step.occurred_at is not None and occurred < utc(row.received_at):
                raise InvalidValue("occurred_at: lies before the disclosure was received")
            moved = check_step(
                kind,
                current,
                StepInput(
                    note=note,
                    to=to,
                    reasons=reasons,
                    legal_reference=legal_reference,
                    scope=None if scope is None else tuple(scope),
                ),
                legal_reference=row.legal_reference,
                requested=row.categories,
            )
            values: dict[str, Any] = {"status": moved.value}
            if legal_reference:
                values["legal_reference"] = legal_reference
            if scope is not None:
                values["scope"] = scope
            if moved is not current and moved in (
                DisclosureStatus.SCOPE_DECIDED,
                DisclosureStatus.REFUSED,
            ):
                values["decided_at"] = occurred
            if moved is not current and moved is DisclosureStatus.DISCLOSED:
                values["disclosed_at"] = occurred
            confidential = bool(row.confidential)
            if step.confidential is not None or until is not None:
                if kind not in COMPELLED:
                    raise InvalidValue("confidential: only an authority's request or order may be")
                confidential = confidential if step.confidential is None else step.confidential
                if until is not None and not confidential:
                    raise InvalidValue("confidential_until: goes with confidential: true")
                values["confidential"] = confidential
                values["confidential_until"] = until if confidential else None
            connection.execute(
                update(disclosures).where(disclosures.c.id == disclosure_id).values(**values)
            )
            data_key = self.store.vault.unwrap(disclosure_id, bytes(row.key_wrapped))
            add_event(
                connection,
                disclosure_id,
                data_key,
                now,
                "moved" if moved is not current else "noted",
                moved,
                actor,
                note,
                reasons,
                documents,
            )
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="disclosure.step",
                target=disclosure_id,
                details={
                    "from": current.value,
                    "to": moved.value,
                    "documents": len(documents),
                    "legal_reference_given": bool(legal_reference),
                    "scope": scope,
                    "confidential": confidential,
                },
            )
        return self.view(disclosure_id)

    # -- reading --------------------------------------------------------------------------------

    def view(self, disclosure_id: str) -> DisclosureView:
        with self.store.read() as connection:
            row = _row(connection, disclosure_id)
            data_key = self.store.vault.unwrap(disclosure_id, bytes(row.key_wrapped))
            history = read_history(connection, data_key, disclosure_id)
            named = connection.scalar(
                select(func.count())
                .select_from(disclosure_identities)
                .where(disclosure_identities.c.disclosure_id == disclosure_id)
            )
        return disclosure_view(row, history, bool(named))

    def ledger(
        self,
        *,
        kind: str | None = None,
        status: str | None = None,
        recipient: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[DisclosureView]:
        """The ledger, newest first, filtered; without the histories (``view`` has them)."""
        query = select(disclosures).order_by(disclosures.c.received_at.desc(), disclosures.c.id)
        if kind is not None:
            query = query.where(disclosures.c.kind == disclosure_kind(kind).value)
        if status is not None:
            try:
                query = query.where(disclosures.c.status == DisclosureStatus(status).value)
            except ValueError:
                raise InvalidValue(
                    f"status: one of {', '.join(s.value for s in DisclosureStatus)}"
                ) from None
        if recipient is not None:
            # A key's form, not the manifest's keys: a recipient since removed keeps its record.
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", recipient):
                raise InvalidValue("recipient: a recipient key (a-z, 0-9, _)")
            query = query.where(disclosures.c.recipient == recipient)
        with self.store.read() as connection:
            rows = connection.execute(query.limit(limit).offset(offset)).all()
            named = set(
                connection.scalars(
                    select(disclosure_identities.c.disclosure_id)
                    .where(disclosure_identities.c.disclosure_id.in_([r.id for r in rows]))
                    .distinct()
                )
            )
        return [disclosure_view(row, [], row.id in named) for row in rows]

    def counts_by_recipient(self) -> dict[str, int]:
        """How many disclosures each recipient received (those made, not those refused or
        still under review)."""
        with self.store.read() as connection:
            return {
                recipient: int(count)
                for recipient, count in connection.execute(
                    select(disclosures.c.recipient, func.count())
                    .where(disclosures.c.status == DisclosureStatus.DISCLOSED.value)
                    .group_by(disclosures.c.recipient)
                )
            }

    def document(self, disclosure_id: str, document_id: str, actor: str) -> Download:
        """The bytes of an uploaded document; the reading is audited."""
        now = self.clock()
        with self.store.write() as connection:
            row = _row(connection, disclosure_id)
            data_key = self.store.vault.unwrap(disclosure_id, bytes(row.key_wrapped))
            found = open_document(connection, data_key, disclosure_id, document_id)
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="disclosure.document_read",
                target=disclosure_id,
                details={"document": document_id, "size": len(found.content)},
            )
        return found


def _row(connection: Connection, disclosure_id: str, *, for_update: bool = False) -> Any:
    row = row_by_id(connection, disclosures, disclosure_id, for_update=for_update)
    if row is None:
        raise NotFound(f"no disclosure '{disclosure_id}'", code="unknown_disclosure")
    return row
