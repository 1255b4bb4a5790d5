"""The fideslang vocabulary (Ethyca, CC BY 4.0): data category and data use keys.

Charter's manifest uses these keys so that a Fides data map can be imported unchanged. A manifest
may add its own keys as long as each extends a fideslang key (``user.payment.token`` extends
``user.payment``).
"""

from __future__ import annotations

from functools import cache


@cache
def fideslang_categories() -> frozenset[str]:
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return frozenset(item.fides_key for item in DEFAULT_TAXONOMY.data_category)


@cache
def fideslang_data_uses() -> frozenset[str]:
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return frozenset(item.fides_key for item in DEFAULT_TAXONOMY.data_use)


def extends_vocabulary(key: str, vocabulary: frozenset[str]) -> bool:
    """Whether ``key`` is in ``vocabulary`` or extends one of its keys by more dotted parts."""
    if key in vocabulary:
        return True
    # Extending a top-level key ("user.anything") would say nothing; require a two-part parent.
    parts = key.split(".")
    return any(".".join(parts[:end]) in vocabulary for end in range(len(parts) - 1, 1, -1))
