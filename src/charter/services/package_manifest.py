"""What the manifest says about a person's data, as their access report tells it (GDPR
Art. 15(1)(a)-(h), 13(1)(f), 14(2)(f)): the purposes and their legal bases, the recipients and
the safeguards of transfers, the retention rules and legal holds, where the data came from.

Apart from the package's building (``charter.services.package``) because it reads the manifest,
not the person's data: everything is derived from the manifest (one source of truth), filtered
to the categories actually held about the person (``Describe.held``). What it says in words is
in the report's language (``Describe.texts``, the page catalogue: GDPR Art. 12(1) plain
language); the English wording of durations and transfer mechanisms is shared with the policy's
other texts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from charter.domain.categories import covers
from charter.domain.decisions import MARKETING_OBJECTION
from charter.domain.durations import parse_duration
from charter.domain.regions import in_region
from charter.manifest.models import (
    IDENTITY_CATEGORIES,
    IdentityKind,
    LegalBasis,
    Manifest,
    Source,
    TransferMechanism,
)
from charter.services.package_data import AccessData, OwnValue, as_utc
from charter.services.page_texts import PageTexts


class Describe:
    def __init__(self, manifest: Manifest, held: set[str], texts: PageTexts | None = None) -> None:
        self.m = manifest
        self.held = held
        self.texts = texts or PageTexts()

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
            return self.texts("report.all_marketing")
        found = self.m.purposes.get(key)
        return found.name if found else key

    def touchpoint(self, key: str) -> str:
        found = self.m.touchpoints.get(key)
        return found.name if found else key

    def identity(self, kind: str) -> str:
        found = identity_kind(kind)
        if found is None:
            return kind.replace("_", " ").capitalize()
        return self.category(IDENTITY_CATEGORIES[found])

    def brand(self, key: str | None) -> str:
        if key is None:
            return ""
        found = self.m.brands.get(key)
        return found.name if found else key

    def when(self, moment: dt.datetime | str) -> dict[str, str]:
        """``when`` in the report's language."""
        return when(moment, self.texts)


MECHANISM_TEXT = {
    TransferMechanism.ADEQUACY: "an adequacy decision of the European Commission (GDPR Art. 45)",
    TransferMechanism.SCC: "standard contractual clauses approved by the European Commission "
    "(GDPR Art. 46(2)(c))",
    TransferMechanism.BCR: "binding corporate rules (GDPR Art. 47)",
    TransferMechanism.DEROGATION: "a derogation for a specific situation (GDPR Art. 49)",
}
"""The policy's English wording of each safeguard; the report's, in its language, is the page
catalogue's ``report.mechanism.*`` (the same words in English)."""


def describe_purposes(d: Describe, data: AccessData) -> list[dict[str, Any]]:
    named = {p for v in data.values for p in v.purposes} | {c.purpose for c in data.consents}
    result = []
    for key, p in d.m.purposes.items():
        mine = d.mine(p.categories)
        if not mine and key not in named:
            continue
        if p.legal_basis is LegalBasis.CONSENT:
            choice = d.texts("report.choice.withdraw")
        elif p.direct_marketing and p.may_object:
            choice = d.texts("report.choice.object_marketing")
        elif p.may_object:
            choice = d.texts("report.choice.object")
        else:
            choice = ""
        result.append(
            {
                "key": key,
                "name": p.name,
                "description": p.description,
                "legal_basis": p.legal_basis.value,
                "basis_text": d.texts(f"report.basis.{p.legal_basis.value}"),
                "legitimate_interest": p.legitimate_interest
                if p.legal_basis is LegalBasis.LEGITIMATE_INTEREST
                else None,
                "categories": mine,
                "category_names": d.names(mine),
                "choice": choice,
            }
        )
    return result


def describe_recipients(d: Describe) -> list[dict[str, Any]]:
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
                "kind_text": d.texts(f"report.kind.{r.kind.value}"),
                "description": r.description,
                "purposes": [d.purpose(p) for p in r.purposes],
                "categories": mine,
                "category_names": d.names(mine),
                "country": r.country,
                "outside_home_region": outside,
                "transfer": {
                    "mechanism": r.transfer.mechanism.value,
                    "text": d.texts(f"report.mechanism.{r.transfer.mechanism.value}")
                    + (
                        d.texts("report.mechanism.module", module=r.transfer.module)
                        if r.transfer.module
                        else ""
                    ),
                    "reference": r.transfer.reference,
                }
                if r.transfer
                else None,
            }
        )
    return result


def describe_retention(d: Describe) -> dict[str, Any]:
    """The rules and legal holds that cover the person's categories, and per category the
    rules that apply to it (a category kept under several rules, e.g. a name in an account and
    in an order, lists each with what it applies to)."""
    rules: list[dict[str, Any]] = []
    for rule in d.m.retention.rules:
        mine = d.mine(rule.categories)
        if not mine:
            continue
        t = d.texts
        if rule.period:
            text = t(
                f"report.retention.{rule.counted_from.value}.{rule.action.value}",
                period=t.duration(rule.period),
            )
            if rule.criteria:
                text += f" ({rule.criteria.rstrip('.')})"
        else:
            text = (rule.criteria or t("report.retention.as_long")).rstrip(".")
        touchpoints = [d.touchpoint(tp) for tp in rule.touchpoints]
        applies = rule.description or (
            t("report.retention.from", touchpoints=", ".join(touchpoints))
            if touchpoints
            else t("report.retention.all")
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
            "period_text": d.texts.duration(hold.period),
            "categories": mine,
            "category_names": d.names(mine),
            "touchpoints": hold.touchpoints,
            "touchpoint_names": [d.touchpoint(t) for t in hold.touchpoints],
        }
        for hold in d.m.retention.legal_holds
        if (mine := d.mine(hold.categories))
    ]
    return {"rules": rules, "by_category": by_category, "legal_holds": holds}


def describe_origins(d: Describe, data: AccessData) -> list[dict[str, Any]]:
    """Per touchpoint and brand, how the values collected there reached us and when."""
    groups: dict[tuple[str, str | None], list[OwnValue]] = {}
    for v in data.values:
        groups.setdefault((v.touchpoint, v.brand), []).append(v)
    result = []
    for (touchpoint, brand), found in groups.items():
        tp = d.m.touchpoints.get(touchpoint)
        source = tp.source if tp else Source.DIRECT
        times = sorted(as_utc(v.collected_at) for v in found)
        result.append(
            {
                "touchpoint": touchpoint,
                "name": d.touchpoint(touchpoint),
                "brand": d.brand(brand),
                "source": source.value,
                "source_text": d.texts(f"report.source.{source.value}"),
                "from_you": source in {Source.DIRECT, Source.AUTOMATIC},
                "category_names": d.names(sorted({v.category for v in found})),
                "first": d.when(times[0]),
                "last": d.when(times[-1]),
            }
        )
    return result


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


def when(moment: dt.datetime | str, texts: PageTexts | None = None) -> dict[str, str]:
    """A moment as the report shows it: ISO 8601 and in words (in ``texts``' language, English
    if none), in UTC."""
    moment = as_utc(dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment)
    words = (texts or PageTexts()).moment(moment)
    return {"iso": moment.isoformat(), "text": f"{words} UTC"}


def identity_kind(kind: str) -> IdentityKind | None:
    """The identity kind ``kind`` names; None for a kind Charter does not know (a webhook's)."""
    try:
        return IdentityKind(kind)
    except ValueError:
        return None
