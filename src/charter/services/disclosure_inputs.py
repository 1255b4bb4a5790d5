"""What a caller gives to record a disclosure or take a step of an authority's request, and the
checks every such input passes before anything is written (``charter.services.disclosures``).

Apart from the service because the HTTP routes and the admin console build these inputs and
read their bounds (``MAX_DOCUMENT_BYTES``) without needing the ledger, and because the checks
are the same for a new disclosure and for a step: keys without repeats, printable text within
its bound, times with their zone, documents given either as an upload or as a reference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from charter.domain.disclosures import DisclosureKind
from charter.domain.errors import InvalidValue
from charter.services.values import printable

MAX_DOCUMENT_BYTES = 1024 * 1024
"""An upload's bound (the HTTP body limit, ``CHARTER_MAX_BODY_BYTES``, applies first)."""
MAX_DOCUMENTS = 10
"""Documents per step."""
CLOCK_SKEW = dt.timedelta(minutes=5)
"""How far in the future ``occurred_at`` may lie (a caller's clock running ahead)."""


@dataclass(frozen=True, slots=True)
class DocumentInput:
    """An upload (``content``) or a reference to where the document is kept; not both."""

    name: str
    content: bytes | None = None
    reference: str | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class NewDisclosure:
    kind: str
    recipient: str
    categories: Sequence[str]
    purposes: Sequence[str] = ()
    brand: str | None = None
    identities: Mapping[str, Any] | None = None
    occurred_at: dt.datetime | None = None
    """When the share was made, or when the request or order was received; now if omitted."""
    authority: str | None = None
    """The authority or court, for ``authority_request`` and ``court_order``."""
    legal_reference: str | None = None
    note: str | None = None
    documents: Sequence[DocumentInput] = ()
    confidential: bool = False
    confidential_until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class DisclosureStep:
    note: str
    to: str | None = None
    reasons: str | None = None
    legal_reference: str | None = None
    categories: Sequence[str] | None = None
    """The scope decided: the categories to disclose (with ``to="scope_decided"``)."""
    documents: Sequence[DocumentInput] = ()
    occurred_at: dt.datetime | None = None
    confidential: bool | None = None
    confidential_until: dt.datetime | None = None


def disclosure_kind(value: str) -> DisclosureKind:
    try:
        return DisclosureKind(value)
    except ValueError:
        raise InvalidValue(f"kind: one of {', '.join(k.value for k in DisclosureKind)}") from None


def checked_keys(values: Iterable[str], where: str) -> list[str]:
    """Keys without repeats, in the order given."""
    found = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise InvalidValue(f"{where}: keys are non-empty strings")
        printable(value, where)
        found.append(value.strip())
    return list(dict.fromkeys(found))


def checked_text(value: str | None, where: str, limit: int) -> str | None:
    if value is None:
        return None
    text = printable(value, where).strip()
    if len(text) > limit:
        raise InvalidValue(f"{where}: at most {limit} characters")
    return text or None


def aware(moment: dt.datetime | None, where: str) -> dt.datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidValue(f"{where}: give the time zone (for example 2026-06-01T09:30:00Z)")
    return moment.astimezone(dt.UTC)


def checked_documents(documents: Sequence[DocumentInput]) -> list[DocumentInput]:
    if len(documents) > MAX_DOCUMENTS:
        raise InvalidValue(f"documents: at most {MAX_DOCUMENTS} at a time")
    checked = []
    for i, document in enumerate(documents):
        where = f"documents[{i}]"
        name = checked_text(document.name, f"{where}.name", 200)
        if not name:
            raise InvalidValue(f"{where}.name: name the document")
        if (document.content is None) == (document.reference is None):
            raise InvalidValue(f"{where}: give either its content or a reference, not both")
        if document.content is not None and len(document.content) > MAX_DOCUMENT_BYTES:
            raise InvalidValue(f"{where}.content: at most {MAX_DOCUMENT_BYTES} bytes")
        if document.content is not None and not document.content:
            raise InvalidValue(f"{where}.content: the document is empty")
        reference = checked_text(document.reference, f"{where}.reference", 500)
        if document.reference is not None and not reference:
            raise InvalidValue(f"{where}.reference: say where the document is kept")
        content_type = checked_text(document.content_type, f"{where}.content_type", 100)
        checked.append(DocumentInput(name, document.content, reference, content_type))
    return checked
