"""The public privacy policy, rendered from the manifest (nothing in it is written twice)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from charter.domain.errors import NotFound
from charter.manifest.models import LegalBasis, Manifest

BASIS_TEXT = {
    LegalBasis.CONSENT: "your consent",
    LegalBasis.CONTRACT: "performance of a contract with you",
    LegalBasis.LEGITIMATE_INTEREST: "our legitimate interests",
    LegalBasis.LEGAL_OBLIGATION: "a legal obligation",
    LegalBasis.VITAL_INTEREST: "protection of someone's vital interests",
    LegalBasis.PUBLIC_TASK: "a task in the public interest",
}


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("charter.manifest", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def policy_context(manifest: Manifest, brand: str | None = None) -> dict[str, Any]:
    if brand is not None and brand not in manifest.brands:
        raise NotFound(f"no brand '{brand}' in the manifest", code="unknown_brand")
    touchpoints = {
        key: tp
        for key, tp in manifest.touchpoints.items()
        if brand is None or brand in manifest.touchpoint_brands(tp)
    }
    collected = {
        key: list(
            dict.fromkeys(
                spec.description or manifest.data_categories[spec.category].description
                for spec in tp.fields.values()
            )
        )
        for key, tp in touchpoints.items()
    }
    return {
        "m": manifest,
        "policy": manifest.policy,
        "brand": manifest.brands[brand] if brand else None,
        "touchpoints": touchpoints,
        "collected": collected,
        "categories": manifest.data_categories,
        "basis_text": BASIS_TEXT,
    }


def render_policy_html(manifest: Manifest, brand: str | None = None) -> str:
    """The policy as a complete, accessible HTML page (per brand when ``brand`` is given)."""
    return _environment().get_template("policy.html.j2").render(**policy_context(manifest, brand))


@cache
def policy_styles() -> tuple[str, ...]:
    """The exact text of the policy page's inline ``<style>`` blocks. The page keeps its CSS
    inline so that ``charter policy render`` writes one self-contained file; served, its CSP
    allows these blocks by hash. They hold no template code, so the source is the output."""
    environment = _environment()
    assert environment.loader is not None
    source, _, _ = environment.loader.get_source(environment, "policy.html.j2")
    return tuple(re.findall(r"<style>(.*?)</style>", source, re.S))
