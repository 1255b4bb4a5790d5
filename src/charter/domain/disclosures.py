"""Disclosures of personal data: what may be disclosed to whom, and the workflow of compelled ones.

Every disclosure is of one kind, and goes to a recipient of the matching kind in the manifest:

    processor_share   -> processor   data passed to a service provider (GDPR Art. 28)
    affiliate_share   -> affiliate   data passed to a company of the group
    third_party_share -> third_party data passed to another controller (a contest's sponsor)
    public_posting    -> public      data made public (a forum post, a contest winner's name)
    authority_request -> authority   an official request of law enforcement or an authority
    court_order       -> authority   an order of a court of competent jurisdiction
    aggregate         -> any         anonymous statistics about no one (``charter.domain.release``)

A share or a posting is voluntary: it must be of categories the recipient is declared to receive,
for purposes the recipient is declared for, and each category must be one a named purpose may
use (purpose limitation, Art. 5(1)(b); the policy's recipients, Art. 13(1)(e)). Anything else is
refused as ``undeclared_disclosure``: the manifest is the promise, and this is where it is kept.

A compelled disclosure (an authority's request, a court order) rests on a legal obligation
(Art. 6(1)(c)); the reference policy says such orders "supersede the terms of this Privacy
Policy", so its categories are checked to exist, not to be declared for the recipient. It runs
as a workflow, each step taken by staff with a note:

    received --> legal_review --> scope_decided --> disclosed
                      |                 |
                      +-----------------+--> refused  (reasons required)

Nothing is disclosed before the request was reviewed and its scope decided (data minimisation,
Art. 5(1)(c): the scope may narrow what was asked, never widen it), and neither the scope nor
the disclosure is recorded without the legal reference it rests on (an order's number, a
statute). A refusal may follow the review or the scope decision, and states its reasons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from charter.domain.categories import covered_by_any, covers
from charter.domain.errors import InvalidInput, InvalidValue


class DisclosureKind(StrEnum):
    PROCESSOR_SHARE = "processor_share"
    AFFILIATE_SHARE = "affiliate_share"
    THIRD_PARTY_SHARE = "third_party_share"
    PUBLIC_POSTING = "public_posting"
    AUTHORITY_REQUEST = "authority_request"
    COURT_ORDER = "court_order"
    AGGREGATE = "aggregate"


class DisclosureStatus(StrEnum):
    RECEIVED = "received"
    LEGAL_REVIEW = "legal_review"
    SCOPE_DECIDED = "scope_decided"
    DISCLOSED = "disclosed"
    REFUSED = "refused"


COMPELLED = frozenset({DisclosureKind.AUTHORITY_REQUEST, DisclosureKind.COURT_ORDER})
"""Kinds that rest on a legal obligation and run as a workflow."""

RECIPIENT_KIND: dict[DisclosureKind, str] = {
    DisclosureKind.PROCESSOR_SHARE: "processor",
    DisclosureKind.AFFILIATE_SHARE: "affiliate",
    DisclosureKind.THIRD_PARTY_SHARE: "third_party",
    DisclosureKind.PUBLIC_POSTING: "public",
    DisclosureKind.AUTHORITY_REQUEST: "authority",
    DisclosureKind.COURT_ORDER: "authority",
}
"""The manifest recipient kind (``RecipientKind`` values) each disclosure kind goes to."""

TRANSITIONS: dict[DisclosureStatus, frozenset[DisclosureStatus]] = {
    DisclosureStatus.RECEIVED: frozenset({DisclosureStatus.LEGAL_REVIEW}),
    DisclosureStatus.LEGAL_REVIEW: frozenset(
        {DisclosureStatus.SCOPE_DECIDED, DisclosureStatus.REFUSED}
    ),
    DisclosureStatus.SCOPE_DECIDED: frozenset(
        {DisclosureStatus.DISCLOSED, DisclosureStatus.REFUSED}
    ),
    DisclosureStatus.DISCLOSED: frozenset(),
    DisclosureStatus.REFUSED: frozenset(),
}
FINAL = frozenset(s for s, following in TRANSITIONS.items() if not following)
NEEDS_LEGAL_REFERENCE = frozenset({DisclosureStatus.SCOPE_DECIDED, DisclosureStatus.DISCLOSED})


def initial_status(kind: DisclosureKind) -> DisclosureStatus:
    """A share is recorded once made; a compelled disclosure starts as a request received."""
    return DisclosureStatus.RECEIVED if kind in COMPELLED else DisclosureStatus.DISCLOSED


def next_statuses(kind: DisclosureKind, status: DisclosureStatus) -> list[DisclosureStatus]:
    """Where a disclosure may go from ``status``, in workflow order (none for a share)."""
    if kind not in COMPELLED:
        return []
    return [s for s in DisclosureStatus if s in TRANSITIONS[status]]


@dataclass(frozen=True, slots=True)
class Declared:
    """What the manifest says of a recipient: its kind, categories and purposes."""

    kind: str
    categories: tuple[str, ...]
    purposes: tuple[str, ...]


def undeclared(
    kind: DisclosureKind,
    recipient_key: str,
    recipient: Declared | None,
    categories: Sequence[str],
    purposes: Sequence[str],
    *,
    known_categories: Iterable[str],
    purpose_categories: Mapping[str, Sequence[str]],
) -> list[str]:
    """Every way a disclosure breaks the manifest (see the module docstring), each naming the
    field at fault; empty when it may be recorded. ``purpose_categories`` maps each declared
    purpose to the categories it may use; ``known_categories`` are the declared categories."""
    problems: list[str] = []
    if kind is DisclosureKind.AGGREGATE:
        # Only a statistics release, which applies the protections, records an aggregate.
        return ["kind: an aggregate is recorded by its statistics release (charter stats release)"]
    if recipient is None:
        return [f"recipient: '{recipient_key}' is not a recipient the manifest declares"]
    wanted = RECIPIENT_KIND[kind]
    if recipient.kind != wanted:
        problems.append(
            f"recipient: '{recipient_key}' is a {recipient.kind.replace('_', ' ')} recipient; "
            f"a {kind.value.replace('_', ' ')} goes to a {wanted} recipient"
        )
    known = tuple(known_categories)
    for category in categories:
        if not (covered_by_any(category, known) or any(covers(category, k) for k in known)):
            problems.append(f"categories: '{category}' is not a data category of the manifest")
    for purpose in purposes:
        if purpose not in purpose_categories:
            problems.append(f"purposes: '{purpose}' is not a purpose of the manifest")
    if kind in COMPELLED or problems:
        return problems
    if not purposes:
        problems.append("purposes: name the purposes the data is disclosed for")
    for purpose in purposes:
        if purpose not in recipient.purposes:
            problems.append(f"purposes: '{recipient_key}' is not declared for '{purpose}'")
    for category in categories:
        if not covered_by_any(category, recipient.categories):
            problems.append(
                f"categories: '{recipient_key}' is not declared to receive '{category}'"
            )
        elif purposes and not any(
            covered_by_any(category, purpose_categories[p]) for p in purposes
        ):
            problems.append(f"categories: none of the purposes named may use '{category}'")
    return problems


@dataclass(frozen=True, slots=True)
class StepInput:
    """One step staff take on a disclosure: a move (``to``) or, with none, a note that leaves
    the status as it is (a document added later, confidentiality lifted)."""

    note: str
    to: DisclosureStatus | None = None
    reasons: str | None = None
    legal_reference: str | None = None
    scope: tuple[str, ...] | None = None


def check_step(
    kind: DisclosureKind,
    status: DisclosureStatus,
    step: StepInput,
    *,
    legal_reference: str | None,
    requested: Sequence[str],
) -> DisclosureStatus:
    """The status after ``step``, or the refusal (``InvalidInput`` naming the field).

    ``legal_reference`` is the one on file (the step may give it); ``requested`` are the
    categories asked for, which a scope may narrow but not widen."""
    if not step.note.strip():
        raise InvalidValue("note: say what was done and why")
    if step.to is None:
        if step.reasons is not None or step.scope is not None:
            raise InvalidValue("to: reasons and a scope go with a move to refused or scope_decided")
        return status
    if kind not in COMPELLED:
        raise InvalidInput(
            f"a {kind.value.replace('_', ' ')} is recorded once made; it has no workflow",
            code="not_allowed_now",
        )
    if step.to not in TRANSITIONS[status]:
        following = ", ".join(s.value for s in next_statuses(kind, status)) or "none (it is closed)"
        raise InvalidInput(
            f"to: a disclosure {status.value} cannot move to {step.to.value}; next: {following}",
            code="not_allowed_now",
        )
    if step.to is DisclosureStatus.REFUSED:
        if not (step.reasons or "").strip():
            raise InvalidValue("reasons: a refusal states why the request is not complied with")
    elif step.reasons is not None:
        raise InvalidValue("reasons: only a refusal has reasons")
    reference = (step.legal_reference or legal_reference or "").strip()
    if step.to in NEEDS_LEGAL_REFERENCE and not reference:
        raise InvalidValue(
            "legal_reference: the order's number or the statute the disclosure rests on "
            "(GDPR Art. 6(1)(c))"
        )
    if step.scope is not None:
        if step.to is not DisclosureStatus.SCOPE_DECIDED:
            raise InvalidValue("categories: a scope is decided with the move to scope_decided")
        if not step.scope:
            raise InvalidValue("categories: the scope names at least one category")
        wider = [c for c in step.scope if not covered_by_any(c, requested)]
        if wider:
            raise InvalidValue(
                "categories: the scope may narrow what was asked, not widen it "
                f"({', '.join(wider)})"
            )
    return step.to


def confidential_now(confidential: bool, until: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a disclosure's confidentiality holds at ``now``: marked confidential (a gag
    order), and either with no end or before its end."""
    return confidential and (until is None or now < until)
