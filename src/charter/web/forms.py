"""What the console's forms send, read for the services: a date and time typed in a form, and the
data categories a form offers as checkboxes (the declared ones and the groups above them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from charter.domain.errors import InvalidValue
from charter.manifest.models import Manifest
from charter.services.breach_notices import category_names


def typed_moment(value: str, name: str, *, required: bool = False) -> dt.datetime | None:
    """A date and time typed in a form (``datetime-local``: no zone), taken as UTC; a date alone
    (``date``) is its start, 00:00 UTC. Empty is ``None``, or refused when ``required``."""
    if not value.strip():
        if required:
            raise InvalidValue(f"{name}: required (a date and time, UTC)")
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidValue(f"{name}: a date and time such as 2026-03-01T09:30 (UTC)") from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def category_groups(categories: Iterable[str]) -> list[str]:
    """The group keys above the declared categories (``user.contact`` above its members)."""
    declared = set(categories)
    groups = {
        ".".join(key.split(".")[:depth])
        for key in declared
        for depth in range(2, key.count(".") + 1)
    }
    return sorted(groups - declared)


def category_choices(
    manifest: Manifest, also: Iterable[str] = ()
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The checkboxes of a form's categories: the groups (each with its members' words), then
    the declared categories (each with its description). ``also``: keys to offer besides (those
    a recipient declares), shown as groups when they are not declared categories."""
    declared = list(manifest.data_categories)
    groups = sorted(set(category_groups(declared)) | (set(also) - set(declared)))
    return (
        [(key, category_names(manifest, [key], keys=False)[0]) for key in groups],
        [(key, manifest.data_categories[key].description) for key in declared],
    )
