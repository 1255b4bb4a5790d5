"""Contests and sponsored events: winner announcements and the entries passed to a sponsor.

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

Passing entries to the sponsor (``transfer``): the entries not passed before, each with only
the values of a category the sponsor is declared to receive and collected for a purpose it is
declared for; in the same transaction a disclosure per person (recipient, purposes, the
categories actually passed) and a mark on each entry passed, so that the next call passes only
new ones. A person the sponsor's purpose may not use now (restricted, a child) is withheld and
named in the answer with the reason; their entries stay unpassed. The ledger's record is what
tells the sponsor of a later erasure or correction (Art. 19, ``charter.services.notices``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from charter.domain.categories import covered_by_any
from charter.domain.clock import Clock
from charter.domain.contests import (
    NONE,
    Collected,
    for_sponsor,
    published_name,
    sponsor_purposes,
    unnamed_sentence,
    winner_line,
)
from charter.domain.decisions import decide
from charter.domain.disclosures import DisclosureKind
from charter.domain.errors import Conflict, InvalidInput, InvalidValue, NotFound
from charter.manifest.countries import country_name
from charter.manifest.models import (
    IDENTITY_CATEGORIES,
    ContestRules,
    IdentityKind,
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
    contest_transfers,
    contest_winners,
    identities,
    personal_values,
    submissions,
)

MAX_WINNERS = 100
SPONSOR_KINDS = {
    RecipientKind.THIRD_PARTY: DisclosureKind.THIRD_PARTY_SHARE,
    RecipientKind.AFFILIATE: DisclosureKind.AFFILIATE_SHARE,
}
"""Who may sponsor a contest, and the kind of disclosure passing entries to it is."""


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
    touchpoint: str
    brand: str
    recipient: str
    recipient_name: str
    purposes: list[str]
    passed_at: dt.datetime
    entries: list[PassedEntry]
    withheld: list[Withheld]
    disclosures: int


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
        touchpoint, rules = self._contest(touchpoint_key)
        self._offered(touchpoint_key, touchpoint, brand)
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
                        lookups=_lookups(connection, subject_id),
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

    # -- the sponsor ------------------------------------------------------------------------------

    def transfer(self, touchpoint_key: str, brand: str, actor: str) -> TransferView:
        """Pass the entries not passed before to the contest's sponsor (see the module
        docstring); all or nothing."""
        touchpoint, rules = self._contest(touchpoint_key)
        self._offered(touchpoint_key, touchpoint, brand)
        key = rules.sponsor
        if key is None:
            raise InvalidInput(
                f"touchpoint '{touchpoint_key}': its contest rules name no sponsor",
                code="no_sponsor",
            )
        sponsor = self.manifest.recipients.get(key)
        purposes = sponsor_purposes(touchpoint.purposes, sponsor.purposes if sponsor else ())
        if sponsor is None or sponsor.kind not in SPONSOR_KINDS or not purposes:
            raise InvalidInput(
                f"sponsor '{key}' is not a third-party or affiliate recipient declared for one "
                f"of the purposes of '{touchpoint_key}' ({', '.join(touchpoint.purposes)}); "
                "nothing was passed",
                code="sponsor_not_declared",
            )
        now = self.clock()
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
                people: dict[str, list[Any]] = {}
                for entry in pending:
                    people.setdefault(entry.subject_id, []).append(entry)
                marks = []
                for subject_id, entries in people.items():
                    state = ledger.load(subject_id).decision
                    refused = [
                        d.reason
                        for p in purposes
                        if not (d := decide(self.rules[p], state, [], brand)).allowed
                    ]
                    if refused:
                        withheld.extend(Withheld(e.id, subject_id, refused[0]) for e in entries)
                        continue
                    chosen_ids = self._identities_for(
                        repo, subject_id, touchpoint, sponsor.categories, purposes
                    )
                    values = _entry_values(connection, repo, [e.id for e in entries])
                    person_categories = {c for _, c, _ in chosen_ids}
                    shaped = []
                    for entry in entries:
                        collected = [
                            Collected(v["field"], v["category"], tuple(v["purposes"]))
                            for v in values.get(entry.id, [])
                        ]
                        chosen = {
                            c.field for c in for_sponsor(collected, sponsor.categories, purposes)
                        }
                        data = {
                            v["field"]: v["value"]
                            for v in values.get(entry.id, [])
                            if v["field"] in chosen
                        }
                        person_categories |= {
                            v["category"] for v in values.get(entry.id, []) if v["field"] in chosen
                        }
                        shaped.append((entry, data))
                    disclosure_id = None
                    if person_categories:
                        disclosure_id = self.disclosures.record_about(
                            connection,
                            kind=SPONSOR_KINDS[sponsor.kind],
                            recipient=key,
                            brand=brand,
                            subject_id=subject_id,
                            lookups=_lookups(connection, subject_id),
                            categories=sorted(person_categories),
                            purposes=purposes,
                            note=f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} of "
                            f"'{touchpoint_key}' passed to the sponsor, as the contest rules "
                            "make it a condition of taking part.",
                            actor=actor,
                            now=now,
                        )
                        recorded += 1
                    idents: dict[str, list[str]] = {}
                    for kind, _, value in chosen_ids:
                        idents.setdefault(kind, []).append(value)
                    for entry, data in shaped:
                        passed.append(
                            PassedEntry(
                                entry=entry.id,
                                subject_id=subject_id,
                                received_at=utc(entry.received_at).astimezone(dt.UTC),
                                identities=idents,
                                data=data,
                                disclosure_id=disclosure_id,
                            )
                        )
                        marks.append(
                            {
                                "submission_id": entry.id,
                                "touchpoint": touchpoint_key,
                                "brand": brand,
                                "recipient": key,
                                "disclosure_id": disclosure_id,
                                "passed_at": now,
                            }
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
            touchpoint=touchpoint_key,
            brand=brand,
            recipient=key,
            recipient_name=sponsor.name,
            purposes=purposes,
            passed_at=now,
            entries=passed,
            withheld=withheld,
            disclosures=recorded,
        )

    # -- helpers ----------------------------------------------------------------------------------

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
        ``purposes`` (as collection assigns purposes: those whose categories cover it) and of
        a category the sponsor receives."""
        wanted = {kind.value for kind in touchpoint.identities}
        found = []
        for kind, value in repo.identities_of(subject_id):
            if kind not in wanted:
                continue
            category = IDENTITY_CATEGORIES[IdentityKind(kind)]
            serving = tuple(
                p
                for p in touchpoint.purposes
                if covered_by_any(category, self.manifest.purposes[p].categories)
            )
            collected = Collected(f"identities.{kind}", category, serving)
            if for_sponsor([collected], categories, purposes):
                found.append((kind, category, value))
        return found

    def _contest(self, key: str) -> tuple[Touchpoint, ContestRules]:
        touchpoint = self.manifest.touchpoints.get(key)
        if touchpoint is None:
            raise NotFound(f"no touchpoint '{key}' in the manifest", code="unknown_touchpoint")
        if touchpoint.contest is None:
            raise InvalidInput(
                f"touchpoint '{key}' is not a contest (it has no contest rules)",
                code="not_a_contest",
            )
        return touchpoint, touchpoint.contest

    def _offered(self, key: str, touchpoint: Touchpoint, brand: str) -> None:
        require_brand(self.manifest, brand)
        if brand not in self.manifest.touchpoint_brands(touchpoint):
            raise InvalidInput(
                f"touchpoint '{key}' is not offered by brand '{brand}'", code="brand_not_offered"
            )

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


def _lookups(connection: Connection, subject_id: str) -> list[str]:
    """The keyed hashes of the person's identities (``kind:hex``), as the ledger keeps them."""
    return [
        f"{row.kind}:{bytes(row.lookup_hash).hex()}"
        for row in connection.execute(
            select(identities.c.kind, identities.c.lookup_hash).where(
                identities.c.subject_id == subject_id
            )
        )
    ]
