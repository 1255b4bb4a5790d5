"""What the manifest says about a person's data, as their access report tells it (GDPR
Art. 15(1)(a)-(h), 13(1)(f), 14(2)(f)): the purposes and their legal bases, the recipients and
the safeguards of transfers, the retention rules and legal holds, where the data came from.

Apart from the package's building (``charter.services.package``) because it reads the manifest,
not the person's data: everything is derived from the manifest (one source of truth), filtered
to the categories actually held about the person (``Describe.held``); the wording of durations
and transfer mechanisms is shared with the policy's other texts.
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
    CountedFrom,
    IdentityKind,
    LegalBasis,
    Manifest,
    RetentionAction,
    Source,
    TransferMechanism,
)
from charter.manifest.render import BASIS_TEXT
from charter.services.package_data import AccessData, OwnValue, as_utc


class Describe:
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
        found = identity_kind(kind)
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


def describe_purposes(d: Describe, data: AccessData) -> list[dict[str, Any]]:
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


def describe_retention(d: Describe) -> dict[str, Any]:
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
                "source_text": _SOURCE_TEXT[source],
                "from_you": source in {Source.DIRECT, Source.AUTOMATIC},
                "category_names": d.names(sorted({v.category for v in found})),
                "first": when(times[0]),
                "last": when(times[-1]),
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


def when(moment: dt.datetime | str) -> dict[str, str]:
    """A moment as the report shows it: ISO 8601 and in words, in UTC."""
    moment = as_utc(dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment)
    return {"iso": moment.isoformat(), "text": f"{moment.day} {moment:%B %Y, %H:%M} UTC"}


def identity_kind(kind: str) -> IdentityKind | None:
    """The identity kind ``kind`` names; None for a kind Charter does not know (a webhook's)."""
    try:
        return IdentityKind(kind)
    except ValueError:
        return None
