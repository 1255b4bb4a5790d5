"""The manifest's purposes compiled into decision rules, once per manifest."""

from __future__ import annotations

from charter.domain.decisions import PurposeRule
from charter.manifest.models import LegalBasis, Manifest, Purpose

# Restriction (Art. 18(2)) still allows storage and the establishment or defence of legal claims.
_RESTRICTION_EXEMPT_USES = ("essential.legal_obligation", "functional.storage")
# Uses that GPC and a "do not sell or share" opt-out switch off.
SALE_OR_SHARING_USES = ("marketing.advertising", "third_party_sharing")


def _under(data_use: str, prefixes: tuple[str, ...]) -> bool:
    return any(data_use == p or data_use.startswith(p + ".") for p in prefixes)


def is_marketing(purpose: Purpose) -> bool:
    return purpose.direct_marketing or _under(purpose.data_use, ("marketing",))


def is_sale_or_sharing(purpose: Purpose) -> bool:
    return _under(purpose.data_use, SALE_OR_SHARING_USES)


def compile_rule(key: str, purpose: Purpose) -> PurposeRule:
    return PurposeRule(
        key=key,
        basis=purpose.legal_basis.value,
        categories=frozenset(purpose.categories),
        version=purpose.notice_version,
        objectable=purpose.may_object or purpose.direct_marketing,
        marketing=is_marketing(purpose),
        restriction_exempt=purpose.legal_basis is LegalBasis.LEGAL_OBLIGATION
        or _under(purpose.data_use, _RESTRICTION_EXEMPT_USES),
        minors=purpose.minors.value,
    )


def compile_rules(manifest: Manifest) -> dict[str, PurposeRule]:
    return {key: compile_rule(key, purpose) for key, purpose in manifest.purposes.items()}
