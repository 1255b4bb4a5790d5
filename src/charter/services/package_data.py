"""What an access package is made from: the person's data as the rights-request runner gathers
it (``AccessData`` and the shapes it holds), before ``charter.services.package`` builds the zip.

Apart from the package's building because these shapes are filled by other use cases (the
disclosures ledger gives ``Disclosure``, the publication of fields ``PublicField``, the runner's
step ``own_data_fields``) that need not know how a package is laid out. Times are datetimes; a
naive one is taken to be UTC already (SQLite returns them so).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from charter.domain.preferences import (
    PreferenceKind,
    SubjectRecord,
    object_to,
    opt_out_of_sale,
    set_restricted,
    subscribe,
    unsubscribe,
    withdraw_objection,
)
from charter.domain.requests import RequestType

FREE_TEXT = "user.content"
"""The category of free text, whose values are redacted (Art. 15(4))."""


@dataclass(frozen=True, slots=True)
class OwnValue:
    """A value Charter collected at a touchpoint."""

    touchpoint: str
    field: str
    category: str
    value: Any
    collected_at: dt.datetime
    purposes: tuple[str, ...] = ()
    brand: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentEntry:
    brand: str
    purpose: str
    channel: str
    action: str
    at: dt.datetime
    method: str
    policy_version: str | None = None


@dataclass(frozen=True, slots=True)
class PreferenceEvent:
    kind: str
    at: dt.datetime
    brand: str | None = None
    purpose: str | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class Preferences:
    """Objections (purpose keys; ``MARKETING_OBJECTION`` for all direct marketing), restriction,
    unsubscribes (brand, channel) and the opt-out of sale, with the events that led there."""

    objections: tuple[str, ...] = ()
    restricted: bool = False
    unsubscribes: tuple[tuple[str, str], ...] = ()
    sale_opt_out: bool = False
    history: tuple[PreferenceEvent, ...] = ()

    @classmethod
    def from_events(cls, events: Iterable[PreferenceEvent]) -> Preferences:
        """The state after ``events``, oldest first, as the preference ledger folds them."""
        record, history = SubjectRecord(), tuple(events)
        for e in history:
            kind, brand, channel = e.kind, e.brand or "", e.channel or ""
            if kind == PreferenceKind.OBJECTION:
                record = object_to(record, e.purpose)
            elif kind == PreferenceKind.OBJECTION_WITHDRAWN:
                record = withdraw_objection(record, e.purpose)
            elif kind in {PreferenceKind.RESTRICTION, PreferenceKind.RESTRICTION_LIFTED}:
                record = set_restricted(record, kind == PreferenceKind.RESTRICTION)
            elif kind == PreferenceKind.UNSUBSCRIBE:
                record = unsubscribe(record, brand, channel)
            elif kind == PreferenceKind.SUBSCRIBE:
                record = subscribe(record, brand, channel)
            elif kind == PreferenceKind.SALE_OPT_OUT:
                record = opt_out_of_sale(record)
        return cls(
            objections=tuple(sorted(record.decision.objections)),
            restricted=record.decision.restricted,
            unsubscribes=tuple(sorted(record.unsubscribed)),
            sale_opt_out=record.sale_opt_out,
            history=history,
        )


@dataclass(frozen=True, slots=True)
class Disclosure:
    """A disclosure actually made (``charter.services.disclosures``): ``recipient`` is a
    manifest recipient key or a name; ``recipient_name`` the authority's or the recipient's
    name as recorded, ``kind`` the disclosure's kind (``processor_share``, ``court_order`` ...)."""

    recipient: str
    categories: tuple[str, ...]
    at: dt.datetime
    reason: str
    kind: str | None = None
    recipient_name: str | None = None
    legal_reference: str | None = None


@dataclass(frozen=True, slots=True)
class ExternalSource:
    """Data not collected from the person (Art. 14(2)(f)): a partner or a social platform.
    ``source`` is its name, ``agreement`` the one the data came under (none from a social
    platform), ``at`` when received; ``notice`` what became of the Art. 14 notice (``pending``,
    ``queued``, ``sent`` at ``notice_sent_at``, ``exempt`` on ``exemption`` for
    ``exemption_reason``, or ``undeliverable``), see ``charter.services.sources``."""

    source: str
    agreement: str | None
    at: dt.datetime
    partner: str | None = None
    touchpoint: str | None = None
    brand: str | None = None
    notice: str | None = None
    notice_due_at: dt.datetime | None = None
    notice_sent_at: dt.datetime | None = None
    exemption: str | None = None
    exemption_reason: str | None = None


@dataclass(frozen=True, slots=True)
class PriorNoticeSent:
    """A notice the person was sent before a field that needs it was collected from them
    (``charter.services.prior_notices``): its key and name, for which brand and touchpoint."""

    notice: str
    name: str
    brand: str
    touchpoint: str
    sent_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PublicField:
    """A field of the person's published at a touchpoint (``charter.services.publication``):
    ``shown`` is ``public`` (public by the touchpoint's nature, a post) or ``chosen`` (the person
    chose to show it, at ``chosen_at``; privacy by default, Art. 25(2))."""

    brand: str
    touchpoint: str
    field: str
    shown: str
    chosen_at: dt.datetime | None = None


Rows = Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class AccessData:
    """Everything a package holds. ``systems`` maps system key -> table -> rows; column
    categories come from the manifest, and ``column_categories`` (same nesting, column ->
    category) adds or overrides them for tables the manifest does not declare (webhooks).
    Values and columns of a category under one of ``redact_categories`` are free text."""

    request_id: str
    request_type: RequestType
    brand: str
    generated_at: dt.datetime
    identities: Mapping[str, Sequence[str]]
    values: Sequence[OwnValue] = ()
    consents: Sequence[ConsentEntry] = ()
    preferences: Preferences = field(default_factory=Preferences)
    systems: Mapping[str, Mapping[str, Rows]] = field(default_factory=dict)
    column_categories: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    disclosures: Sequence[Disclosure] = ()
    sources: Sequence[ExternalSource] = ()
    prior_notices: Sequence[PriorNoticeSent] = ()
    public_fields: Sequence[PublicField] = ()
    redact_categories: tuple[str, ...] = (FREE_TEXT,)
    language: str | None = None
    """The language of the request (its report is in it when Charter has texts for it)."""


def own_data_fields(collected: Mapping[str, Any]) -> dict[str, Any]:
    """``identities``, ``values``, ``consents`` and ``preferences`` for ``AccessData`` from the
    result of ``charter.services.own_data.OwnData.collect`` (lists of dicts, ISO times)."""
    identities: dict[str, list[str]] = {}
    for item in collected.get("identities", []):
        identities.setdefault(item["kind"], []).append(item["value"])
    events = [_load(PreferenceEvent, p) for p in collected.get("preferences", [])]
    return {
        "identities": identities,
        "values": [_load(OwnValue, v) for v in collected.get("values", [])],
        "consents": [_load(ConsentEntry, c) for c in collected.get("consents", [])],
        "preferences": Preferences.from_events(events),
        "sources": [
            ExternalSource(**_times(s, ("at", "notice_due_at", "notice_sent_at")))
            for s in collected.get("sources", [])
        ],
        "prior_notices": [
            PriorNoticeSent(**_times(n, ("sent_at",))) for n in collected.get("prior_notices", [])
        ],
    }


def _times(item: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """``item`` with its ISO times ``names`` read back as datetimes."""
    return {
        key: dt.datetime.fromisoformat(value) if key in names and isinstance(value, str) else value
        for key, value in item.items()
    }


_Loaded = TypeVar("_Loaded", OwnValue, ConsentEntry, PreferenceEvent)


def _load(cls: type[_Loaded], item: Mapping[str, Any]) -> _Loaded:
    kwargs = {f.name: item[f.name] for f in fields(cls) if f.name in item}
    for name in ("at", "collected_at"):
        if isinstance(kwargs.get(name), str):
            kwargs[name] = dt.datetime.fromisoformat(kwargs[name])
    if "purposes" in kwargs:
        kwargs["purposes"] = tuple(kwargs["purposes"] or ())
    return cls(**kwargs)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A moment in UTC; a naive one is taken to be UTC already (SQLite returns them so)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
