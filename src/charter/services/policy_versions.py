"""Published versions of the policy, their diffs, and the notices a material change owes.

Publishing records the manifest's full text, its SHA-256, ``policy.version`` and the date it
takes effect, with its changes from the version published before, classified by
``charter.domain.policy_diff``. A version string is published once: the same text again is a
no-op, another text under it is refused (raise ``policy.version``).

A material change must reach the people it concerns before it takes effect (GDPR Art. 13(3),
14(4); EDPB WP260 rev.01 paragraphs 29-33): the effective date is at least
``policy.notice_days`` after publishing, and each person holding data that a material change
concerns gets one e-mail listing those changes in plain words, the date, and links to the new
policy and to the diff. Where a change brings in a purpose resting on consent, the e-mail asks
for it with a signed link (``/policy/consent``); silence is no consent (Art. 4(11), 7).

Notices are queued through the outbox in batches of subjects, one transaction per batch that
also moves a cursor in the version's ``notices`` counts, so that a publication interrupted by a
crash resumes where it stopped when published again, and nobody is told twice. Each e-mail is in
the person's language (``charter.domain.languages``: their latest recorded one, else their
brands' default when they share one, else English); the changes' lines, derived from the
manifest, and its consent texts go as written. The version is
listed once every batch is queued; the audit event ``policy.published`` then records the counts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from charter.domain.clock import Clock
from charter.domain.errors import Conflict, InvalidInput, ManifestError, NotFound
from charter.domain.policy_diff import Audience, Change, Held
from charter.manifest.lint import lint
from charter.manifest.loader import parse_manifest
from charter.manifest.models import IDENTITY_CATEGORIES, Manifest, Purpose
from charter.services.consents import ConsentService
from charter.services.mail_language import content_language, recorded_languages, texts_for
from charter.services.mail_texts import MailTexts
from charter.services.outbox import Message, Outbox
from charter.services.policy_consent import SCOPE, PolicyConsent
from charter.services.policy_facts import compare, consent_text, facts_of
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.ledger import Ledger
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import (
    consent_events,
    identities,
    personal_values,
    policy_versions,
    subjects,
    submissions,
)

BATCH = 500
"""Subjects read per notice transaction: small enough to keep each transaction short."""


@dataclass(frozen=True)
class VersionView:
    version: str
    effective_on: dt.date
    published_at: dt.datetime
    published_by: str
    sha256: str
    material: bool
    changes: list[Change]
    notices: dict[str, Any]
    previous: str | None
    status: str
    """``in force``, ``upcoming`` (its date is still to come) or ``superseded``."""


@dataclass(frozen=True)
class Publication:
    version: str
    created: bool
    """``False`` when this very text was already published: nothing was done."""
    effective_on: dt.date
    previous: str | None
    changes: list[Change]
    notices: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Notice:
    manifest: Manifest
    version: str
    previous: str | None
    effective_on: dt.date


@dataclass
class _Held:
    pairs: set[Held] = field(default_factory=set)
    brands: set[str] = field(default_factory=set)


class PolicyVersionService:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        outbox: Outbox,
        consents: ConsentService,
        public_base_url: str,
        manifest_path: Path | None = None,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.outbox = outbox
        self.consent = PolicyConsent(self, consents)
        """The consent links the notices carry."""
        self.base_url = public_base_url.rstrip("/")
        self.manifest_path = manifest_path
        self._parsed: dict[str, Manifest] = {}

    # -- publishing ----------------------------------------------------------------------------

    def publish_running(self, *, effective: dt.date | None = None, actor: str) -> Publication:
        """Publish the manifest this process enforces, read back from its file: refused when
        the file changed since it was loaded (what is published must be what is enforced)."""
        if self.manifest_path is None:
            raise Conflict("this Charter was not loaded from a manifest file", code="no_manifest")
        loaded: Manifest | None = None
        try:
            text = self.manifest_path.read_text(encoding="utf-8")
            loaded, _ = parse_manifest(text, str(self.manifest_path))
        except (OSError, UnicodeDecodeError, ManifestError):
            pass  # gone or broken since: not what this process enforces either
        if loaded is None or loaded != self.manifest:
            raise Conflict(
                f"{self.manifest_path} has changed since the server loaded it: restart the "
                "server to enforce it, then publish; or publish the file with `charter policy "
                "publish`",
                code="manifest_changed",
            )
        return self.publish(text, effective=effective, actor=actor, source=str(self.manifest_path))

    def publish(
        self,
        text: str,
        *,
        effective: dt.date | None = None,
        actor: str,
        source: str = "charter.yaml",
    ) -> Publication:
        """Record ``text`` as a published version; queue the notices its material changes owe.

        Refused (``InvalidInput``) when the manifest is unsound, when its effective date is
        earlier than the previous version's, or, with a material change, sooner than
        ``policy.notice_days`` after today; refused (``Conflict``) when its version string is
        published with another text. The same text again: nothing is done (``created`` false),
        unless its notices were interrupted, which then resume.
        """
        manifest, _ = parse_manifest(text, source)
        problems = lint(manifest)
        if problems:
            raise InvalidInput(
                f"{source} is not sound ({len(problems)} problem(s); `charter policy check` "
                "lists them): " + "; ".join(p.message for p in problems[:3]),
                code="manifest_unsound",
            )
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        version = manifest.policy.version
        with self.store.read() as connection:
            existing = _row(connection, version)
            latest = connection.execute(
                select(policy_versions).order_by(policy_versions.c.id.desc()).limit(1)
            ).first()
        if existing is not None:
            if existing.manifest_sha256 != digest:
                raise Conflict(
                    f"version {version} is already published with different content (sha256 "
                    f"{existing.manifest_sha256[:12]}...); raise policy.version to publish a new "
                    "version",
                    code="version_exists",
                )
            if existing.notices.get("complete"):
                return self._publication(existing, created=False)
            return self._finish(existing, manifest)  # interrupted: resume the notices
        if latest is not None and not latest.notices.get("complete"):
            raise Conflict(
                f"the notices of version {latest.version} were interrupted: publish it again to "
                "finish them first",
                code="publication_interrupted",
            )
        now = self.clock()
        effective_on = effective or manifest.policy.effective_date
        previous = None if latest is None else self._manifest(latest)
        changes = [] if previous is None else compare(previous, manifest)
        material = [c for c in changes if c.material]
        if latest is not None and effective_on < utc(latest.effective_at).date():
            raise InvalidInput(
                f"version {version} cannot take effect on {effective_on} (before version "
                f"{latest.version}, effective {utc(latest.effective_at).date()})",
                code="effective_date_too_early",
            )
        earliest = now.date() + dt.timedelta(days=manifest.policy.notice_days)
        if material and effective_on < earliest:
            raise InvalidInput(
                f"version {version} has {len(material)} material change(s): people must be told "
                f"{manifest.policy.notice_days} days ahead (policy.notice_days), so it can take "
                f"effect on {earliest} at the earliest, not {effective_on}",
                code="notice_too_short",
            )
        notices = {"people": 0, "consent_asks": 0, "unreachable": 0, "through": None}
        meanwhile = Conflict(
            f"version {version} was published by someone else meanwhile", code="version_exists"
        )
        try:
            with self.store.write() as connection:
                if _row(connection, version) is not None:
                    raise meanwhile
                connection.execute(
                    insert(policy_versions).values(
                        version=version,
                        effective_at=dt.datetime.combine(effective_on, dt.time(), dt.UTC),
                        published_at=now,
                        published_by=actor,
                        manifest_sha256=digest,
                        manifest_text=text,
                        changes=[c.to_json() for c in changes],
                        material=bool(material),
                        notices={**notices, "complete": not material},
                    )
                )
                if not material:
                    self._audit(connection, version, notices, actor, now)
        except IntegrityError:  # PostgreSQL: a concurrent publisher committed first
            raise meanwhile from None
        self._parsed[digest] = manifest
        if not material:
            return Publication(
                version,
                True,
                effective_on,
                None if latest is None else latest.version,
                changes,
                {**notices, "complete": True},
            )
        with self.store.read() as connection:
            row = _row(connection, version)
        assert row is not None
        return self._finish(row, manifest)

    def _finish(self, row: Row[Any], manifest: Manifest) -> Publication:
        """Queue the notices still owed, batch after batch from the cursor, then list the
        version. Each batch reads the cursor in its own (write) transaction, locked, so that two
        processes finishing one publication share the batches rather than both sending them."""
        changes = [Change.from_json(c) for c in row.changes]
        audience = Audience(changes, facts_of(manifest))
        previous = self._previous(row)
        effective_on = utc(row.effective_at).date()
        where = policy_versions.c.id == row.id
        while True:
            with self.store.write() as connection:
                locked = select(policy_versions.c.notices).where(where)
                if connection.dialect.name == "postgresql":
                    locked = locked.with_for_update()
                counts = dict(connection.scalar(locked) or {})
                if counts.get("complete"):
                    break
                query = select(subjects.c.id).order_by(subjects.c.id).limit(BATCH)
                if counts["through"] is not None:
                    query = query.where(subjects.c.id > counts["through"])
                batch = list(connection.scalars(query))
                if batch:
                    notice = _Notice(manifest, row.version, previous, effective_on)
                    self._notify(connection, batch, audience, notice, counts)
                    counts["through"] = batch[-1]
                else:
                    counts["complete"] = True
                    self._audit(connection, row.version, counts, row.published_by, self.clock())
                connection.execute(update(policy_versions).where(where).values(notices=counts))
        self.outbox.deliver()
        return Publication(row.version, True, effective_on, previous, changes, counts)

    def _notify(
        self,
        connection: Connection,
        batch: Sequence[str],
        audience: Audience,
        notice: _Notice,
        counts: dict[str, Any],
    ) -> None:
        """Queue one message to each person of ``batch`` whom a material change concerns; count
        those told, the consents asked and those with no e-mail address to tell."""
        manifest = notice.manifest
        held = _held(connection, batch, manifest)
        languages = recorded_languages(connection, list(batch))
        repo = SubjectRepository(connection, self.store.vault)
        states = Ledger(connection).load_many(list(batch))
        now = self.clock()
        for subject_id, found in held.items():
            concerning = audience.concerning(found.pairs)
            if not concerning:
                continue
            email = next((v for kind, v in repo.identities_of(subject_id) if kind == "email"), None)
            if email is None:
                counts["unreachable"] += 1
                continue
            state = states.get(subject_id)
            granted = (
                set()
                if state is None
                else {(b, p) for (b, p, _), r in state.decision.consents.items() if r.granted}
            )
            asks = []
            for purpose in dict.fromkeys(
                c.consent_purpose for c in concerning if c.consent_purpose
            ):
                # Ask for each brand the person dealt with, unless they already agreed there.
                brands = sorted(
                    b for b in found.brands if b in manifest.brands and (b, purpose) not in granted
                )
                if purpose is not None and brands:
                    token = self.store.vault.sign(
                        SCOPE, notice.version, subject_id, purpose, *brands
                    )
                    url = f"{self.base_url}/policy/consent?token={quote(token, safe='')}"
                    asks.append((manifest.purposes[purpose], url))
            # Their brands' default language, when those brands agree on one.
            theirs = sorted(found.brands & set(manifest.brands))
            agreed = len({manifest.brands[b].default_language for b in theirs}) == 1
            t = texts_for(
                manifest,
                None,
                brand=theirs[0] if agreed else None,
                recorded=languages.get(subject_id),
            )
            self.outbox.enqueue(
                connection,
                Message(
                    to=str(email),
                    subject=t("policy.subject", date=t.date(notice.effective_on)),
                    body=self._body(t, notice, concerning, asks),
                    kind="policy_notice",
                    sender=manifest.policy.controller.email,
                    headers=content_language(t),
                ),
                now,
            )
            counts["people"] += 1
            counts["consent_asks"] += len(asks)

    def _body(
        self,
        t: MailTexts,
        notice: _Notice,
        changes: Sequence[Change],
        asks: Sequence[tuple[Purpose, str]],
    ) -> str:
        version = quote(notice.version, safe="")
        lines = [
            t("policy.hello"),
            "",
            t("policy.intro", version=notice.version, date=t.date(notice.effective_on)),
            "",
            *(f"- {change.text}" for change in changes),
            "",
            t("policy.new", link=f"{self.base_url}/policy/versions/{version}"),
        ]
        if notice.previous is not None:
            diff = f"from={quote(notice.previous, safe='')}&to={version}"
            lines.append(t("policy.every", link=f"{self.base_url}/policy/diff?{diff}"))
        for purpose, url in asks:
            lines += [
                "",
                t("policy.ask", purpose=purpose.name),
                f"  {consent_text(purpose)}",
                t("policy.agree", link=url),
                t("policy.silence"),
            ]
        lines += [
            "",
            t("policy.rights", link=f"{self.base_url}/privacy"),
            "",
            notice.manifest.policy.controller.name,
        ]
        return "\n".join(lines) + "\n"

    def _audit(
        self,
        connection: Connection,
        version: str,
        counts: dict[str, Any],
        actor: str,
        now: dt.datetime,
    ) -> None:
        append_audit(
            connection,
            at=now,
            actor=actor,
            action="policy.published",
            target=version,
            details={k: counts[k] for k in ("people", "consent_asks", "unreachable")},
        )

    # -- reading -------------------------------------------------------------------------------

    def versions(self) -> list[VersionView]:
        """Every version whose publication is complete, the latest first."""
        with self.store.read() as connection:
            listed = [c for c in policy_versions.c if c.name != "manifest_text"]  # the big one
            rows = connection.execute(select(*listed).order_by(policy_versions.c.id)).all()
        rows = [row for row in rows if row.notices.get("complete")]
        today = self.clock().date()
        in_force = max(
            (r for r in rows if utc(r.effective_at).date() <= today),
            key=lambda r: (utc(r.effective_at), r.id),
            default=None,
        )
        views = []
        for index, row in enumerate(rows):
            effective_on = utc(row.effective_at).date()
            status = (
                "upcoming"
                if effective_on > today
                else "in force"
                if in_force is not None and row.id == in_force.id
                else "superseded"
            )
            views.append(_view(row, rows[index - 1].version if index else None, status))
        return views[::-1]

    def view(self, version: str) -> VersionView:
        for found in self.versions():
            if found.version == version:
                return found
        raise NotFound(f"no published policy version '{version}'", code="unknown_version")

    def manifest_of(self, version: str, *, listed: bool = True) -> tuple[Manifest, dt.date]:
        """The manifest of a published version, as published, and its effective date. With
        ``listed`` false, also a version whose notices are still being queued (their links
        may be opened meanwhile)."""
        with self.store.read() as connection:
            row = _row(connection, version)
        if row is None or (listed and not row.notices.get("complete")):
            raise NotFound(f"no published policy version '{version}'", code="unknown_version")
        return self._manifest(row), utc(row.effective_at).date()

    def diff(self, old: str, new: str) -> list[Change]:
        """The classified changes between two published versions."""
        return compare(self.manifest_of(old)[0], self.manifest_of(new)[0])

    def _manifest(self, row: Row[Any]) -> Manifest:
        cached = self._parsed.get(row.manifest_sha256)
        if cached is None:
            cached, _ = parse_manifest(row.manifest_text, f"policy version {row.version}")
            self._parsed[row.manifest_sha256] = cached
        return cached

    def _previous(self, row: Row[Any]) -> str | None:
        with self.store.read() as connection:
            return connection.scalar(
                select(policy_versions.c.version)
                .where(policy_versions.c.id < row.id)
                .order_by(policy_versions.c.id.desc())
                .limit(1)
            )

    def _publication(self, row: Row[Any], *, created: bool) -> Publication:
        return Publication(
            row.version,
            created,
            utc(row.effective_at).date(),
            self._previous(row),
            [Change.from_json(c) for c in row.changes],
            dict(row.notices),
        )


def _row(connection: Connection, version: str) -> Row[Any] | None:
    return connection.execute(
        select(policy_versions).where(policy_versions.c.version == version)
    ).first()


def _view(row: Row[Any], previous: str | None, status: str) -> VersionView:
    return VersionView(
        version=row.version,
        effective_on=utc(row.effective_at).date(),
        published_at=utc(row.published_at),
        published_by=row.published_by,
        sha256=row.manifest_sha256,
        material=bool(row.material),
        changes=[Change.from_json(c) for c in row.changes],
        notices={k: v for k, v in row.notices.items() if k not in ("through", "complete")},
        previous=previous,
        status=status,
    )


def _held(connection: Connection, batch: Sequence[str], manifest: Manifest) -> dict[str, _Held]:
    """What each subject of ``batch`` holds: (category, form) of their values, their
    identities at each form they used (and without a form), and the brands they dealt with."""
    held: dict[str, _Held] = defaultdict(_Held)
    for value in connection.execute(
        select(
            personal_values.c.subject_id,
            personal_values.c.category,
            personal_values.c.touchpoint,
            personal_values.c.brand,
        ).where(personal_values.c.subject_id.in_(batch))
    ):
        held[value.subject_id].pairs.add((value.category, value.touchpoint))
        held[value.subject_id].brands.add(value.brand)
    used: dict[str, set[str]] = defaultdict(set)
    for submission in connection.execute(
        select(submissions.c.subject_id, submissions.c.touchpoint, submissions.c.brand).where(
            submissions.c.subject_id.in_(batch)
        )
    ):
        used[submission.subject_id].add(submission.touchpoint)
        held[submission.subject_id].brands.add(submission.brand)
    for event in connection.execute(
        select(consent_events.c.subject_id, consent_events.c.brand)
        .where(consent_events.c.subject_id.in_(batch))
        .distinct()
    ):
        held[event.subject_id].brands.add(event.brand)
    for identity in connection.execute(
        select(identities.c.subject_id, identities.c.kind).where(identities.c.subject_id.in_(batch))
    ):
        kind = next((k for k in IDENTITY_CATEGORIES if k.value == identity.kind), None)
        if kind is None:
            continue
        category = IDENTITY_CATEGORIES[kind]
        # Identities are kept per person, not per form: count one as given at each form the
        # person used that asks for that kind of identity.
        held[identity.subject_id].pairs.add((category, None))
        held[identity.subject_id].pairs.update(
            (category, tp)
            for tp in used[identity.subject_id]
            if tp in manifest.touchpoints and kind in manifest.touchpoints[tp].identities
        )
    return held
