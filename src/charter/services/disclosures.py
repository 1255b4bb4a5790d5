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
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from charter.domain.clock import Clock
from charter.domain.disclosures import (
    COMPELLED,
    Declared,
    DisclosureKind,
    DisclosureStatus,
    StepInput,
    check_step,
    confidential_now,
    initial_status,
    next_statuses,
    undeclared,
)
from charter.domain.errors import InvalidInput, InvalidValue, NotFound
from charter.manifest.models import Manifest, RecipientKind
from charter.services.brands import require_brand
from charter.services.identify import hash_identities, locate
from charter.services.package import Disclosure
from charter.services.values import printable
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.rows import row_by_id
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import (
    disclosure_documents,
    disclosure_events,
    disclosure_identities,
    disclosures,
    identities,
)
from charter.storage.vault import Vault

MAX_DOCUMENT_BYTES = 1024 * 1024
"""An upload's bound (the HTTP body limit, ``CHARTER_MAX_BODY_BYTES``, applies first)."""
MAX_DOCUMENTS = 10
"""Documents per step."""
CLOCK_SKEW = dt.timedelta(minutes=5)
"""How far in the future ``occurred_at`` may lie (a caller's clock running ahead)."""


@dataclass(frozen=True, slots=True)
class DocumentInput:
    """An upload (``content``) or a reference to where the document is kept; not both."""

    name: str
    content: bytes | None = None
    reference: str | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class NewDisclosure:
    kind: str
    recipient: str
    categories: Sequence[str]
    purposes: Sequence[str] = ()
    brand: str | None = None
    identities: Mapping[str, Any] | None = None
    occurred_at: dt.datetime | None = None
    """When the share was made, or when the request or order was received; now if omitted."""
    authority: str | None = None
    """The authority or court, for ``authority_request`` and ``court_order``."""
    legal_reference: str | None = None
    note: str | None = None
    documents: Sequence[DocumentInput] = ()
    confidential: bool = False
    confidential_until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class DisclosureStep:
    note: str
    to: str | None = None
    reasons: str | None = None
    legal_reference: str | None = None
    categories: Sequence[str] | None = None
    """The scope decided: the categories to disclose (with ``to="scope_decided"``)."""
    documents: Sequence[DocumentInput] = ()
    occurred_at: dt.datetime | None = None
    confidential: bool | None = None
    confidential_until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class DocumentView:
    id: str
    name: str
    size: int
    content_type: str | None
    reference: str | None
    sha256: str | None
    added_at: dt.datetime

    @property
    def uploaded(self) -> bool:
        return self.reference is None


@dataclass(frozen=True, slots=True)
class EventView:
    at: dt.datetime
    kind: str
    status: str
    actor: str
    note: str | None
    reasons: str | None
    documents: list[DocumentView]


@dataclass(frozen=True, slots=True)
class DisclosureView:
    id: str
    kind: str
    recipient: str
    recipient_name: str
    brand: str | None
    about_a_person: bool
    """Identities were named (the person may since have been erased)."""
    subject_id: str | None
    categories: list[str]
    scope: list[str] | None
    purposes: list[str]
    status: str
    legal_reference: str | None
    confidential: bool
    confidential_until: dt.datetime | None
    received_at: dt.datetime
    decided_at: dt.datetime | None
    disclosed_at: dt.datetime | None
    recorded_at: dt.datetime
    created_by: str
    next: list[str]
    history: list[EventView] = field(default_factory=list)

    @property
    def documents(self) -> list[DocumentView]:
        return [d for event in self.history for d in event.documents]


@dataclass(frozen=True, slots=True)
class Download:
    name: str
    content: bytes


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
        kind = _kind(new.kind)
        categories = _keys(new.categories, "categories")
        purposes = _keys(new.purposes, "purposes")
        if not categories:
            raise InvalidValue("categories: name the categories of data disclosed")
        self._check_declared(kind, new.recipient, categories, purposes)
        if new.brand is not None:
            require_brand(self.manifest, new.brand)
        compelled = kind in COMPELLED
        authority = _text(new.authority, "authority", 200)
        if compelled and not authority:
            raise InvalidValue("authority: name the authority or court that asks")
        if not compelled and authority:
            raise InvalidValue("authority: only for an authority_request or a court_order")
        note = _text(new.note, "note", 4000)
        if compelled and not note:
            raise InvalidValue("note: say how the request arrived and what it asks")
        if not compelled and (new.confidential or new.confidential_until):
            raise InvalidValue("confidential: only an authority's request or order may be")
        if new.confidential_until is not None and not new.confidential:
            raise InvalidValue("confidential_until: goes with confidential: true")
        until = _aware(new.confidential_until, "confidential_until")
        occurred = _aware(new.occurred_at, "occurred_at") or now
        if occurred > now + CLOCK_SKEW:
            raise InvalidValue("occurred_at: lies in the future")
        legal_reference = _text(new.legal_reference, "legal_reference", 500)
        documents = _documents(new.documents)
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
            self._event(
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
        self._event(
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
        note = _text(step.note, "note", 4000) or ""
        reasons = _text(step.reasons, "reasons", 4000) if step.reasons is not None else None
        legal_reference = _text(step.legal_reference, "legal_reference", 500)
        to = None
        if step.to is not None:
            try:
                to = DisclosureStatus(step.to)
            except ValueError:
                raise InvalidValue(
                    f"to: one of {', '.join(s.value for s in DisclosureStatus)}"
                ) from None
        scope = None if step.categories is None else _keys(step.categories, "categories")
        occurred = _aware(step.occurred_at, "occurred_at") or now
        if occurred > now + CLOCK_SKEW:
            raise InvalidValue("occurred_at: lies in the future")
        until = _aware(step.confidential_until, "confidential_until")
        documents = _documents(step.documents)
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
            self._event(
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

    def _event(
        self,
        connection: Connection,
        disclosure_id: str,
        data_key: bytes,
        now: dt.datetime,
        kind: str,
        status: DisclosureStatus,
        actor: str,
        note: str | None,
        reasons: str | None,
        documents: Sequence[DocumentInput],
    ) -> None:
        sealed = None
        if note or reasons:
            sealed = Vault.seal(data_key, disclosure_id, "note", {"note": note, "reasons": reasons})
        event_id = connection.execute(
            insert(disclosure_events)
            .values(
                disclosure_id=disclosure_id,
                at=now,
                kind=kind,
                status=status.value,
                actor=actor,
                note_sealed=sealed,
            )
            .returning(disclosure_events.c.id)
        ).scalar_one()
        for position, document in enumerate(documents):
            document_id = str(uuid.uuid4())
            meta = {
                "name": document.name,
                "reference": document.reference,
                "content_type": document.content_type,
            }
            content = document.content
            connection.execute(
                insert(disclosure_documents).values(
                    id=document_id,
                    disclosure_id=disclosure_id,
                    event_id=event_id,
                    position=position,
                    added_at=now,
                    size=len(content) if content is not None else 0,
                    sha256=hashlib.sha256(content).hexdigest() if content is not None else None,
                    meta_sealed=Vault.seal(data_key, disclosure_id, f"meta:{document_id}", meta),
                    content_sealed=None
                    if content is None
                    else Vault.seal_bytes(data_key, disclosure_id, f"doc:{document_id}", content),
                )
            )

    # -- reading --------------------------------------------------------------------------------

    def view(self, disclosure_id: str) -> DisclosureView:
        with self.store.read() as connection:
            row = _row(connection, disclosure_id)
            data_key = self.store.vault.unwrap(disclosure_id, bytes(row.key_wrapped))
            documents: dict[int, list[DocumentView]] = {}
            for d in connection.execute(
                select(disclosure_documents)
                .where(disclosure_documents.c.disclosure_id == disclosure_id)
                .order_by(disclosure_documents.c.event_id, disclosure_documents.c.position)
            ):
                meta = Vault.open(data_key, disclosure_id, f"meta:{d.id}", bytes(d.meta_sealed))
                documents.setdefault(d.event_id, []).append(
                    DocumentView(
                        id=d.id,
                        name=meta["name"],
                        size=d.size,
                        content_type=meta.get("content_type"),
                        reference=meta.get("reference"),
                        sha256=d.sha256,
                        added_at=utc(d.added_at).astimezone(dt.UTC),
                    )
                )
            history = []
            for e in connection.execute(
                select(disclosure_events)
                .where(disclosure_events.c.disclosure_id == disclosure_id)
                .order_by(disclosure_events.c.id)
            ):
                text: dict[str, Any] = {}
                if e.note_sealed is not None:
                    text = Vault.open(data_key, disclosure_id, "note", bytes(e.note_sealed))
                history.append(
                    EventView(
                        at=utc(e.at).astimezone(dt.UTC),
                        kind=e.kind,
                        status=e.status,
                        actor=e.actor,
                        note=text.get("note"),
                        reasons=text.get("reasons"),
                        documents=documents.get(e.id, []),
                    )
                )
            named = connection.scalar(
                select(func.count())
                .select_from(disclosure_identities)
                .where(disclosure_identities.c.disclosure_id == disclosure_id)
            )
        return _view(row, history, bool(named))

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
            query = query.where(disclosures.c.kind == _kind(kind).value)
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
        return [_view(row, [], row.id in named) for row in rows]

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
            found = connection.execute(
                select(disclosure_documents).where(
                    disclosure_documents.c.id == document_id,
                    disclosure_documents.c.disclosure_id == disclosure_id,
                )
            ).first()
            if found is None:
                raise NotFound(f"no document '{document_id}' here", code="unknown_document")
            if found.content_sealed is None:
                raise NotFound(
                    "this document is a reference to where it is kept; it has no upload",
                    code="document_not_uploaded",
                )
            data_key = self.store.vault.unwrap(disclosure_id, bytes(row.key_wrapped))
            meta = Vault.open(
                data_key, disclosure_id, f"meta:{document_id}", bytes(found.meta_sealed)
            )
            content = Vault.open_bytes(
                data_key, disclosure_id, f"doc:{document_id}", bytes(found.content_sealed)
            )
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="disclosure.document_read",
                target=disclosure_id,
                details={"document": document_id, "size": len(content)},
            )
        return Download(str(meta["name"]), content)


# -- the person's disclosures: the access report (Art. 15) and the notices (Art. 19) -------------


def _about(
    connection: Connection, vault: Vault, subject_id: str | None, lookups: Iterable[str]
) -> list[Any]:
    """The disclosures made about a person: recorded with their subject, or naming one of
    their identities (``lookups``: keyed hashes ``kind:hex`` given in a request, to which the
    subject's own identities are added)."""
    wanted = set(lookups)
    current = None
    if subject_id is not None:
        current = SubjectRepository(connection, vault).resolve(subject_id)
    if current is not None:
        wanted |= {
            f"{row.kind}:{bytes(row.lookup_hash).hex()}"
            for row in connection.execute(
                select(identities.c.kind, identities.c.lookup_hash).where(
                    identities.c.subject_id == current
                )
            )
        }
    conditions = []
    if current is not None:
        conditions.append(disclosures.c.subject_id.in_({subject_id, current}))
    if wanted:
        conditions.append(
            disclosures.c.id.in_(
                select(disclosure_identities.c.disclosure_id).where(
                    disclosure_identities.c.lookup.in_(sorted(wanted))
                )
            )
        )
    if not conditions:
        return []
    return list(
        connection.execute(
            select(disclosures)
            .where(or_(*conditions), disclosures.c.status == DisclosureStatus.DISCLOSED.value)
            .order_by(disclosures.c.disclosed_at, disclosures.c.id)
        )
    )


def report_disclosures(
    manifest: Manifest,
    connection: Connection,
    vault: Vault,
    subject_id: str | None,
    lookups: Iterable[str],
    now: dt.datetime,
) -> list[Disclosure]:
    """The disclosures an access report lists: those made about the person, except those
    whose confidentiality holds at ``now`` (Art. 23(1)(d); see the module docstring)."""
    found = []
    for row in _about(connection, vault, subject_id, lookups):
        until = utc(row.confidential_until) if row.confidential_until else None
        if confidential_now(bool(row.confidential), until, now):
            continue
        kind = DisclosureKind(row.kind)
        if kind in COMPELLED:
            reason = "Required by law (GDPR Art. 6(1)(c))"
        else:
            reason = "; ".join(
                manifest.purposes[p].name if p in manifest.purposes else p for p in row.purposes
            )
        found.append(
            Disclosure(
                recipient=row.recipient,
                categories=tuple(row.scope if row.scope is not None else row.categories),
                at=utc(row.disclosed_at).astimezone(dt.UTC),
                reason=reason,
                kind=kind.value,
                recipient_name=row.recipient_name,
                legal_reference=row.legal_reference,
            )
        )
    return found


def recipients_disclosed_to(
    manifest: Manifest,
    connection: Connection,
    vault: Vault,
    subject_id: str | None,
    lookups: Iterable[str],
) -> list[str]:
    """The manifest recipients to which the person's data was disclosed and which are told of
    an erasure, correction or restriction (Art. 19): processors, affiliates and third parties;
    not the public (reached through the systems that publish) nor authorities (Art. 4(9))."""
    notified = {RecipientKind.PROCESSOR, RecipientKind.AFFILIATE, RecipientKind.THIRD_PARTY}
    keys = dict.fromkeys(row.recipient for row in _about(connection, vault, subject_id, lookups))
    return [
        key
        for key in keys
        if key in manifest.recipients and manifest.recipients[key].kind in notified
    ]


# -- helpers --------------------------------------------------------------------------------------


def _row(connection: Connection, disclosure_id: str, *, for_update: bool = False) -> Any:
    row = row_by_id(connection, disclosures, disclosure_id, for_update=for_update)
    if row is None:
        raise NotFound(f"no disclosure '{disclosure_id}'", code="unknown_disclosure")
    return row


def _at(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as aware UTC, whatever the database session's time zone."""
    return None if value is None else utc(value).astimezone(dt.UTC)


def _view(row: Any, history: list[EventView], named: bool) -> DisclosureView:
    kind = DisclosureKind(row.kind)
    return DisclosureView(
        id=row.id,
        kind=kind.value,
        recipient=row.recipient,
        recipient_name=row.recipient_name,
        brand=row.brand,
        about_a_person=named or row.subject_id is not None,
        subject_id=row.subject_id,
        categories=list(row.categories),
        scope=None if row.scope is None else list(row.scope),
        purposes=list(row.purposes),
        status=row.status,
        legal_reference=row.legal_reference,
        confidential=bool(row.confidential),
        confidential_until=_at(row.confidential_until),
        received_at=utc(row.received_at).astimezone(dt.UTC),
        decided_at=_at(row.decided_at),
        disclosed_at=_at(row.disclosed_at),
        recorded_at=utc(row.recorded_at).astimezone(dt.UTC),
        created_by=row.created_by,
        next=[s.value for s in next_statuses(kind, DisclosureStatus(row.status))],
        history=history,
    )


def _kind(value: str) -> DisclosureKind:
    try:
        return DisclosureKind(value)
    except ValueError:
        raise InvalidValue(f"kind: one of {', '.join(k.value for k in DisclosureKind)}") from None


def _keys(values: Iterable[str], where: str) -> list[str]:
    """Keys without repeats, in the order given."""
    found = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise InvalidValue(f"{where}: keys are non-empty strings")
        printable(value, where)
        found.append(value.strip())
    return list(dict.fromkeys(found))


def _text(value: str | None, where: str, limit: int) -> str | None:
    if value is None:
        return None
    text = printable(value, where).strip()
    if len(text) > limit:
        raise InvalidValue(f"{where}: at most {limit} characters")
    return text or None


def _aware(moment: dt.datetime | None, where: str) -> dt.datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidValue(f"{where}: give the time zone (for example 2026-06-01T09:30:00Z)")
    return moment.astimezone(dt.UTC)


def _documents(documents: Sequence[DocumentInput]) -> list[DocumentInput]:
    if len(documents) > MAX_DOCUMENTS:
        raise InvalidValue(f"documents: at most {MAX_DOCUMENTS} at a time")
    checked = []
    for i, document in enumerate(documents):
        where = f"documents[{i}]"
        name = _text(document.name, f"{where}.name", 200)
        if not name:
            raise InvalidValue(f"{where}.name: name the document")
        if (document.content is None) == (document.reference is None):
            raise InvalidValue(f"{where}: give either its content or a reference, not both")
        if document.content is not None and len(document.content) > MAX_DOCUMENT_BYTES:
            raise InvalidValue(f"{where}.content: at most {MAX_DOCUMENT_BYTES} bytes")
        if document.content is not None and not document.content:
            raise InvalidValue(f"{where}.content: the document is empty")
        reference = _text(document.reference, f"{where}.reference", 500)
        if document.reference is not None and not reference:
            raise InvalidValue(f"{where}.reference: say where the document is kept")
        content_type = _text(document.content_type, f"{where}.content_type", 100)
        checked.append(DocumentInput(name, document.content, reference, content_type))
    return checked
