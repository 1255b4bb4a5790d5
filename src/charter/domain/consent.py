"""The consent ledger's rules: events in, current state out (GDPR Art. 7).

Consent is recorded as append-only events per brand, purpose and channel. The current state of
each (brand, purpose, channel) is the last event's outcome: ``given`` and ``renewed`` make it
valid for the purpose version they name; ``withdrawn``, ``refused`` and ``expired`` end it.
Withdrawal is as easy as giving (Art. 7(3)): one event, no conditions. A consent counts only for
the purpose version it was given to; when the manifest raises a purpose's ``notice_version``
(a material change of what is asked), earlier consents stop counting until renewed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

ANY_CHANNEL = "any"
PARENT_CHANNEL = "parent"
"""The channel of a parent's consent to a purpose for their child (Art. 8): written only when a
parent confirms through the link e-mailed to them (``charter.services.children``)."""
CUSTOMER_CHANNEL = "customer"
"""The channel of a soft opt-in relationship (ePrivacy Directive Art. 13(2)), not a consent: a
``given`` entry, method ``soft_opt_in``, is written when a submission at a touchpoint the
purpose names makes the person an existing customer of that brand (``charter.services.
soft_opt_in``); ``expired`` when the relationship lapses. Consent counts leave it out."""


class ConsentAction(StrEnum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    REFUSED = "refused"
    EXPIRED = "expired"
    RENEWED = "renewed"


class ConsentMethod(StrEnum):
    FORM_CHECKBOX = "form_checkbox"
    BANNER = "banner"
    EMAIL_LINK = "email_link"
    API = "api"
    PARENTAL_EMAIL = "parental_email"  # a parent confirmed through a link e-mailed to them
    GPC = "gpc"
    EXPIRY = "expiry"  # the consent's term ran out (a cookie banner's 13 months)
    SOFT_OPT_IN = "soft_opt_in"  # a sale or registration made the person an existing customer


class Channel(StrEnum):
    ANY = ANY_CHANNEL
    EMAIL = "email"
    SMS = "sms"
    POST = "post"
    WEB = "web"
    PARENT = PARENT_CHANNEL
    CUSTOMER = CUSTOMER_CHANNEL


GRANTING = frozenset({ConsentAction.GIVEN, ConsentAction.RENEWED})


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    brand: str
    purpose: str
    channel: str
    action: ConsentAction
    purpose_version: int
    occurred_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """The outcome of the last event for one (brand, purpose, channel)."""

    action: ConsentAction
    purpose_version: int
    at: dt.datetime

    @property
    def granted(self) -> bool:
        return self.action in GRANTING


ConsentKey = tuple[str, str, str]  # brand, purpose, channel


def apply_event(
    records: Mapping[ConsentKey, ConsentRecord], event: ConsentEvent
) -> dict[ConsentKey, ConsentRecord]:
    """The records after ``event``. Events older than the current record do not overturn it,
    so a late-arriving event (a retried API call) cannot resurrect a withdrawn consent."""
    key = (event.brand, event.purpose, event.channel)
    current = records.get(key)
    updated = dict(records)
    if current is None or event.occurred_at >= current.at:
        updated[key] = ConsentRecord(event.action, event.purpose_version, event.occurred_at)
    return updated


def fold(events: Iterable[ConsentEvent]) -> dict[ConsentKey, ConsentRecord]:
    """Current records from a full history (the state is always derivable from the ledger)."""
    records: dict[ConsentKey, ConsentRecord] = {}
    for event in sorted(events, key=lambda e: e.occurred_at):
        records = apply_event(records, event)
    return records


def switched_off(current: ConsentRecord | None) -> ConsentAction:
    """What turning a purpose off records: a withdrawal of a consent that stands (Art. 7(3)),
    else a refusal."""
    return (
        ConsentAction.WITHDRAWN
        if current is not None and current.granted
        else ConsentAction.REFUSED
    )


def notice_hash(text: str) -> str:
    """The key of a notice's text in the ledger: what was shown, by its SHA-256."""
    return hashlib.sha256(text.encode()).hexdigest()
