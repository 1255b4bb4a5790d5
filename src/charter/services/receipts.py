"""Consent receipts: one JSON document per consent event, in the Kantara Initiative Consent
Receipt Specification v1.1 shape, built from the ledger row, its notice and the manifest.

The person downloads a receipt by a signed link without logging in; the link names the event
only (``piiPrincipalId`` is the subject id, never an email address). A receipt is rebuilt on
each download, so it always carries the current subject id after a merge, and its
``consentReceiptID`` is derived from the event so two downloads are the same receipt. Fields the
specification does not have (the action recorded, the notice text, versions) are kept under
``charter``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from charter.domain.consent import CUSTOMER_CHANNEL
from charter.domain.errors import Forbidden, NotFound
from charter.manifest.models import Manifest, RecipientKind, Sensitivity
from charter.storage.store import Store
from charter.storage.tables import consent_events, notices

RECEIPT_SCOPE = "consent-receipt"
VERSION = "KI-CR-v1.1.0"
_NAMESPACE = uuid.UUID("6b1a3c56-3f0e-4d7e-9a53-0c6f1e2d4b7a")
_METHODS = {
    "form_checkbox": "web form, unticked checkbox",
    "banner": "cookie banner",
    "email_link": "link in an email",
    "api": "recorded through the API by the controller's systems",
    "parental_email": "confirmed by a parent or guardian through a link e-mailed to them",
    "gpc": "Global Privacy Control browser signal",
}


class ReceiptService:
    def __init__(self, manifest: Manifest, store: Store, public_base_url: str) -> None:
        self.manifest = manifest
        self.store = store
        self.base_url = public_base_url.rstrip("/")

    def token(self, event_id: int) -> str:
        return self.store.vault.sign(RECEIPT_SCOPE, str(event_id))

    def url(self, event_id: int) -> str:
        token = quote(self.token(event_id), safe="")
        return f"{self.base_url}/v1/consents/receipts/{event_id}?token={token}"

    def check(self, event_id: int, token: str) -> None:
        """403 ``invalid_token`` unless ``token`` was made for this event."""
        if self.store.vault.verify(RECEIPT_SCOPE, token) != [str(event_id)]:
            raise Forbidden("the receipt link is not valid", code="invalid_token")

    def receipt(self, event_id: int) -> dict[str, Any]:
        with self.store.read() as connection:
            row = connection.execute(
                select(consent_events, notices.c.text.label("notice_text"))
                .join(notices, notices.c.hash == consent_events.c.notice_hash)
                .where(consent_events.c.id == event_id)
            ).one_or_none()
        if row is None:
            raise NotFound(f"no consent event {event_id}", code="unknown_receipt")
        if row.channel == CUSTOMER_CHANNEL:
            # A soft opt-in relationship (ePrivacy Directive Art. 13(2)) is no consent: a
            # consent receipt for it would tell the person they consented.
            raise NotFound(
                f"event {event_id} records a soft opt-in as an existing customer, not a consent",
                code="unknown_receipt",
            )
        return self._build(row)

    def _build(self, row: Any) -> dict[str, Any]:
        manifest = self.manifest
        policy = manifest.policy
        controller = policy.controller
        occurred: dt.datetime = row.occurred_at
        if occurred.tzinfo is None:  # SQLite returns naive UTC
            occurred = occurred.replace(tzinfo=dt.UTC)
        brand = manifest.brands.get(row.brand)
        purpose = manifest.purposes.get(row.purpose)
        categories = list(purpose.categories) if purpose else []
        sensitive = [
            key
            for key in categories
            if (spec := manifest.data_categories.get(key)) is not None
            and spec.sensitivity in (Sensitivity.SENSITIVE, Sensitivity.SPECIAL)
        ]
        third_parties = [
            recipient.name
            for recipient in manifest.recipients.values()
            if row.purpose in recipient.purposes and recipient.kind is not RecipientKind.PROCESSOR
        ]
        purpose_entry: dict[str, Any] = {
            "purpose": purpose.description if purpose else row.purpose,
            "purposeCategory": [purpose.data_use] if purpose else [],
            "consentType": "EXPLICIT",
            "piiCategory": categories,
            "primaryPurpose": bool(purpose and purpose.data_use.startswith("essential")),
            "termination": (
                "Until you withdraw it, which you can do at any time as easily as you gave it; "
                "it also ends when the purpose's notice changes materially."
            ),
            "thirdPartyDisclosure": bool(third_parties),
        }
        if third_parties:
            purpose_entry["thirdPartyName"] = ", ".join(third_parties)
        return {
            "version": VERSION,
            "jurisdiction": row.jurisdiction or policy.home_region,
            "consentTimestamp": int(occurred.timestamp()),
            "collectionMethod": _METHODS.get(row.method, row.method)
            + (f" at touchpoint '{row.touchpoint}'" if row.touchpoint else ""),
            "consentReceiptID": str(
                uuid.uuid5(_NAMESPACE, f"{row.id}:{row.notice_hash}:{occurred.isoformat()}")
            ),
            "language": row.language or (brand.default_language if brand else "en"),
            "piiPrincipalId": row.subject_id,
            "piiControllers": [
                {
                    "piiController": controller.name,
                    "onBehalf": False,
                    "contact": (policy.dpo or controller).name,
                    "address": controller.address,
                    "email": (policy.dpo or controller).email,
                    "phone": controller.phone or "",
                    "piiControllerUrl": f"{self.base_url}/policy",
                }
            ],
            "policyUrl": f"{self.base_url}/policy"
            + (f"?brand={quote(row.brand)}" if brand else ""),
            "services": [
                {"service": brand.name if brand else row.brand, "purposes": [purpose_entry]}
            ],
            "sensitive": bool(sensitive),
            "spiCat": sensitive,
            "charter": {
                "eventId": row.id,
                "brand": row.brand,
                "purposeKey": row.purpose,
                "purposeVersion": row.purpose_version,
                "action": row.action,
                "channel": row.channel,
                "method": row.method,
                "touchpoint": row.touchpoint,
                "policyVersion": row.policy_version,
                "notice": row.notice_text,
                "noticeSha256": row.notice_hash,
                "occurredAt": occurred.isoformat(),
            },
        }
