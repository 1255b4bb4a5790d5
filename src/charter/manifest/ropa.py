"""Records of processing activities (GDPR Art. 30(1)), built from the manifest alone.

One record per purpose (a processing activity), holding what Art. 30(1) lists:

- (a) the controller, its representative (Art. 27) and the data protection officer;
- (b) the purpose, its description and its legal basis, naming the legitimate interest where
  that is the basis (Art. 6(1)(f), needed in the record by Art. 5(2) accountability);
- (c) the categories of data subjects and of personal data. Data subjects are those of the
  touchpoints serving the purpose (``purposes`` or ``consent_purposes``); a purpose no touchpoint
  names uses data collected elsewhere, so its subjects are those of the touchpoints collecting
  one of its categories (as a field or an identity). Personal data are the purpose's
  categories with their descriptions (a group key such as ``user.contact`` stands for the
  declared categories under it);
- (d) the recipients: every recipient whose ``purposes`` include this one, with kind and country;
- (e) transfers: those recipients outside ``policy.home_region``, with mechanism, SCC module and
  reference (a missing mechanism is shown as such; ``charter policy check`` flags it);
- (f) the time limits for erasure: the retention rules that cover one of the purpose's
  categories (either key covering the other) and, when they name touchpoints, one of the
  purpose's touchpoints; the legal holds likewise;
- (g) the security measures, the same list as the public policy (``charter.manifest.measures``).

``processing_records`` is pure; ``records_json``, ``records_csv`` and ``records_html`` format the
records for ``charter ropa export`` and ``GET /v1/ropa``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from charter.domain.categories import covers
from charter.manifest.countries import country_name
from charter.manifest.measures import SECURITY_MEASURES
from charter.manifest.models import (
    IDENTITY_CATEGORIES,
    Contact,
    Manifest,
    RetentionRule,
    Touchpoint,
)
from charter.manifest.wording import (
    BASIS_ARTICLES,
    REGISTER_BASIS_NAMES,
    category_words,
    hold_period_words,
    label,
    retention_action_words,
    retention_period_words,
    safeguard_words,
    transfers_outside,
)

__all__ = [
    "CSV_COLUMNS",
    "CategoryEntry",
    "ContactEntry",
    "ProcessingRecord",
    "RecipientEntry",
    "TransferEntry",
    "processing_records",
    "records_csv",
    "records_html",
    "records_json",
]


@dataclass(frozen=True)
class ContactEntry:
    name: str
    address: str
    email: str
    phone: str | None
    country: str | None

    def __str__(self) -> str:
        return ", ".join(part for part in (self.name, self.address, self.email, self.phone) if part)


@dataclass(frozen=True)
class CategoryEntry:
    category: str
    description: str

    def __str__(self) -> str:
        return f"{self.description} ({self.category})"


@dataclass(frozen=True)
class RecipientEntry:
    key: str
    name: str
    kind: str
    country: str | None
    country_name: str | None

    def __str__(self) -> str:
        where = f", {self.country_name}" if self.country_name else ""
        return f"{self.name} ({self.kind.replace('_', ' ')}{where})"


@dataclass(frozen=True)
class TransferEntry:
    recipient: str
    country: str
    country_name: str
    mechanism: str | None
    module: int | None
    reference: str | None
    safeguard: str

    def __str__(self) -> str:
        return f"{self.recipient} to {self.country_name}: {self.safeguard}"


@dataclass(frozen=True)
class ProcessingRecord:
    """One processing activity (one purpose) as GDPR Art. 30(1) lists it."""

    purpose: str
    name: str
    description: str
    controller: ContactEntry
    representative: ContactEntry | None
    dpo: ContactEntry | None
    legal_basis: str
    legal_basis_text: str
    legitimate_interest: str | None
    data_subjects: tuple[str, ...]
    personal_data: tuple[CategoryEntry, ...]
    collected_at: tuple[str, ...]
    recipients: tuple[RecipientEntry, ...]
    transfers: tuple[TransferEntry, ...]
    retention: tuple[str, ...]
    security_measures: tuple[str, ...]


CSV_COLUMNS: tuple[str, ...] = tuple(ProcessingRecord.__dataclass_fields__)
"""The CSV header: the record's fields, in order."""


def _contact(contact: Contact | None) -> ContactEntry | None:
    if contact is None:
        return None
    return ContactEntry(
        contact.name, contact.address, contact.email, contact.phone, contact.country
    )


def _overlap(some: Iterable[str], others: Iterable[str]) -> bool:
    listed = list(others)
    return any(covers(a, b) or covers(b, a) for a in some for b in listed)


def _touchpoints_of(manifest: Manifest, key: str) -> dict[str, Touchpoint]:
    serving = {
        tp_key: tp
        for tp_key, tp in manifest.touchpoints.items()
        if key in tp.purposes or key in tp.consent_purposes
    }
    if serving:
        return serving
    categories = manifest.purposes[key].categories
    return {
        tp_key: tp
        for tp_key, tp in manifest.touchpoints.items()
        if _overlap(categories, _collected(tp))
    }


def _collected(tp: Touchpoint) -> list[str]:
    """The categories a touchpoint collects: its fields' and its identities' (an e-mail address
    given to be recognised by is personal data too)."""
    return [spec.category for spec in tp.fields.values()] + [
        IDENTITY_CATEGORIES[kind] for kind in tp.identities
    ]


def _applies(
    rule_categories: list[str], rule_touchpoints: list[str], purpose: list[str], at: Iterable[str]
) -> bool:
    if rule_categories and not _overlap(rule_categories, purpose):
        return False
    return not rule_touchpoints or any(tp in rule_touchpoints for tp in at)


def _rule_words(rule: RetentionRule) -> str:
    scope = ", ".join(rule.categories) or "all categories"
    if rule.touchpoints:
        scope += f" at {', '.join(rule.touchpoints)}"
    period = retention_period_words(rule, register=True).rstrip(".")
    return (
        f"{scope}: {period}; then {retention_action_words(rule, register=True)} (rule {rule.key})"
    )


def processing_records(manifest: Manifest) -> list[ProcessingRecord]:
    """The Art. 30(1) records of every purpose of ``manifest``, in manifest order."""
    policy = manifest.policy
    controller = _contact(policy.controller)
    assert controller is not None
    records = []
    for key, purpose in manifest.purposes.items():
        touchpoints = _touchpoints_of(manifest, key)
        recipients = [(r_key, r) for r_key, r in manifest.recipients.items() if key in r.purposes]
        retention = [
            _rule_words(rule)
            for rule in manifest.retention.rules
            if _applies(rule.categories, rule.touchpoints, purpose.categories, touchpoints)
        ]
        retention += [
            f"legal hold {hold.key} on {', '.join(hold.categories)} at "
            f"{', '.join(hold.touchpoints)}: {hold_period_words(hold)}; {hold.law}"
            for hold in manifest.retention.legal_holds
            if _applies(hold.categories, hold.touchpoints, purpose.categories, touchpoints)
        ]
        records.append(
            ProcessingRecord(
                purpose=key,
                name=purpose.name,
                description=purpose.description,
                controller=controller,
                representative=_contact(policy.representative),
                dpo=_contact(policy.dpo),
                legal_basis=purpose.legal_basis.value,
                legal_basis_text=(
                    f"{REGISTER_BASIS_NAMES[purpose.legal_basis]} "
                    f"({BASIS_ARTICLES[purpose.legal_basis]})"
                ),
                legitimate_interest=purpose.legitimate_interest,
                data_subjects=tuple(
                    dict.fromkeys(label(s) for tp in touchpoints.values() for s in tp.data_subjects)
                ),
                personal_data=tuple(
                    CategoryEntry(c, "; ".join(category_words(manifest, c)))
                    for c in purpose.categories
                ),
                collected_at=tuple(tp.name for tp in touchpoints.values()),
                recipients=tuple(
                    RecipientEntry(
                        r_key,
                        r.name,
                        r.kind.value,
                        r.country,
                        country_name(r.country) if r.country else None,
                    )
                    for r_key, r in recipients
                ),
                transfers=tuple(
                    TransferEntry(
                        r.name,
                        r.country,
                        country_name(r.country),
                        r.transfer.mechanism.value if r.transfer else None,
                        r.transfer.module if r.transfer else None,
                        r.transfer.reference if r.transfer else None,
                        safeguard_words(r.transfer),
                    )
                    for _, r in recipients
                    if r.country is not None and transfers_outside(manifest, r.country)
                ),
                retention=tuple(retention),
                security_measures=SECURITY_MEASURES,
            )
        )
    return records


def records_json(records: Sequence[ProcessingRecord]) -> str:
    """A JSON list with one object per record, lists as arrays, contacts as objects."""
    return json.dumps([asdict(r) for r in records], ensure_ascii=False, indent=2) + "\n"


def records_csv(records: Sequence[ProcessingRecord]) -> str:
    """CSV (RFC 4180) with a header and one row per purpose; list fields joined by "; "."""

    def cell(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, tuple):
            return "; ".join(str(item) for item in value)
        return str(value)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        writer.writerow([cell(getattr(record, column)) for column in CSV_COLUMNS])
    return out.getvalue()


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("charter.manifest", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def records_html(manifest: Manifest, records: Sequence[ProcessingRecord]) -> str:
    """One self-contained, accessible HTML page: the controller's details once, then a section
    per processing activity with its Art. 30(1) items as a table of row headers."""
    return (
        _environment().get_template("ropa.html.j2").render(policy=manifest.policy, records=records)
    )
