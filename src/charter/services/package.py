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

The report, and the texts for people in data.json (a legal basis in words, a retention period,
a safeguard), are in the request's language, else the brand's default, among the languages
Charter has texts for and the group chose (``charter.domain.languages``; Art. 12(1) plain
language). data.json's keys, its codes and the zip's file names are a format: they stay.

This module lays the package out; what it is made from is ``charter.services.package_data``,
and what the manifest says about the data is ``charter.services.package_manifest``.
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
from typing import Any

from jinja2 import Environment, PackageLoader

from charter.domain.categories import covered_by_any
from charter.domain.consent import CUSTOMER_CHANNEL
from charter.domain.credentials import (
    describe_password_state,
    is_credential,
    is_password_state,
    password_state,
)
from charter.domain.errors import InvalidValue, NotFound
from charter.domain.languages import mail_language
from charter.domain.redaction import redact
from charter.domain.regions import in_region
from charter.domain.requests import RequestType
from charter.manifest.models import IDENTITY_CATEGORIES, Manifest
from charter.services.credentials import conceal_values
from charter.services.mail_language import offered_languages
from charter.services.package_data import (
    AccessData,
    ConsentEntry,
    OwnValue,
    PreferenceEvent,
    as_utc,
)
from charter.services.package_manifest import (
    Describe,
    describe_origins,
    describe_purposes,
    describe_recipients,
    describe_retention,
    identity_kind,
)
from charter.services.page_texts import HtmlTexts, PageTexts

SCHEMA = "charter.access-package"
SCHEMA_VERSION = 1


# --- plain values -------------------------------------------------------------------------------


def _iso(moment: dt.datetime) -> str:
    return as_utc(moment).isoformat()


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


def _text(value: Any, texts: PageTexts | None = None) -> str:
    """A plain value as one cell of text: in a CSV (``texts`` None: the format's English), or
    in the report's language."""
    if value is None:
        return ""
    if isinstance(value, bool):
        if texts is None:
            return "yes" if value else "no"
        return texts("report.yes" if value else "report.no")
    if is_password_state(value):
        return describe_password_state(value) if texts is None else _password(value, texts)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _password(value: Mapping[str, Any], texts: PageTexts) -> str:
    """``describe_password_state`` in the report's language."""
    changed = value.get("changed_at")
    if not changed:
        return texts("report.password")
    moment = as_utc(dt.datetime.fromisoformat(str(changed)))
    return texts("report.password.changed", date=texts.date(moment))


def report_language(manifest: Manifest, data: AccessData) -> str:
    """The report's language: the request's, else the brand's default (among those offered)."""
    brand = manifest.brands.get(data.brand)
    return mail_language(
        requested=data.language,
        recorded=None,
        brand_default=brand.default_language if brand is not None else None,
        offered=offered_languages(manifest),
    )


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
        identity = identity_kind(kind)
        if found and identity is not None:
            held.add(IDENTITY_CATEGORIES[identity])
    for table in tables:
        for column, category in table["categories"].items():
            if category and any(row[column] not in (None, "") for row in table["rows"]):
                held.add(category)
    return held


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
    texts = PageTexts(report_language(manifest, data))
    d = Describe(manifest, _held_categories(data, values, tables), texts)
    prefs = data.preferences
    recipients = describe_recipients(d)
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
            "reason": texts("report.redaction_reason"),
        },
        "information": {
            "categories": {c: d.category(c) for c in sorted(d.held)},
            "purposes": describe_purposes(d, data),
            "recipients": recipients,
            "retention": describe_retention(d),
            "transfers": [r for r in recipients if r["outside_home_region"]],
            "automated_decision_making": {"used": False, "text": texts("report.automated.none")},
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
            origins=describe_origins(d, data),
            policy=manifest.policy,
            brand=manifest.brands[data.brand],
            portability=request_type is RequestType.PORTABILITY,
            controller_outside=manifest.policy.controller.country is not None
            and not in_region(manifest.policy.controller.country, manifest.policy.home_region),
            files=list(members),
            passwords=any(is_password_state(v["value"]) for v in values)
            or any(is_password_state(c) for t in tables for r in t["rows"] for c in r.values()),
            when=d.when,
            text=lambda value: _text(value, texts),
            t=HtmlTexts(texts),
            choices={
                "objections": [d.purpose(p) for p in prefs.objections],
                "unsubscribes": [f"{d.brand(b)} ({c})" for b, c in prefs.unsubscribes],
            },
        )
        .encode()
    )
    return _zip(members, data.generated_at)


def _zip(members: Mapping[str, bytes], generated_at: dt.datetime) -> bytes:
    stamp = as_utc(generated_at).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return out.getvalue()
