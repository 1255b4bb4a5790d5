"""The one check that a brand named in a request is one the manifest declares."""

from __future__ import annotations

from charter.domain.errors import InvalidInput
from charter.manifest.models import Manifest


def require_brand(manifest: Manifest, brand: str) -> None:
    if brand not in manifest.brands:
        raise InvalidInput(f"no brand '{brand}' in the manifest", code="unknown_brand")
