"""The manifest as the plain data that ``charter.domain.policy_diff`` compares.

The domain sees no pydantic model: this adapter keeps of a manifest what its public policy
promises (purposes, what each form collects, recipients and transfers, retention, contacts) and
the names a person reads, and drops what only runs Charter (systems, notices to recipients, the
banner's settings).
"""

from __future__ import annotations

from charter.domain.policy_diff import (
    Change,
    PolicyFacts,
    PurposeFacts,
    RecipientFacts,
    RetentionFacts,
    TouchpointFacts,
    diff,
)
from charter.manifest.models import IDENTITY_CATEGORIES, Contact, Manifest, Purpose
from charter.services.package_manifest import duration_in_words


def facts_of(manifest: Manifest) -> PolicyFacts:
    """The promises of a manifest as the plain data ``charter.domain.policy_diff`` compares."""
    policy = manifest.policy
    contacts = {
        role: _contact(contact)
        for role, contact in (
            ("controller", policy.controller),
            ("representative", policy.representative),
            ("data protection officer", policy.dpo),
        )
        if contact is not None
    }
    touchpoints = {
        key: TouchpointFacts(
            tp.name,
            {
                **{
                    f"identity:{kind.value}": (
                        kind.value.replace("_", " "),
                        IDENTITY_CATEGORIES[kind],
                    )
                    for kind in tp.identities
                },
                **{
                    name: (name.replace("_", " "), spec.category)
                    for name, spec in tp.fields.items()
                },
            },
            tuple(tp.purposes),
            tp.source.value,
            (tp.description,),
        )
        for key, tp in manifest.touchpoints.items()
    }
    recipients = {
        key: RecipientFacts(
            r.name,
            r.kind.value,
            tuple(r.purposes),
            tuple(r.categories),
            r.country,
            r.transfer.mechanism.value if r.transfer else None,
            (r.description,),
        )
        for key, r in manifest.recipients.items()
    }
    retention = {
        rule.key: RetentionFacts(
            rule.key.replace("_", " "),
            tuple(rule.categories),
            tuple(rule.touchpoints),
            rule.period,
            duration_in_words(rule.period) if rule.period else rule.criteria or "no fixed period",
            rule.counted_from.value,
        )
        for rule in manifest.retention.rules
    }
    cookies = {
        f"{cat_key}/{cookie.name}": f"{cookie.name} ({cookie.vendor}), {category.name}"
        for cat_key, category in manifest.cookies.items()
        for cookie in category.cookies
    }
    return PolicyFacts(
        version=policy.version,
        title=policy.title,
        home_region=policy.home_region,
        contacts=contacts,
        response_deadline_days=policy.response_deadline_days,
        child_age=policy.child_age,
        sells_personal_data=policy.sells_personal_data,
        categories={k: c.description for k, c in manifest.data_categories.items()},
        purposes={k: _purpose(p) for k, p in manifest.purposes.items()},
        touchpoints=touchpoints,
        recipients=recipients,
        retention=retention,
        brands={k: b.name for k, b in manifest.brands.items()},
        cookies=cookies,
    )


def _contact(contact: Contact) -> str:
    return ", ".join(
        part for part in (contact.name, contact.address, contact.email, contact.phone) if part
    )


def _purpose(purpose: Purpose) -> PurposeFacts:
    return PurposeFacts(
        purpose.name,
        purpose.legal_basis.value,
        tuple(purpose.categories),
        purpose.may_object,
        (purpose.description, purpose.legitimate_interest, purpose.notice),
    )


def compare(old: Manifest, new: Manifest) -> list[Change]:
    """The classified changes from manifest ``old`` to ``new``."""
    return diff(facts_of(old), facts_of(new))


def consent_text(purpose: Purpose) -> str:
    """What a person agrees to through a notice's consent link (recorded with the consent)."""
    return purpose.notice or f"{purpose.name}: {purpose.description}"
