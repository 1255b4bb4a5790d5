"""Contests and sponsored events: winner announcements.

The policy ("Contests"): winners' names are made public "as provided in the applicable rules",
and a third party sponsoring an event may require entrants' information "as a condition for
participation". The touchpoint's ``contest`` rules in the manifest say both; this module keeps
them (``charter.domain.contests`` holds the pure rules).

Announcing (``announce``): every winner must have entered (a submission at that touchpoint and
brand; else ``not_an_entrant``). Under the rules ``first_name_and_initial`` or ``full_name`` each
winner's name (and country, with ``winner_country``) is published: that is a disclosure to the
manifest's ``public`` recipient, recorded per winner (GDPR Art. 5(2), 15(1)(c): their access
report lists it), and refused for anyone the purpose may not use now (a child, since contests
exclude minors; a person who restricted processing, Art. 18: ``winner_not_publishable``). Under
``none`` the announcement names nobody and says how many winners were drawn: a count is about no
one, so it is published, and nothing is disclosed. The announcement keeps no name: it keeps the
winning entries, and the names are read from them each time it is shown, so a winner erased
since (Art. 17) reads "Name withdrawn" and a corrected name (Art. 16) reads corrected.

Passing entries to the sponsor is ``charter.services.sponsor_transfers``; the lookups both need
(``contest_of``, ``require_offered``, ``identity_lookups``) are here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from charter.domain.clock import Clock
from charter.domain.contests import (
    NONE,
    published_name,
    sponsor_purposes,
    unnamed_sentence,
    winner_line,
)
from charter.domain.decisions import decide
from charter.domain.disclosures import DisclosureKind
from charter.domain.errors import InvalidInput, InvalidValue, NotFound
from charter.manifest.countries import country_name
from charter.manifest.models import (
    ContestRules,
    Manifest,
    RecipientKind,
    Touchpoint,
)
from charter.services.brands import require_brand
from charter.services.disclosures import DisclosureService
from charter.services.identify import hash_identities, locate
from charter.services.rules import compile_rules
from charter.services.values import printable
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.ledger import Ledger
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import (
    contest_announcements,
    contest_winners,
    identities,
    personal_values,
    submissions,
)

MAX_WINNERS = 100


@dataclass(frozen=True, slots=True)
class WinnerInput:
    """A winner, named by their identities or by their subject id (one of the two)."""

    identities: Mapping[str, Any] | None = None
    subject_id: str | None = None


@dataclass(frozen=True, slots=True)
class WinnerView:
    line: str
    """What the announcement shows: "Ann L., Germany", or "Name withdrawn"."""
    name: str | None
    country: str | None
    withdrawn: bool


@dataclass(frozen=True, slots=True)
class AnnouncementView:
    id: str
    touchpoint: str
    contest: str
    brand: str
    brand_name: str
    title: str
    rules_url: str
    names_published: bool
    winner_count: int
    summary: str | None
    """Under the rule ``none``: how many winners were drawn, and that no name is published."""
    winners: list[WinnerView]
    created_at: dt.datetime


class ContestService:
    def __init__(
        self, manifest: Manifest, store: Store, clock: Clock, disclosures: DisclosureService
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.disclosures = disclosures
        self.rules = compile_rules(manifest)

    # -- winners ----------------------------------------------------------------------------------

    def announce(
        self,
        touchpoint_key: str,
        brand: str,
        title: str,
        winners: Sequence[WinnerInput],
        actor: str,
    ) -> AnnouncementView:
        """Publish a contest's winners as its rules say (see the module docstring); nothing is
        written if any winner is refused."""
        touchpoint, rules = contest_of(self.manifest, touchpoint_key)
        require_offered(self.manifest, touchpoint_key, touchpoint, brand)
        text = printable(title, "title").strip()
        if not text or len(text) > 200:
            raise InvalidValue("title: 1 to 200 characters")
        if not winners:
            raise InvalidValue("winners: name at least one winner")
        if len(winners) > MAX_WINNERS:
            raise InvalidValue(f"winners: at most {MAX_WINNERS}")
        named = rules.winners.value != NONE
        categories = self._published_categories(touchpoint, rules) if named else []
        public_key, public_purposes = (
            self._public(touchpoint_key, touchpoint) if named else ("", [])
        )
        for index, winner in enumerate(winners):
            if (winner.identities is None) == (winner.subject_id is None):
                raise InvalidValue(f"winners[{index}]: give identities or subject_id, not both")
        region = self.manifest.policy.default_phone_region
        hashed = [
            None
            if w.identities is None
            else hash_identities(self.store.vault, w.identities, region)
            for w in winners
        ]
        now = self.clock()
        announcement_id = str(uuid.uuid4())
        with self.store.write() as connection:
            repo = SubjectRepository(connection, self.store.vault)
            ledger = Ledger(connection)
            seen: dict[str, int] = {}
            rows = []
            for index, winner in enumerate(winners):
                found = hashed[index]
                subject_id = (
                    locate(repo, found)
                    if found is not None
                    else repo.resolve(str(winner.subject_id))
                )
                entry = (
                    None
                    if subject_id is None
                    else _entry(connection, subject_id, touchpoint_key, brand)
                )
                if subject_id is None or entry is None:
                    raise InvalidInput(
                        f"winners[{index}]: this person did not enter '{touchpoint_key}' at "
                        f"brand '{brand}'; only an entrant can win",
                        code="not_an_entrant",
                    )
                if subject_id in seen:
                    raise InvalidInput(
                        f"winners[{index}]: the same person as winners[{seen[subject_id]}]",
                        code="duplicate_winner",
                    )
                seen[subject_id] = index
                disclosure_id = None
                if named:
                    values = _values(connection, repo, entry, (rules.name_field,))
                    name = values.get(rules.name_field)
                    if not isinstance(name, str) or published_name(name, rules.winners) is None:
                        raise InvalidInput(
                            f"winners[{index}]: the entry has no '{rules.name_field}' to publish",
                            code="winner_name_missing",
                        )
                    for purpose in public_purposes:
                        decision = decide(
                            self.rules[purpose],
                            ledger.load(subject_id).decision,
                            categories,
                            brand,
                        )
                        if not decision.allowed:
                            raise InvalidInput(
                                f"winners[{index}]: their name may not be published now "
                                f"({purpose}: {decision.reason})",
                                code="winner_not_publishable",
                            )
                    disclosure_id = self.disclosures.record_about(
                        connection,
                        kind=DisclosureKind.PUBLIC_POSTING,
                        recipient=public_key,
                        brand=brand,
                        subject_id=subject_id,
                        lookups=identity_lookups(connection, subject_id),
                        categories=categories,
                        purposes=public_purposes,
                        note=f"Winner of '{text}' ({touchpoint_key}), announcement "
                        f"{announcement_id}, as the contest rules allow ({rules.winners.value}).",
                        actor=actor,
                        now=now,
                    )
                rows.append(
                    {
                        "announcement_id": announcement_id,
                        "position": index,
                        "submission_id": entry,
                        "disclosure_id": disclosure_id,
                    }
                )
            connection.execute(
                insert(contest_announcements).values(
                    id=announcement_id,
                    touchpoint=touchpoint_key,
                    brand=brand,
                    title=text,
                    winners_rule=rules.winners.value,
                    winner_country=rules.winner_country and rules.country_field is not None,
                    winner_count=len(rows),
                    created_at=now,
                    created_by=actor,
                )
            )
            connection.execute(insert(contest_winners), rows)
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="contest.announced",
                target=announcement_id,
                details={
                    "touchpoint": touchpoint_key,
                    "brand": brand,
                    "winners": len(rows),
                    "names_published": named,
                    "rule": rules.winners.value,
                },
            )
        return self.announcement(announcement_id)

    def announcement(self, announcement_id: str) -> AnnouncementView:
        """An announcement as the public reads it, the names rendered from the winners'
        current data."""
        with self.store.read() as connection:
            row = connection.execute(
                select(contest_announcements).where(contest_announcements.c.id == announcement_id)
            ).first()
            if row is None:
                raise NotFound(f"no announcement '{announcement_id}'", code="unknown_announcement")
            winners = []
            named = row.winners_rule != NONE
            touchpoint = self.manifest.touchpoints.get(row.touchpoint)
            rules = touchpoint.contest if touchpoint is not None else None
            if named:
                repo = SubjectRepository(connection, self.store.vault)
                for winner in connection.execute(
                    select(contest_winners.c.submission_id)
                    .where(contest_winners.c.announcement_id == announcement_id)
                    .order_by(contest_winners.c.position)
                ):
                    winners.append(self._winner(connection, repo, row, rules, winner.submission_id))
        brand = self.manifest.brands.get(row.brand)
        return AnnouncementView(
            id=row.id,
            touchpoint=row.touchpoint,
            contest=touchpoint.name if touchpoint is not None else row.touchpoint,
            brand=row.brand,
            brand_name=brand.name if brand is not None else row.brand,
            title=row.title,
            rules_url=rules.rules_url if rules is not None else "",
            names_published=named,
            winner_count=row.winner_count,
            summary=None if named else unnamed_sentence(row.winner_count),
            winners=winners,
            created_at=utc(row.created_at).astimezone(dt.UTC),
        )

    def _winner(
        self,
        connection: Connection,
        repo: SubjectRepository,
        row: Any,
        rules: ContestRules | None,
        entry: str | None,
    ) -> WinnerView:
        withdrawn = WinnerView(winner_line(None, None), None, None, True)
        if entry is None or rules is None:
            return withdrawn
        country_field = rules.country_field if row.winner_country else None
        values = _values(connection, repo, entry, (rules.name_field, country_field))
        full = values.get(rules.name_field)
        name = published_name(full, row.winners_rule) if isinstance(full, str) else None
        if name is None:
            return withdrawn
        code = values.get(country_field) if country_field else None
        country = country_name(code) if isinstance(code, str) else None
        return WinnerView(winner_line(name, country), name, country, False)

    def _published_categories(self, touchpoint: Touchpoint, rules: ContestRules) -> list[str]:
        fields = [rules.name_field]
        if rules.winner_country and rules.country_field is not None:
            fields.append(rules.country_field)
        missing = [f for f in fields if f not in touchpoint.fields]
        if missing:
            raise InvalidInput(
                f"the contest rules name fields the touchpoint does not collect: "
                f"{', '.join(missing)} (lint: contest_rules_resolve)",
                code="contest_rules_invalid",
            )
        return list(dict.fromkeys(touchpoint.fields[f].category for f in fields))

    def _public(self, key: str, touchpoint: Touchpoint) -> tuple[str, list[str]]:
        """The public recipient declared for one of the touchpoint's purposes, and those."""
        for recipient_key, recipient in self.manifest.recipients.items():
            if recipient.kind is RecipientKind.PUBLIC:
                purposes = sponsor_purposes(touchpoint.purposes, recipient.purposes)
                if purposes:
                    return recipient_key, purposes
        raise InvalidInput(
            f"no public recipient is declared for a purpose of '{key}': winners' names may not "
            "be published (lint: contest_rules_resolve)",
            code="undeclared_disclosure",
        )


def contest_of(manifest: Manifest, key: str) -> tuple[Touchpoint, ContestRules]:
    """The touchpoint ``key`` and its contest rules; 404 ``unknown_touchpoint``, 422
    ``not_a_contest``."""
    touchpoint = manifest.touchpoints.get(key)
    if touchpoint is None:
        raise NotFound(f"no touchpoint '{key}' in the manifest", code="unknown_touchpoint")
    if touchpoint.contest is None:
        raise InvalidInput(
            f"touchpoint '{key}' is not a contest (it has no contest rules)",
            code="not_a_contest",
        )
    return touchpoint, touchpoint.contest


def require_offered(manifest: Manifest, key: str, touchpoint: Touchpoint, brand: str) -> None:
    """The brand exists and offers the touchpoint; else 422 ``unknown_brand`` or
    ``brand_not_offered``."""
    require_brand(manifest, brand)
    if brand not in manifest.touchpoint_brands(touchpoint):
        raise InvalidInput(
            f"touchpoint '{key}' is not offered by brand '{brand}'", code="brand_not_offered"
        )


def _entry(connection: Connection, subject_id: str, touchpoint: str, brand: str) -> str | None:
    """The person's latest entry at the touchpoint and brand."""
    return connection.scalar(
        select(submissions.c.id)
        .where(
            submissions.c.subject_id == subject_id,
            submissions.c.touchpoint == touchpoint,
            submissions.c.brand == brand,
        )
        .order_by(submissions.c.received_at.desc(), submissions.c.id.desc())
        .limit(1)
    )


def _values(
    connection: Connection, repo: SubjectRepository, entry: str, fields: Sequence[str | None]
) -> dict[str, Any]:
    """Some fields of one entry, opened; none when the person was erased."""
    wanted = [f for f in fields if f is not None]
    found: dict[str, Any] = {}
    for row in connection.execute(
        select(personal_values)
        .where(personal_values.c.submission_id == entry, personal_values.c.field.in_(wanted))
        .order_by(personal_values.c.id)
    ):
        found[row.field] = repo.open_value(
            row.subject_id, row.touchpoint, row.field, row.value_sealed
        )
    return found


def identity_lookups(connection: Connection, subject_id: str) -> list[str]:
    """The keyed hashes of the person's identities (``kind:hex``), as the ledger keeps them."""
    return [
        f"{row.kind}:{bytes(row.lookup_hash).hex()}"
        for row in connection.execute(
            select(identities.c.kind, identities.c.lookup_hash).where(
                identities.c.subject_id == subject_id
            )
        )
    ]
