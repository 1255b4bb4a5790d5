"""Public content at forums, blogs and chats (policy: "Public Forums for User Materials").

- Privacy by default for profiles (GDPR Art. 25(2)): a person's choice to show a ``choice``
  field publicly is recorded, append-only, in ``visibility_choices`` (when, how, which field;
  not in the preference ledger, whose events feed decisions about purposes, while a choice is
  about one field of one touchpoint); ``public_profile`` serves the latest values of ``public``
  fields and of the ``choice`` fields the person made public, never a private field.
- A profile is a use of the person's data for the touchpoint's publication purposes (those a
  ``public`` recipient lists): when a decision for one of them refuses it (processing
  restricted under Art. 18, an objection under Art. 21, a child without a parent's consent),
  the profile is withheld (no fields) with the reason.
- Erasure (Art. 17(2)): the rights runner tells each republisher of the touchpoints the person
  published at (``notify_republisher``) and each republication staff recorded
  (``notify_recorded``), by e-mail through the outbox, before Charter's own erasure; a recorded
  republication is deleted once its notice is queued. A republisher is told what was published
  (the names the person posted under, the touchpoint), never the person's e-mail address, which
  it never had.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from charter.domain.categories import covered_by_any
from charter.domain.clock import Clock
from charter.domain.errors import InvalidInput, InvalidValue, NotFound
from charter.domain.publication import (
    PUBLIC,
    VisibilityChoice,
    check_choices,
    latest_choices,
    public_profile,
    shown_fields,
)
from charter.domain.requests import RequestType
from charter.manifest.models import Manifest, RecipientKind, Touchpoint
from charter.services.brands import require_brand
from charter.services.decisions import DecisionService
from charter.services.identify import hash_identities, locate
from charter.services.notices import Notifier
from charter.services.outbox import Message, Outbox
from charter.services.package_data import PublicField
from charter.services.values import normalise_email, printable
from charter.storage.audit import append_audit
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import (
    personal_values,
    republications,
    submissions,
    visibility_choices,
)
from charter.storage.vault import Vault

PUBLICATION = "publication"
"""The system name of the rights steps that tell republishers (Art. 17(2))."""
RECORDED = "republication:"
"""The target prefix of a step telling a recorded republication, before its id."""
METHODS = frozenset({"profile_settings", "signup_form", "api"})
_URL = re.compile(r"^https?://[^\s/?#]+\S*$")
_CONTENT = "user.content"


@dataclass(frozen=True, slots=True)
class ChoiceReceipt:
    subject_id: str
    fields: dict[str, str]
    chosen_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Profile:
    fields: dict[str, Any]
    withheld: str | None = None
    """Why nothing is served (a decision's reason), or ``None``."""


def declared_visibility(touchpoint: Touchpoint) -> dict[str, str]:
    return {name: spec.visibility.value for name, spec in touchpoint.fields.items()}


def publication_purposes(manifest: Manifest, touchpoint: Touchpoint) -> list[str]:
    """The touchpoint's purposes for which a ``public`` recipient receives its data."""
    public = [r for r in manifest.recipients.values() if r.kind is RecipientKind.PUBLIC]
    return [p for p in touchpoint.purposes if any(p in r.purposes for r in public)]


def published_touchpoints(manifest: Manifest, connection: Connection, subject_id: str) -> list[str]:
    """The touchpoints with a ``publication`` at which the subject submitted, manifest order."""
    found = set(
        connection.scalars(
            select(submissions.c.touchpoint).where(submissions.c.subject_id == subject_id)
        )
    )
    return [
        key
        for key, touchpoint in manifest.touchpoints.items()
        if touchpoint.publication is not None and key in found
    ]


def recorded_republications(connection: Connection, subject_id: str) -> list[str]:
    return list(
        connection.scalars(
            select(republications.c.id)
            .where(republications.c.subject_id == subject_id)
            .order_by(republications.c.recorded_at, republications.c.id)
        )
    )


class PublicationService:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        decisions: DecisionService,
        outbox: Outbox,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.decisions = decisions
        self.outbox = outbox
        self.notifier = Notifier(manifest, store, outbox)

    # -- the person's choices and profile ---------------------------------------------------------

    def choose(
        self,
        touchpoint_key: str,
        *,
        brand: str,
        identities: Mapping[str, Any],
        fields: Mapping[str, str],
        method: str = "profile_settings",
    ) -> ChoiceReceipt:
        """Record the person's choice for ``choice`` fields (``public`` or ``private``)."""
        touchpoint = self._touchpoint(touchpoint_key, brand)
        check_choices(declared_visibility(touchpoint), fields)
        if method not in METHODS:
            raise InvalidValue(f"'method': one of {', '.join(sorted(METHODS))}")
        now = self.clock()
        with self.store.write() as connection:
            subject_id = self._subject(connection, touchpoint, identities)
            connection.execute(
                insert(visibility_choices),
                [
                    {
                        "subject_id": subject_id,
                        "brand": brand,
                        "touchpoint": touchpoint_key,
                        "field": name,
                        "visibility": visibility,
                        "method": method,
                        "chosen_at": now,
                    }
                    for name, visibility in sorted(fields.items())
                ],
            )
        return ChoiceReceipt(subject_id, dict(sorted(fields.items())), now)

    def public_profile(
        self, touchpoint_key: str, *, brand: str, identities: Mapping[str, Any]
    ) -> Profile:
        """What the public may see of the person at this touchpoint (see the module doc)."""
        touchpoint = self._touchpoint(touchpoint_key, brand)
        with self.store.read() as connection:
            subject_id = self._subject(connection, touchpoint, identities)
        for purpose in publication_purposes(self.manifest, touchpoint):
            decision = self.decisions.decide(brand, purpose, (), subject_id=subject_id)
            if not decision.allowed:
                return Profile({}, decision.reason)
        with self.store.read() as connection:
            choices = self._choices(connection, subject_id, brand, touchpoint_key)
            values = [
                (v["field"], v["value"])
                for v in SubjectRepository(connection, self.store.vault).values_of(subject_id)
                if v["touchpoint"] == touchpoint_key and v["brand"] == brand
            ]
        return Profile(public_profile(declared_visibility(touchpoint), choices, values))

    def visibility_report(self, connection: Connection, subject_id: str) -> list[PublicField]:
        """For the access report: the fields of the person's values that are published, per
        brand and touchpoint, and when the person chose to publish a ``choice`` field."""
        held: dict[tuple[str, str], set[str]] = {}
        for row in connection.execute(
            select(personal_values.c.brand, personal_values.c.touchpoint, personal_values.c.field)
            .where(personal_values.c.subject_id == subject_id)
            .distinct()
        ):
            held.setdefault((row.brand, row.touchpoint), set()).add(row.field)
        report: list[PublicField] = []
        for (brand, key), fields in sorted(held.items()):
            touchpoint = self.manifest.touchpoints.get(key)
            if touchpoint is None:
                continue
            choices = self._choices(connection, subject_id, brand, key)
            latest = latest_choices(choices)
            for name, shown in shown_fields(declared_visibility(touchpoint), choices).items():
                if name in fields:
                    at = latest[name].at if shown != PUBLIC else None
                    report.append(PublicField(brand, key, name, shown, at))
        return report

    # -- republications -------------------------------------------------------------------------

    def record_republication(
        self,
        *,
        brand: str,
        identities: Mapping[str, Any],
        touchpoint: str,
        url: str,
        republisher_name: str,
        republisher_email: str,
        actor: str,
    ) -> str:
        """Record a copy of the person's post published elsewhere, to tell its republisher when
        the person is erased (Art. 17(2)). The person must have published at ``touchpoint``."""
        spec = self._touchpoint(touchpoint, brand)
        if spec.publication is None:
            raise InvalidInput(
                f"touchpoint '{touchpoint}' publishes nothing (no 'publication' in the manifest)",
                code="not_published",
            )
        printable(url, "url")
        if len(url) > 2000 or not _URL.match(url):
            raise InvalidValue("'url': an http:// or https:// address, at most 2000 characters")
        name = printable(republisher_name, "republisher.name").strip()
        if not name:
            raise InvalidValue("'republisher.name': give the republisher's name")
        address = normalise_email(republisher_email, "republisher.email")
        now = self.clock()
        with self.store.write() as connection:
            subject_id = self._subject(connection, spec, identities)
            if touchpoint not in published_touchpoints(self.manifest, connection, subject_id):
                raise InvalidInput(
                    f"the person has published nothing at touchpoint '{touchpoint}'",
                    code="not_published",
                )
            record_id = str(uuid.uuid4())
            data_key = Vault.new_data_key()
            connection.execute(
                insert(republications).values(
                    id=record_id,
                    subject_id=subject_id,
                    brand=brand,
                    touchpoint=touchpoint,
                    recorded_at=now,
                    recorded_by=actor,
                    key_wrapped=self.store.vault.wrap(record_id, data_key),
                    details_sealed=Vault.seal(
                        data_key,
                        record_id,
                        "republication",
                        {"url": url, "name": name, "email": address},
                    ),
                )
            )
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="republication.recorded",
                target=record_id,
                details={"subject_id": subject_id, "touchpoint": touchpoint},
            )
        return record_id

    # -- erasure: telling republishers (called by the rights runner) ------------------------------

    def published_names(
        self, connection: Connection, subject_id: str | None, touchpoints: Sequence[str]
    ) -> dict[str, list[str]]:
        """What the person was shown as at these touchpoints: the values of their ``public``
        fields outside ``user.content`` (the names posted under), field -> values."""
        if subject_id is None:
            return {}
        names: dict[str, set[str]] = {}
        for value in SubjectRepository(connection, self.store.vault).values_of(subject_id):
            touchpoint = self.manifest.touchpoints.get(value["touchpoint"])
            if touchpoint is None or value["touchpoint"] not in touchpoints:
                continue
            spec = touchpoint.fields.get(value["field"])
            if (
                spec is not None
                and spec.visibility.value == PUBLIC
                and not covered_by_any(spec.category, [_CONTENT])
            ):
                names.setdefault(value["field"], set()).add(str(value["value"]))
        return {field: sorted(found) for field, found in sorted(names.items())}

    def notify_republisher(
        self, recipient_key: str, request_id: str, subject_id: str | None, now: dt.datetime
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Tell a manifest republisher that the person's posts at its touchpoints are erased;
        the step's sealed result (what named the person, for the outbox to forget) and its
        summary."""
        touchpoints = [
            key
            for key, tp in self.manifest.touchpoints.items()
            if tp.publication is not None and recipient_key in tp.publication.republishers
        ]
        with self.store.read() as connection:
            names = self.published_names(connection, subject_id, touchpoints)
        where = ", ".join(self.manifest.touchpoints[t].name for t in touchpoints)
        about = (
            f"You copy what is published at our {where}. Please remove your copies of this "
            "person's posts and any link to them, and stop showing the names above with them."
        )
        summary = self.notifier.notify(
            recipient_key, request_id, RequestType.ERASURE, names, now, about=about
        )
        return {"identities": names}, summary

    def notify_recorded(
        self, record_id: str, request_id: str, now: dt.datetime
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """E-mail the republisher of a recorded republication, then delete the record (its only
        use was this notice); the step's sealed result and summary."""
        controller = self.manifest.policy.controller
        with self.store.write() as connection:
            row = connection.execute(
                select(republications).where(republications.c.id == record_id)
            ).first()
            if row is None:  # told and deleted by an earlier run of this step
                return {}, {"via": "email", "republication": record_id, "already_told": True}
            data_key = self.store.vault.unwrap(record_id, bytes(row.key_wrapped))
            found = Vault.open(data_key, record_id, "republication", bytes(row.details_sealed))
            touchpoint = self.manifest.touchpoints[row.touchpoint].name
            self.outbox.enqueue(
                connection,
                Message(
                    to=found["email"],
                    subject=f"Data subject request {request_id}: please remove a copy of a post",
                    body=(
                        f"To {found['name']},\n\n"
                        f"A person has asked us, {controller.name}, to erase their personal "
                        f"data (request {request_id}), which includes what they posted at our "
                        f"{touchpoint}. You republished it at:\n\n  {found['url']}\n\n"
                        "Please remove that copy and any link to it (GDPR Art. 17(2)), and "
                        f"confirm to {controller.email} when done, quoting the request id.\n"
                    ),
                    kind="recipient_notice",
                    sender=controller.email,
                    request_id=request_id,
                ),
                now,
            )
            connection.execute(delete(republications).where(republications.c.id == record_id))
        summary = {"via": "email", "republication": record_id, "republisher": found["name"]}
        return {"identities": {"url": [found["url"]]}}, summary

    # -- helpers --------------------------------------------------------------------------------

    def _touchpoint(self, key: str, brand: str) -> Touchpoint:
        touchpoint = self.manifest.touchpoints.get(key)
        if touchpoint is None:
            raise NotFound(f"no touchpoint '{key}' in the manifest", code="unknown_touchpoint")
        require_brand(self.manifest, brand)
        if brand not in self.manifest.touchpoint_brands(touchpoint):
            raise InvalidInput(
                f"touchpoint '{key}' is not offered by brand '{brand}'", code="brand_not_offered"
            )
        return touchpoint

    def _subject(
        self, connection: Connection, touchpoint: Touchpoint, identities: Mapping[str, Any]
    ) -> str:
        hashed = hash_identities(
            self.store.vault,
            identities,
            self.manifest.policy.default_phone_region,
            allowed=frozenset(kind.value for kind in touchpoint.identities),
        )
        subject_id = locate(SubjectRepository(connection, self.store.vault), hashed)
        if subject_id is None:
            raise NotFound("nobody is known by these identities", code="unknown_subject")
        return subject_id

    def _choices(
        self, connection: Connection, subject_id: str, brand: str, touchpoint: str
    ) -> list[VisibilityChoice]:
        return [
            VisibilityChoice(row.field, row.visibility, row.chosen_at, row.method)
            for row in connection.execute(
                select(visibility_choices)
                .where(
                    visibility_choices.c.subject_id == subject_id,
                    visibility_choices.c.brand == brand,
                    visibility_choices.c.touchpoint == touchpoint,
                )
                .order_by(visibility_choices.c.id)
            )
        ]
