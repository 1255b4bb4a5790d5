"""The transfers register, and a copy of a transfer's safeguard to whoever asks (GDPR Chapter V).

The register is derived from the manifest, so that it says what the policy says: every recipient
with a country outside ``policy.home_region`` (``charter.domain.regions``), its mechanism (an
adequacy decision, Art. 45; standard contractual clauses with their module, Art. 46(2)(c);
binding corporate rules, Art. 47; a derogation, Art. 49), the reference of the decision or
contract, the categories and purposes it receives; and beside it how many disclosures the
ledger records to it (``charter.services.disclosures``). A recipient outside the region with
no mechanism stays in the register with none: the gap must show (the lint rule
``transfer_mechanism`` refuses such a manifest before it is published).

A person may obtain a copy of the safeguards (Art. 13(1)(f), 14(1)(f), 46): they ask for one
recipient's, and the mechanism, its reference and where to read it (``transfer.copy_url``) are
mailed to the address they give, through the outbox in the transaction that records the
request in the audit log (which names the recipient and brand, never the address).
"""

from __future__ import annotations

from dataclasses import dataclass

from charter.domain.clock import Clock
from charter.domain.errors import NotFound
from charter.domain.regions import in_region
from charter.manifest.models import Manifest, Recipient
from charter.services.brands import require_brand
from charter.services.disclosures import DisclosureService
from charter.services.outbox import Message, Outbox
from charter.services.package_manifest import MECHANISM_TEXT
from charter.services.values import normalise_email
from charter.storage.audit import append_audit
from charter.storage.store import Store

ACTOR = "person"


@dataclass(frozen=True, slots=True)
class TransferEntry:
    recipient: str
    name: str
    kind: str
    country: str
    mechanism: str | None
    mechanism_text: str | None
    module: int | None
    reference: str | None
    copy_url: str | None
    categories: list[str]
    purposes: list[str]
    disclosures: int
    """Disclosures made to the recipient according to the ledger."""


def _outside(manifest: Manifest, recipient: Recipient) -> bool:
    return recipient.country is not None and not in_region(
        recipient.country, manifest.policy.home_region
    )


def _mechanism_text(recipient: Recipient) -> str | None:
    if recipient.transfer is None:
        return None
    text = MECHANISM_TEXT[recipient.transfer.mechanism]
    if recipient.transfer.module:
        text += f", module {recipient.transfer.module}"
    return text


class TransferService:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        outbox: Outbox,
        disclosures: DisclosureService,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.outbox = outbox
        self.disclosures = disclosures

    def register(self) -> list[TransferEntry]:
        """The recipients outside the home region, in manifest order (see the module doc)."""
        counts = self.disclosures.counts_by_recipient()
        found = []
        for key, r in self.manifest.recipients.items():
            if not _outside(self.manifest, r):
                continue
            assert r.country is not None
            found.append(
                TransferEntry(
                    recipient=key,
                    name=r.name,
                    kind=r.kind.value,
                    country=r.country,
                    mechanism=r.transfer.mechanism.value if r.transfer else None,
                    mechanism_text=_mechanism_text(r),
                    module=r.transfer.module if r.transfer else None,
                    reference=r.transfer.reference if r.transfer else None,
                    copy_url=r.transfer.copy_url if r.transfer else None,
                    categories=list(r.categories),
                    purposes=list(r.purposes),
                    disclosures=counts.get(key, 0),
                )
            )
        return found

    def send_safeguard(self, recipient_key: str, email: str, brand: str) -> None:
        """Mail a copy of the safeguard of the transfer to ``recipient_key`` to ``email``."""
        require_brand(self.manifest, brand)
        address = normalise_email(email, "email")
        recipient = self.manifest.recipients.get(recipient_key)
        if recipient is None or not _outside(self.manifest, recipient) or not recipient.transfer:
            raise NotFound(
                f"no transfer to '{recipient_key}' in the register", code="unknown_transfer"
            )
        transfer = recipient.transfer
        controller = self.manifest.policy.controller
        brand_name = self.manifest.brands[brand].name
        lines = [
            "Hello,",
            "",
            f"You asked {brand_name} for a copy of the safeguards that protect your personal data "
            f"when it is transferred to {recipient.name} in {recipient.country}, outside the "
            f"region whose law governs it ({self.manifest.policy.home_region}).",
            "",
            f"The transfer rests on {_mechanism_text(recipient)}.",
        ]
        if transfer.reference:
            lines.append(f"Reference: {transfer.reference}")
        if transfer.copy_url:
            lines += ["", f"You can read the safeguard itself here: {transfer.copy_url}"]
        lines += [
            "",
            f"If you have questions, write to {controller.name}, {controller.email}.",
            "",
            f"{controller.name}",
        ]
        now = self.clock()
        with self.store.write() as connection:
            self.outbox.enqueue(
                connection,
                Message(
                    to=address,
                    subject=f"{brand_name}: the safeguards for transfers to {recipient.name}",
                    body="\n".join(lines) + "\n",
                    kind="transfer_safeguard",
                    sender=controller.email,
                ),
                now,
            )
            append_audit(
                connection,
                at=now,
                actor=ACTOR,
                action="transfer.safeguard_sent",
                target=recipient_key,
                details={"brand": brand, "mechanism": transfer.mechanism.value},
            )
        self.outbox.deliver()
