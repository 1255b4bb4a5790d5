"""Collection at a touchpoint: only what the manifest declares, never a card number.

A submission is checked whole before anything is written (deny by default, GDPR Art. 5(1)(c)):
an undeclared identity or field, a value of the wrong type, a consent the touchpoint does not
offer, or a payment card number anywhere refuses the submission and leaves the store as it was.
The person is found by any identity already known; when the identities given belong to two
subjects, those are linked into one (the oldest survives and the others become aliases).

A child (a birth date or age given now, or a subject already known as one) is admitted only as
``charter.domain.children`` says: refused where a purpose excludes minors; where a purpose needs
a parent's consent the ledger does not hold, the submission keeps nothing and, given a
``parent`` contact, asks that parent (``charter.services.children``); sent again with the
confirmed ``parental_consent`` id, it is kept with the parent's consent in the ledger.

A submission at a touchpoint a ``soft_opt_in`` purpose names makes an adult an existing
customer of the brand, with the opt-outs taken on the form, in the same transaction
(``charter.services.soft_opt_in``; ePrivacy Directive Art. 13(2)).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from charter.domain.cards import refuse_card_data
from charter.domain.categories import covered_by_any
from charter.domain.children import (
    AGE,
    BIRTH_DATE,
    PurposeMinors,
    admit_child,
    age_on,
    birth_date_problem,
    is_child,
    parent_granted,
)
from charter.domain.clock import Clock
from charter.domain.consent import (
    ANY_CHANNEL,
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    notice_hash,
)
from charter.domain.decisions import SubjectState
from charter.domain.errors import InvalidInput, InvalidValue, NotFound, UndeclaredField
from charter.domain.notices_rules import SourceRef
from charter.domain.soft_opt_in import Offer
from charter.manifest.models import (
    IDENTITY_CATEGORIES,
    IdentityKind,
    LegalBasis,
    Manifest,
    Touchpoint,
)
from charter.services.brands import require_brand
from charter.services.children import AwaitingParent, ParentalConsentService, ParentContact
from charter.services.identify import (
    Hashed,
    find_or_create,
    hash_identities,
    locate,
    owners_of,
)
from charter.services.prior_notices import require_prior_notices
from charter.services.soft_opt_in import SoftOptInPlan, establish, plan_soft_opt_in, rules_of
from charter.services.sources import check_submission_source, record_source
from charter.services.values import printable, validate_field
from charter.storage.ledger import Ledger, LedgerEntry
from charter.storage.store import Store
from charter.storage.subjects import NewValue, SubjectRepository


@dataclass(frozen=True)
class ConsentInput:
    purpose: str
    notice: str


@dataclass(frozen=True)
class Submission:
    brand: str
    identities: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    consents: list[ConsentInput] = field(default_factory=list)
    parent: ParentContact | None = None
    """Whom to ask when the person is a child without the parent's consent needed here."""
    parental_consent: str | None = None
    """The id of a parent's confirmed consent, when sending a child's submission again."""
    source: SourceRef | None = None
    """Where data received at a partner or social media touchpoint came from (Art. 14)."""
    opt_outs: list[str] = field(default_factory=list)
    """Soft opt-in purposes the person opted out of at this collection (ePrivacy Art. 13(2))."""


@dataclass(frozen=True)
class StoredField:
    field: str
    category: str
    purposes: list[str]


@dataclass(frozen=True)
class SubmissionReceipt:
    subject_id: str
    submission_id: str
    stored: list[StoredField]
    consents: list[str]
    soft_opt_in: list[Offer] = field(default_factory=list)


@dataclass(frozen=True)
class _Checked:
    identities: Hashed
    values: list[NewValue]
    consents: list[tuple[ConsentInput, int]]
    stored: list[StoredField]
    minor: bool | None
    soft_opt_in: SoftOptInPlan = field(default_factory=SoftOptInPlan)


class CollectionService:
    def __init__(
        self, manifest: Manifest, store: Store, clock: Clock, parents: ParentalConsentService
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.parents = parents
        self._soft_opt_in = rules_of(manifest)

    def submit(
        self, touchpoint_key: str, submission: Submission
    ) -> SubmissionReceipt | AwaitingParent:
        touchpoint = self.manifest.touchpoints.get(touchpoint_key)
        if touchpoint is None:
            raise NotFound(
                f"no touchpoint '{touchpoint_key}' in the manifest", code="unknown_touchpoint"
            )
        checked = self._check(touchpoint_key, touchpoint, submission)
        try:
            result = self._write(touchpoint_key, touchpoint, submission, checked)
        except IntegrityError:
            # Another request created one of these identities at the same moment; now it exists,
            # so a second attempt links to it instead of colliding.
            result = self._write(touchpoint_key, touchpoint, submission, checked)
        if isinstance(result, AwaitingParent):
            self.parents.outbox.deliver()
        return result

    def _purposes_for(self, touchpoint: Touchpoint, category: str) -> list[str]:
        return [
            key
            for key in touchpoint.purposes
            if covered_by_any(category, self.manifest.purposes[key].categories)
        ]

    def _check(self, key: str, touchpoint: Touchpoint, submission: Submission) -> _Checked:
        refuse_card_data(
            {
                "identities": submission.identities,
                "data": submission.data,
                "consents": [c.notice for c in submission.consents],
            }
        )
        require_brand(self.manifest, submission.brand)
        if submission.brand not in self.manifest.touchpoint_brands(touchpoint):
            raise InvalidInput(
                f"touchpoint '{key}' is not offered by brand '{submission.brand}'",
                code="brand_not_offered",
            )
        check_submission_source(self.manifest, key, touchpoint, submission.source)
        region = self.manifest.policy.default_phone_region
        identities = hash_identities(
            self.store.vault,
            submission.identities,
            region,
            allowed=frozenset(kind.value for kind in touchpoint.identities),
        )
        stored = [
            StoredField(
                f"identities.{key.kind}",
                IDENTITY_CATEGORIES[IdentityKind(key.kind)],
                self._purposes_for(touchpoint, IDENTITY_CATEGORIES[IdentityKind(key.kind)]),
            )
            for key, _ in identities
        ]
        values: list[NewValue] = []
        for name, value in submission.data.items():
            spec = touchpoint.fields.get(name)
            if spec is None:
                raise UndeclaredField(
                    f"'data.{name}' is not a field touchpoint '{key}' declares; undeclared data is "
                    "never collected"
                )
            if value is None:
                continue
            canonical = validate_field(spec, value, f"data.{name}", region)
            purposes = self._purposes_for(touchpoint, spec.category)
            values.append(NewValue(name, spec.category, purposes, canonical))
            stored.append(StoredField(name, spec.category, purposes))
        given = {value.field for value in values}
        for name, spec in touchpoint.fields.items():
            if spec.required and name not in given:
                raise InvalidValue(
                    f"'data.{name}' is required at touchpoint '{key}'", code="missing_field"
                )
        consents: list[tuple[ConsentInput, int]] = []
        for index, consent in enumerate(submission.consents):
            if consent.purpose not in touchpoint.consent_purposes:
                raise InvalidInput(
                    f"consents[{index}]: touchpoint '{key}' does not ask consent for "
                    f"'{consent.purpose}'",
                    code="consent_not_offered",
                )
            if any(earlier.purpose == consent.purpose for earlier, _ in consents):
                raise InvalidInput(
                    f"consents[{index}]: '{consent.purpose}' is given twice",
                    code="duplicate_consent",
                )
            if not consent.notice.strip():
                raise InvalidValue(f"consents[{index}].notice: the text shown must be recorded")
            printable(consent.notice, f"consents[{index}].notice")
            consents.append((consent, self.manifest.purposes[consent.purpose].notice_version))
        planned = plan_soft_opt_in(self._soft_opt_in, key, touchpoint, submission.opt_outs)
        return _Checked(identities, values, consents, stored, self._minor(values), planned)

    def _minor(self, values: list[NewValue]) -> bool | None:
        """Whether a birth date or age collected here makes the person a child today (None:
        neither is collected)."""
        today = self.clock().date()
        child_age = self.manifest.policy.child_age
        for value in values:
            if value.category == BIRTH_DATE:
                try:
                    born = dt.date.fromisoformat(str(value.value))
                except ValueError:  # a manifest declaring it as text (lint: age_field_type)
                    raise InvalidValue(f"data.{value.field}: a birth date, YYYY-MM-DD") from None
                problem = birth_date_problem(born, today)
                if problem:
                    raise InvalidValue(f"data.{value.field}: {value.value} {problem}")
                return is_child(age_on(born, today), child_age)
            if value.category == AGE:
                if not isinstance(value.value, int) or not 0 <= value.value <= 130:
                    raise InvalidValue(f"data.{value.field}: an age in whole years, 0 to 130")
                return is_child(value.value, child_age)
        return None

    def _admit_child(
        self,
        connection: Connection,
        key: str,
        touchpoint: Touchpoint,
        submission: Submission,
        checked: _Checked,
        known: SubjectState | None,
        now: dt.datetime,
    ) -> list[LedgerEntry] | AwaitingParent:
        """A child's submission: refused, sent to a parent, or kept with the ledger entries of
        the parent's consent it uses (none when the ledger already holds what is needed)."""
        asked = [consent.purpose for consent, _ in checked.consents]
        granted = parent_granted(known.consents, submission.brand) if known else frozenset()
        admission = admit_child(self._minors_rules(touchpoint), asked, granted)
        if admission.excluded:
            raise InvalidInput(
                f"the person is under {self.manifest.policy.child_age}, and "
                f"{', '.join(admission.excluded)} takes no data of children; nothing was stored",
                code="child_not_allowed",
            )
        if not admission.parent_needed:
            return []
        if submission.parental_consent is not None:
            return self.parents.use(
                connection,
                submission.parental_consent,
                brand=submission.brand,
                touchpoint=key,
                needed=admission.parent_needed,
                consents_asked=asked,
                now=now,
            )
        if submission.parent is not None:
            consent_purposes = set(touchpoint.consent_purposes)
            return self.parents.ask(
                connection,
                brand=submission.brand,
                touchpoint=key,
                purposes=[p for p in admission.parent_needed if p not in consent_purposes],
                parent=submission.parent,
                now=now,
            )
        raise InvalidInput(
            f"the person is under {self.manifest.policy.child_age}: "
            f"{', '.join(admission.parent_needed)} need a parent's consent. Send the parent's "
            "e-mail as 'parent' to ask for it; nothing was stored",
            code="parental_consent_required",
        )

    def _minors_rules(self, touchpoint: Touchpoint) -> list[PurposeMinors]:
        return [
            PurposeMinors(
                key,
                # A soft opt-in is left out like an unticked consent: it never applies to a
                # child (``charter.services.soft_opt_in``), so it neither refuses nor asks.
                self.manifest.purposes[key].legal_basis
                in (LegalBasis.CONSENT, LegalBasis.SOFT_OPT_IN),
                self.manifest.purposes[key].minors.value,
            )
            for key in touchpoint.purposes
        ]

    def _write(
        self, key: str, touchpoint: Touchpoint, submission: Submission, checked: _Checked
    ) -> SubmissionReceipt | AwaitingParent:
        now = self.clock()
        policy = self.manifest.policy
        with self.store.write() as connection:
            repo = SubjectRepository(connection, self.store.vault)
            ledger = Ledger(connection)
            # One lookup of the identities serves the child check and the linking below.
            owners = owners_of(repo, checked.identities)
            known = locate(repo, checked.identities, owners)
            require_prior_notices(
                connection,
                self.manifest,
                key,
                touchpoint,
                submission.brand,
                set(owners.values()),
                [value.field for value in checked.values],
                now,
            )
            # A known person's state matters only when the submission does not show an adult.
            known_state = (
                ledger.load(known).decision
                if known is not None and checked.minor is not False
                else None
            )
            minor = checked.minor
            if minor is None and known_state is not None:
                minor = known_state.minor
            parent_entries: list[LedgerEntry] = []
            if minor:
                admitted = self._admit_child(
                    connection, key, touchpoint, submission, checked, known_state, now
                )
                if isinstance(admitted, AwaitingParent):
                    return admitted  # commits the parent's contact only
                parent_entries = admitted
            subject_id = find_or_create(repo, checked.identities, now, owners)
            submission_id = repo.record_submission(
                subject_id,
                brand=submission.brand,
                touchpoint=key,
                policy_version=policy.version,
                values=checked.values,
                now=now,
            )
            record_source(
                connection,
                self.manifest,
                key,
                subject_id=subject_id,
                submission_id=submission_id,
                brand=submission.brand,
                source=submission.source,
                now=now,
            )
            entries = []
            for consent, version in checked.consents:
                digest = notice_hash(consent.notice)
                repo.store_notice(digest, consent.notice, now)
                event = ConsentEvent(
                    submission.brand,
                    consent.purpose,
                    ANY_CHANNEL,
                    ConsentAction.GIVEN,
                    version,
                    now,
                )
                entries.append(
                    LedgerEntry(
                        event,
                        digest,
                        ConsentMethod.FORM_CHECKBOX.value,
                        policy.version,
                        touchpoint=key,
                        submission_id=submission_id,
                    )
                )
            if parent_entries:
                assert submission.parental_consent is not None  # set with parent_entries
                self.parents.attach(connection, submission.parental_consent, subject_id)
                parents = [replace(e, submission_id=submission_id) for e in parent_entries]
                entries = parents + entries
            record, _ = ledger.record_consents(subject_id, entries, now)
            if checked.minor is not None and checked.minor != record.decision.minor:
                record = replace(record, decision=replace(record.decision, minor=checked.minor))
                ledger.save(subject_id, record, now)
            offers = establish(
                connection,
                checked.soft_opt_in,
                subject_id=subject_id,
                brand=submission.brand,
                touchpoint=key,
                submission_id=submission_id,
                policy_version=policy.version,
                now=now,
                minor=bool(minor),
            )
        return SubmissionReceipt(
            subject_id=subject_id,
            submission_id=submission_id,
            stored=checked.stored,
            consents=[consent.purpose for consent, _ in checked.consents],
            soft_opt_in=offers,
        )
