"""The texts of a breach: the notice to the supervisory authority and the notice to the people.

- **The authority** (GDPR Art. 33(3)) is told at least: (a) the nature of the breach, with where
  possible the categories and approximate number of people and of records concerned; (b) the
  name and contact details of the data protection officer or other contact point; (c) the
  likely consequences; (d) the measures taken or proposed, including those to mitigate its
  possible adverse effects. What is not known yet follows in later phases (Art. 33(4)); each
  phase is numbered, and a first notice after 72 hours gives the reasons for the delay.
- **The people** (Art. 34(2)) are told "in clear and plain language" the nature of the breach
  and at least (b), (c) and (d) above; here also what they can do to protect themselves, in the
  name of the brand they know, in their language (``charter.domain.languages``; the
  breach's own words, written by staff, and the manifest's category names go as written). The
  notice to the authority is in English, the language of the record.

Plain text, so that it can be pasted into an authority's form or sent as mail as it is. No
personal data of anyone concerned: counts and categories only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from charter.domain.breaches import CHARTER_SYSTEM, Risk, notice_due
from charter.domain.categories import covered_by_any
from charter.manifest.models import IDENTITY_CATEGORIES, Contact, Manifest
from charter.services.mail_texts import MailTexts

_RISK = {
    Risk.NONE: "unlikely to result in a risk to the rights and freedoms of natural persons",
    Risk.RISK: "likely to result in a risk to the rights and freedoms of natural persons",
    Risk.HIGH_RISK: "likely to result in a high risk to the rights and freedoms of natural persons",
}


@dataclass(frozen=True)
class NoticeFacts:
    """What the texts say about one breach (from its record; see ``BreachService``)."""

    id: str
    title: str
    description: str
    risk: Risk
    risk_reasons: str
    aware_at: dt.datetime
    occurred_at: dt.datetime | None
    contained_at: dt.datetime | None
    systems: Sequence[str]
    categories: Sequence[str]
    consequences: str
    measures: str
    advice: str | None
    summary: str | None
    affected: dict[str, Any]


def _when(moment: dt.datetime | None, missing: str) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else missing


def _contact_lines(contact: Contact) -> list[str]:
    lines = [contact.name, contact.address, f"E-mail: {contact.email}"]
    if contact.phone:
        lines.append(f"Telephone: {contact.phone}")
    return lines


def contact_point(manifest: Manifest) -> tuple[str, Contact]:
    """Who answers questions about the breach (Art. 33(3)(b)): the data protection officer,
    or the controller's privacy contact when the manifest names no DPO."""
    if manifest.policy.dpo is not None:
        return "Data protection officer", manifest.policy.dpo
    return "Contact point (no data protection officer is designated)", manifest.policy.controller


def system_name(manifest: Manifest, key: str) -> str:
    if key == CHARTER_SYSTEM:
        return "Charter's own store (consents, collected values, requests)"
    return manifest.systems[key].name


def category_names(
    manifest: Manifest, categories: Sequence[str], *, keys: bool = True
) -> list[str]:
    """Each category by its description, a group (``user.contact``) by its members'; with
    ``keys`` the key too (for the authority; people get the words only)."""
    named = []
    for key in categories:
        if key in manifest.data_categories:
            words = manifest.data_categories[key].description
        else:
            words = ", ".join(
                category.description
                for member, category in manifest.data_categories.items()
                if covered_by_any(member, [key])
            )
        named.append(f"{words} ({key})" if keys else words)
    return named


def subject_kinds(manifest: Manifest, categories: Sequence[str]) -> list[str]:
    """The categories of people concerned: those of every touchpoint collecting one of the
    categories, as a field or as an identity."""
    kinds: set[str] = set()
    for touchpoint in manifest.touchpoints.values():
        collected = [spec.category for spec in touchpoint.fields.values()]
        collected += [IDENTITY_CATEGORIES[kind] for kind in touchpoint.identities]
        if any(covered_by_any(category, categories) for category in collected):
            kinds.update(touchpoint.data_subjects)
    return sorted(kinds)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _number(value: int | None) -> str:
    return "not known yet" if value is None else f"{value:,}"


def _affected_lines(manifest: Manifest, affected: dict[str, Any]) -> list[str]:
    systems = affected.get("systems", [])
    counted = [s for s in systems if s["people"] is not None]
    unknown = [s for s in systems if s["people"] is None]
    lines = [
        f"  Approximate number of people concerned: {_number(affected.get('people'))}"
        + (" (at least; see below)" if unknown else ""),
        f"  Approximate number of personal data records concerned: "
        f"{_number(affected.get('records'))}",
        f"  Counted on {affected.get('counted_at', 'unknown')[:16].replace('T', ' ')} UTC, "
        "per system (a person held in two systems is counted in each):",
    ]
    for found in counted:
        lines.append(
            f"    - {system_name(manifest, found['system'])}: about "
            f"{_plural(found['people'], 'person', 'people')}, "
            f"{_plural(found['records'], 'record', 'records')}"
        )
    for found in unknown:
        lines.append(f"    - {system_name(manifest, found['system'])}: {found['status']}")
    if unknown:
        lines.append("  The numbers not known yet will follow in a later phase (Art. 33(4)).")
    return lines


def authority_notice(
    manifest: Manifest,
    facts: NoticeFacts,
    *,
    phase: int,
    earlier: Sequence[tuple[int, dt.datetime]] = (),
    submitted_at: dt.datetime | None = None,
    delay_reasons: str | None = None,
    additional: str | None = None,
) -> str:
    """The notice to the supervisory authority, one phase of it (see the module docstring).
    ``earlier``: the phases already submitted (number, when)."""
    controller = manifest.policy.controller
    role, contact = contact_point(manifest)
    heading = "first notice" if phase == 1 else "follow-up (GDPR Art. 33(4))"
    lines = [
        "NOTIFICATION OF A PERSONAL DATA BREACH TO THE SUPERVISORY AUTHORITY (GDPR Art. 33)",
        f"Phase {phase}: {heading}",
        f"Our reference: {facts.id}",
        "",
        "Controller",
        *(f"  {line}" for line in _contact_lines(controller)),
    ]
    if manifest.policy.representative is not None:
        lines += [
            "Representative in the Union (GDPR Art. 27)",
            *(f"  {line}" for line in _contact_lines(manifest.policy.representative)),
        ]
    lines += [
        f"{role} (Art. 33(3)(b))",
        *(f"  {line}" for line in _contact_lines(contact)),
        "",
        "Timeline",
        f"  Became aware of the breach: {_when(facts.aware_at, 'unknown')}",
        f"  Breach occurred: {_when(facts.occurred_at, 'not known yet')}",
        f"  Breach contained: {_when(facts.contained_at, 'not yet')}",
        "  Notice due (72 hours after awareness, Art. 33(1)): "
        + _when(notice_due(facts.aware_at), ""),
    ]
    for number, when in earlier:
        lines.append(f"  Phase {number} submitted: {_when(when, '')}")
    if submitted_at is not None:
        lines.append(f"  This phase submitted: {_when(submitted_at, '')}")
    if delay_reasons:
        lines += ["  Reasons for the delay (Art. 33(1)):", *_indent(delay_reasons, 4)]
    lines += [
        "",
        "1. Nature of the breach (Art. 33(3)(a))",
        f"  {facts.title}",
        *_indent(facts.description, 2),
        "  Systems involved:",
        *(f"    - {system_name(manifest, key)}" for key in facts.systems),
        "  Categories of personal data concerned:",
        *(f"    - {name}" for name in category_names(manifest, facts.categories)),
        "  Categories of people concerned: "
        + (", ".join(subject_kinds(manifest, facts.categories)) or "not known yet"),
        *_affected_lines(manifest, facts.affected),
        "",
        "2. Likely consequences (Art. 33(3)(c))",
        *_indent(facts.consequences, 2),
        "",
        "3. Measures taken or proposed, including to mitigate the possible adverse effects "
        "(Art. 33(3)(d))",
        *_indent(facts.measures, 2),
        "",
        "4. Our assessment of the risk",
        f"  The breach is {_RISK[facts.risk]}:",
        *_indent(facts.risk_reasons, 2),
    ]
    if additional:
        lines += ["", f"5. Further information in phase {phase}", *_indent(additional, 2)]
    return "\n".join(lines) + "\n"


def people_notice(
    manifest: Manifest, facts: NoticeFacts, brand: str, t: MailTexts
) -> tuple[str, str]:
    """The message to the people concerned (Art. 34(2)), in the name of ``brand`` and in the
    language of ``t``: subject and plain-text body. It is not marketing: it goes to everyone
    concerned, whatever their marketing preferences (see ``BreachService.notify_people``)."""
    name = manifest.brands[brand].name
    controller = manifest.policy.controller
    _, contact = contact_point(manifest)
    reach = t(
        "breach.reach",
        contact=contact.name,
        email=contact.email,
        phone=t("breach.phone", phone=contact.phone) if contact.phone else "",
    )
    authority = manifest.policy.supervisory_authority_url
    body = [
        t("breach.hello"),
        "",
        t("breach.intro", brand=name),
        "",
        t("breach.what_happened"),
        *_indent(facts.summary or f"{facts.title}. {facts.description}", 0),
        t("breach.aware", date=t.date(facts.aware_at.astimezone(dt.UTC))),
        "",
        t("breach.information"),
        *(f"- {item}" for item in category_names(manifest, facts.categories, keys=False)),
        "",
        t("breach.consequences"),
        *_indent(facts.consequences, 0),
        "",
        t("breach.measures"),
        *_indent(facts.measures, 0),
        "",
        t("breach.advice"),
        *_indent(facts.advice or "", 0),
        "",
        t("breach.questions"),
        reach,
        t(
            "breach.complain",
            authority=t("complain.authority", url=authority) if authority else "",
        ),
        "",
        t("breach.not_marketing"),
        "",
        t("breach.sign_off", controller=controller.name, brand=name),
        controller.email,
    ]
    return t("breach.subject", brand=name), "\n".join(body) + "\n"


def _indent(text: str, spaces: int) -> list[str]:
    return [" " * spaces + line if line else "" for line in text.strip().splitlines()]
