"""The access package of a rights request: a copy of the person's data (GDPR Art. 15(3)) and, for
portability (Art. 20), the same copy in a structured, machine-readable format.

The package is a zip holding:

- ``data.json``: everything below in structured form, UTF-8, sorted keys, with a top-level
  ``schema`` and ``schema_version`` (the portability format);
- one CSV per source: ``charter/<section>.csv`` for Charter's own store (identities, values,
  consents, preferences) and ``<system>/<table>.csv`` for each external table;
- ``report.html``: one self-contained page in plain language with what Art. 15(1)-(2) requires:
  the data, purposes, categories, recipients and the disclosures actually made, retention, the
  source of data not collected from the person (Art. 14), transfers and their safeguards,
  automated decision-making, the rights and how to complain.

Everything said about purposes, recipients and retention comes from the manifest, filtered to
the categories of data actually held about the person. Free text (values and columns of a
``user.content`` category) is passed through ``charter.domain.redaction.redact`` so that other
people's e-mail addresses and telephone numbers are not disclosed (Art. 15(4)). A password (a
value of category ``user.authorization.credentials`` or of a ``password`` field, or a column of
that category) is never copied, not even as its hash: the package says that one is set and
when it last changed (``charter.domain.credentials``).

Times are ISO 8601 in UTC; a naive time is taken to be UTC already (SQLite returns them so).
The output is deterministic: the same input gives the same bytes.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
import uuid
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from typing import Any, TypeVar

from jinja2 import Environment, PackageLoader

from charter.domain.categories import covered_by_any, covers
from charter.domain.consent import CUSTOMER_CHANNEL
from charter.domain.credentials import (
    describe_password_state,
    is_credential,
    is_password_state,
    password_state,
)
from charter.domain.decisions import MARKETING_OBJECTION
from charter.domain.durations import parse_duration
from charter.domain.errors import InvalidValue, NotFound
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
from charter.domain.redaction import redact
from charter.domain.regions import in_region
from charter.domain.requests import RequestType
from charter.manifest.models import (
    IDENTITY_CATEGORIES,
    CountedFrom,
    IdentityKind,
    LegalBasis,
    Manifest,
    RetentionAction,
    Source,
    TransferMechanism,
)
from charter.manifest.render import BASIS_TEXT
from charter.services.credentials import conceal_values

SCHEMA = "charter.access-package"
SCHEMA_VERSION = 1
FREE_TEXT = "user.content"
REDACTION_REASON = (
    "E-mail addresses and telephone numbers of other people found in free text (messages, "
    "chats) were replaced by [redacted]: a copy of your data must not disclose other people's "
    "data (GDPR Art. 15(4)). Your own addresses and numbers were left in."
)
NO_AUTOMATED_DECISIONS = (
    "We make no decision about you based solely on automated processing, profiling included, "
    "that has legal effects on you or similarly significantly affects you (GDPR Art. 22)."
)


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


# --- plain values -------------------------------------------------------------------------------


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return _utc(moment).isoformat()


def _plain(value: Any) -> Any:
    """A JSON-ready value: times in UTC ISO 8601, bytes in base64, decimals as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=str)
    return str(value)


def _text(value: Any) -> str:
    """A plain value as one cell of text (CSV, report)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if is_password_state(value):
        return describe_password_state(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def duration_in_words(period: str) -> str:
    """``P3Y`` -> "3 years", ``P1Y6M`` -> "1 year and 6 months", ``PT30M`` -> "30 minutes"."""
    d = parse_duration(period)
    hours, rest = divmod(d.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    units = [
        (d.years, "year"),
        (d.months, "month"),
        (d.days, "day"),
        (hours, "hour"),
        (minutes, "minute"),
        (seconds, "second"),
    ]
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in units if n]
    if not parts:
        return "no time"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _when(moment: dt.datetime | str) -> dict[str, str]:
    moment = _utc(dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment)
    return {"iso": moment.isoformat(), "text": f"{moment.day} {moment:%B %Y, %H:%M} UTC"}


# --- the person's data --------------------------------------------------------------------------


@dataclass
class _Redactions:
    own: frozenset[str]
    prefixes: tuple[str, ...]
    by_source: dict[str, int] = field(default_factory=dict)

    def apply(self, source: str, category: str | None, value: Any) -> Any:
        """``value`` (plain) with every string in it redacted if ``category`` is free text."""
        if category is None or not covered_by_any(category, self.prefixes):
            return value
        return self._redact(source, value)

    def _redact(self, source: str, value: Any) -> Any:
        if isinstance(value, str):
            text, count = redact(value, self.own)
            if count:
                self.by_source[source] = self.by_source.get(source, 0) + count
            return text
        if isinstance(value, list):
            return [self._redact(source, item) for item in value]
        if isinstance(value, dict):
            return {key: self._redact(source, item) for key, item in value.items()}
        return value


def _columns(rows: Sequence[Mapping[str, Any]], declared: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(key for row in rows for key in row))
    return names or list(declared)


def _tables(manifest: Manifest, data: AccessData, redactions: _Redactions) -> list[dict[str, Any]]:
    """Each external table with its rows (plain, redacted) and column categories, in manifest
    order, then tables the manifest does not declare in name order."""
    order = {(s, t): i for i, (s, t) in enumerate(_declared_tables(manifest))}
    pairs = sorted(
        ((s, t) for s, tables in data.systems.items() for t in tables),
        key=lambda pair: (order.get(pair, len(order)), pair),
    )
    result = []
    for system_key, table_key in pairs:
        system = manifest.systems.get(system_key)
        table = system.tables.get(table_key) if system else None
        categories = {c: spec.category for c, spec in (table.columns if table else {}).items()}
        categories.update(data.column_categories.get(system_key, {}).get(table_key, {}))
        raw = data.systems[system_key][table_key]
        columns = _columns(raw, categories)
        source = f"{system_key}/{table_key}"
        rows = [
            {
                c: redactions.apply(source, categories.get(c), _cell(categories, c, row))
                for c in columns
            }
            for row in raw
        ]
        result.append(
            {
                "system": system_key,
                "system_name": system.name if system else system_key,
                "system_description": system.description if system else None,
                "table": table_key,
                "columns": columns,
                "categories": {c: categories.get(c) for c in columns},
                "rows": rows,
            }
        )
    return result


def _cell(categories: Mapping[str, str], column: str, row: Mapping[str, Any]) -> Any:
    """One value of an external row, plain; a password column (a hash, whatever the system
    keeps) says only that a password is set (``charter.domain.credentials``)."""
    value = row.get(column)
    category = categories.get(column)
    if category is not None and is_credential(category) and value not in (None, ""):
        return password_state(None)
    return _plain(value)


def _declared_tables(manifest: Manifest) -> list[tuple[str, str]]:
    return [(s, t) for s, system in manifest.systems.items() for t in system.tables]


def _held_categories(
    data: AccessData, values: list[dict[str, Any]], tables: list[dict[str, Any]]
) -> set[str]:
    held = {v["category"] for v in values}
    for kind, found in data.identities.items():
        identity = _identity_kind(kind)
        if found and identity is not None:
            held.add(IDENTITY_CATEGORIES[identity])
    for table in tables:
        for column, category in table["categories"].items():
            if category and any(row[column] not in (None, "") for row in table["rows"]):
                held.add(category)
    return held


# --- what the manifest says about it ------------------------------------------------------------


class _Describe:
    def __init__(self, manifest: Manifest, held: set[str]) -> None:
        self.m = manifest
        self.held = held

    def category(self, key: str) -> str:
        """The manifest's description of a category, or of its nearest declared ancestor."""
        parts = key.split(".")
        for end in range(len(parts), 0, -1):
            found = self.m.data_categories.get(".".join(parts[:end]))
            if found is not None:
                return found.description if end == len(parts) else f"{found.description} ({key})"
        return key

    def mine(self, categories: Iterable[str]) -> list[str]:
        """The person's categories that ``categories`` covers (or that cover one of them)."""
        listed = list(categories)
        return sorted(c for c in self.held if any(covers(p, c) or covers(c, p) for p in listed))

    def names(self, categories: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(self.category(c) for c in categories))

    def recipient(self, key: str) -> str:
        found = self.m.recipients.get(key)
        return found.name if found else key

    def purpose(self, key: str) -> str:
        if key == MARKETING_OBJECTION:
            return "All direct marketing"
        found = self.m.purposes.get(key)
        return found.name if found else key

    def touchpoint(self, key: str) -> str:
        found = self.m.touchpoints.get(key)
        return found.name if found else key

    def identity(self, kind: str) -> str:
        found = _identity_kind(kind)
        if found is None:
            return kind.replace("_", " ").capitalize()
        return self.category(IDENTITY_CATEGORIES[found])

    def brand(self, key: str | None) -> str:
        if key is None:
            return ""
        found = self.m.brands.get(key)
        return found.name if found else key


MECHANISM_TEXT = {
    TransferMechanism.ADEQUACY: "an adequacy decision of the European Commission (GDPR Art. 45)",
    TransferMechanism.SCC: "standard contractual clauses approved by the European Commission "
    "(GDPR Art. 46(2)(c))",
    TransferMechanism.BCR: "binding corporate rules (GDPR Art. 47)",
    TransferMechanism.DEROGATION: "a derogation for a specific situation (GDPR Art. 49)",
}
_KIND_TEXT = {
    "processor": "a service provider working on our instructions",
    "affiliate": "a company of our group",
    "public": "the public",
    "authority": "public authorities",
    "third_party": "another company, under its own privacy policy",
}
_SOURCE_TEXT = {
    Source.DIRECT: "from you",
    Source.AUTOMATIC: "automatically, while you used our websites, apps or products",
    Source.PARTNER: "from a partner",
    Source.SOCIAL_MEDIA: "from a social media platform",
}


def _purposes(d: _Describe, data: AccessData) -> list[dict[str, Any]]:
    named = {p for v in data.values for p in v.purposes} | {c.purpose for c in data.consents}
    result = []
    for key, p in d.m.purposes.items():
        mine = d.mine(p.categories)
        if not mine and key not in named:
            continue
        if p.legal_basis is LegalBasis.CONSENT:
            choice = "You can withdraw your consent at any time."
        elif p.direct_marketing and p.may_object:
            choice = "You can object at any time, and we then stop."
        elif p.may_object:
            choice = "You can object, on grounds relating to your situation."
        else:
            choice = ""
        result.append(
            {
                "key": key,
                "name": p.name,
                "description": p.description,
                "legal_basis": p.legal_basis.value,
                "basis_text": BASIS_TEXT[p.legal_basis],
                "legitimate_interest": p.legitimate_interest
                if p.legal_basis is LegalBasis.LEGITIMATE_INTEREST
                else None,
                "categories": mine,
                "category_names": d.names(mine),
                "choice": choice,
            }
        )
    return result


def _recipients(d: _Describe) -> list[dict[str, Any]]:
    home = d.m.policy.home_region
    result = []
    for key, r in d.m.recipients.items():
        mine = d.mine(r.categories)
        if not mine:
            continue
        outside = r.country is not None and not in_region(r.country, home)
        result.append(
            {
                "key": key,
                "name": r.name,
                "kind": r.kind.value,
                "kind_text": _KIND_TEXT.get(r.kind.value, r.kind.value.replace("_", " ")),
                "description": r.description,
                "purposes": [d.purpose(p) for p in r.purposes],
                "categories": mine,
                "category_names": d.names(mine),
                "country": r.country,
                "outside_home_region": outside,
                "transfer": {
                    "mechanism": r.transfer.mechanism.value,
                    "text": MECHANISM_TEXT[r.transfer.mechanism]
                    + (f", module {r.transfer.module}" if r.transfer.module else ""),
                    "reference": r.transfer.reference,
                }
                if r.transfer
                else None,
            }
        )
    return result


def _retention(d: _Describe) -> dict[str, Any]:
    """The rules and legal holds that cover the person's categories, and per category the
    rules that apply to it (a category kept under several rules, e.g. a name in an account and
    in an order, lists each with what it applies to)."""
    rules: list[dict[str, Any]] = []
    for rule in d.m.retention.rules:
        mine = d.mine(rule.categories)
        if not mine:
            continue
        action = "deleted" if rule.action is RetentionAction.DELETE else "anonymised"
        if rule.period:
            collected = rule.counted_from is CountedFrom.COLLECTION
            start = "we collected it" if collected else "your last activity"
            text = f"{duration_in_words(rule.period)} after {start}, then {action}"
            if rule.criteria:
                text += f" ({rule.criteria.rstrip('.')})"
        else:
            text = (rule.criteria or "As long as the purpose requires").rstrip(".")
        touchpoints = [d.touchpoint(t) for t in rule.touchpoints]
        applies = rule.description or (
            f"Data from: {', '.join(touchpoints)}" if touchpoints else "All such data"
        )
        rules.append(
            {
                "key": rule.key,
                "description": rule.description,
                "categories": mine,
                "touchpoints": rule.touchpoints,
                "period": rule.period,
                "criteria": rule.criteria,
                "counted_from": rule.counted_from.value,
                "action": rule.action.value,
                "text": text,
                "applies_to": applies.rstrip("."),
            }
        )
    by_category = [
        {
            "category": c,
            "name": d.category(c),
            "rules": [r for r in rules if c in r["categories"]],
        }
        for c in sorted(d.held)
    ]
    holds = [
        {
            "key": hold.key,
            "law": hold.law,
            "period": hold.period,
            "period_text": duration_in_words(hold.period),
            "categories": mine,
            "category_names": d.names(mine),
            "touchpoints": hold.touchpoints,
            "touchpoint_names": [d.touchpoint(t) for t in hold.touchpoints],
        }
        for hold in d.m.retention.legal_holds
        if (mine := d.mine(hold.categories))
    ]
    return {"rules": rules, "by_category": by_category, "legal_holds": holds}


def _origins(d: _Describe, data: AccessData) -> list[dict[str, Any]]:
    """Per touchpoint and brand, how the values collected there reached us and when."""
    groups: dict[tuple[str, str | None], list[OwnValue]] = {}
    for v in data.values:
        groups.setdefault((v.touchpoint, v.brand), []).append(v)
    result = []
    for (touchpoint, brand), found in groups.items():
        tp = d.m.touchpoints.get(touchpoint)
        source = tp.source if tp else Source.DIRECT
        times = sorted(_utc(v.collected_at) for v in found)
        result.append(
            {
                "touchpoint": touchpoint,
                "name": d.touchpoint(touchpoint),
                "brand": d.brand(brand),
                "source": source.value,
                "source_text": _SOURCE_TEXT[source],
                "from_you": source in {Source.DIRECT, Source.AUTOMATIC},
                "category_names": d.names(sorted({v.category for v in found})),
                "first": _when(times[0]),
                "last": _when(times[-1]),
            }
        )
    return result


# --- the package --------------------------------------------------------------------------------


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("charter.services", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["sentence"] = _sentence
    return env


def _csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_text(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def build_package(manifest: Manifest, data: AccessData) -> bytes:
    """The zip of an access (Art. 15) or portability (Art. 20) request; see the module doc."""
    if data.brand not in manifest.brands:
        raise NotFound(f"no brand '{data.brand}' in the manifest", code="unknown_brand")
    request_type = data.request_type
    if request_type not in (RequestType.ACCESS, RequestType.PORTABILITY):
        raise InvalidValue(
            f"a package answers an access or portability request, not '{request_type}'"
        )
    own = frozenset(v for found in data.identities.values() for v in found)
    redactions = _Redactions(own, data.redact_categories)
    # A password is never in the copy, not even as its hash (Art. 15(3), 20): only that one is
    # set and when it last changed, whatever the step that collected the values did.
    values = conceal_values(manifest, [_plain(asdict(v)) for v in data.values])
    for v in values:
        v["value"] = redactions.apply("charter/values", v["category"], v["value"])
    tables = _tables(manifest, data, redactions)
    d = _Describe(manifest, _held_categories(data, values, tables))
    prefs = data.preferences
    recipients = _recipients(d)
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "request": {
            "id": data.request_id,
            "type": request_type.value,
            "brand": data.brand,
            "generated_at": _iso(data.generated_at),
        },
        "controller": manifest.policy.controller.model_dump(mode="json"),
        "identities": {kind: list(found) for kind, found in sorted(data.identities.items())},
        "charter": {
            "values": values,
            # A soft opt-in relationship (the ledger's customer channel) is not a consent:
            # reported on its own (ePrivacy Directive Art. 13(2)).
            "consents": [_plain(asdict(c)) for c in data.consents if c.channel != CUSTOMER_CHANNEL],
            "soft_opt_in": [
                _plain(asdict(c)) for c in data.consents if c.channel == CUSTOMER_CHANNEL
            ],
            "preferences": {
                "objections": list(prefs.objections),
                "restricted": prefs.restricted,
                "unsubscribes": [{"brand": b, "channel": c} for b, c in prefs.unsubscribes],
                "sale_opt_out": prefs.sale_opt_out,
                "history": [_plain(asdict(e)) for e in prefs.history],
            },
        },
        "systems": {},
        "disclosures": [_plain(asdict(x)) for x in data.disclosures],
        "sources": [_plain(asdict(s)) for s in data.sources],
        "prior_notices": [_plain(asdict(n)) for n in data.prior_notices],
        "public_fields": [_plain(asdict(f)) for f in data.public_fields],
        "redactions": {
            "total": sum(redactions.by_source.values()),
            "by_source": dict(sorted(redactions.by_source.items())),
            "reason": REDACTION_REASON,
        },
        "information": {
            "categories": {c: d.category(c) for c in sorted(d.held)},
            "purposes": _purposes(d, data),
            "recipients": recipients,
            "retention": _retention(d),
            "transfers": [r for r in recipients if r["outside_home_region"]],
            "automated_decision_making": {"used": False, "text": NO_AUTOMATED_DECISIONS},
            "response_deadline_days": manifest.policy.response_deadline_days,
            "supervisory_authority_url": manifest.policy.supervisory_authority_url,
        },
    }
    for t in tables:
        document["systems"].setdefault(t["system"], {})[t["table"]] = {
            "columns": t["categories"],
            "rows": t["rows"],
        }
    charter = document["charter"]
    identities = [
        {"kind": k, "value": v} for k, found in document["identities"].items() for v in found
    ]
    members = {
        "report.html": b"",
        "data.json": json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2).encode(),
        "charter/identities.csv": _csv(["kind", "value"], identities),
        "charter/values.csv": _csv(
            [f.name for f in fields(OwnValue)],
            ({**v, "purposes": ";".join(v["purposes"])} for v in values),
        ),
        "charter/consents.csv": _csv([f.name for f in fields(ConsentEntry)], charter["consents"]),
        "charter/preferences.csv": _csv(
            [f.name for f in fields(PreferenceEvent)], charter["preferences"]["history"]
        ),
    }
    if charter["soft_opt_in"]:
        members["charter/soft_opt_in.csv"] = _csv(
            [f.name for f in fields(ConsentEntry)], charter["soft_opt_in"]
        )
    for t in tables:
        members[f"{t['system']}/{t['table']}.csv"] = _csv(t["columns"], t["rows"])
    members["report.html"] = (
        _environment()
        .get_template("report.html.j2")
        .render(
            doc=document,
            info=document["information"],
            d=d,
            tables=tables,
            identities=identities,
            origins=_origins(d, data),
            policy=manifest.policy,
            brand=manifest.brands[data.brand],
            portability=request_type is RequestType.PORTABILITY,
            controller_outside=manifest.policy.controller.country is not None
            and not in_region(manifest.policy.controller.country, manifest.policy.home_region),
            files=list(members),
            passwords=any(is_password_state(v["value"]) for v in values)
            or any(is_password_state(c) for t in tables for r in t["rows"] for c in r.values()),
            when=_when,
            text=_text,
        )
        .encode()
    )
    return _zip(members, data.generated_at)


def _identity_kind(kind: str) -> IdentityKind | None:
    try:
        return IdentityKind(kind)
    except ValueError:
        return None


def _zip(members: Mapping[str, bytes], generated_at: dt.datetime) -> bytes:
    stamp = _utc(generated_at).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return out.getvalue()
