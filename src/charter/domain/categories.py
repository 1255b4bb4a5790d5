"""Category keys are dotted paths (fideslang): ``user.contact`` covers ``user.contact.email``."""

from __future__ import annotations

from collections.abc import Iterable


def covers(parent: str, child: str) -> bool:
    """Whether category ``parent`` is ``child`` or one of its ancestors."""
    return child == parent or child.startswith(parent + ".")


def covered_by_any(category: str, parents: Iterable[str]) -> bool:
    return any(covers(parent, category) for parent in parents)
