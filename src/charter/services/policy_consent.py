"""The consent a policy notice asks for, by a signed link (GDPR Art. 4(11), 7).

A new version whose change brings in a purpose resting on consent tells the people concerned
(``charter.services.policy_versions``) and asks them for it: their e-mail carries a link signed
for that version, person, purpose and the brands they dealt with. Opening it shows what is
asked and changes nothing (mail scanners fetch links); agreeing records one consent event per
brand, method ``email_link``, with the text shown as the notice. Silence is no consent: nobody
who does not agree is counted as agreeing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from charter.domain.consent import ConsentMethod
from charter.domain.errors import Conflict, InvalidInput, NotFound
from charter.manifest.models import LegalBasis
from charter.services.consents import ConsentRequest, ConsentService, RecordedConsent
from charter.services.policy_facts import consent_text
from charter.storage.subjects import SubjectRepository

if TYPE_CHECKING:
    from charter.services.policy_versions import PolicyVersionService

SCOPE = "policy_consent"
"""The signed links' scope: a token made for another kind of link is refused here."""


@dataclass(frozen=True)
class ConsentAsk:
    """What a notice's consent link asks, from the version that brought the purpose in."""

    version: str
    subject_id: str
    purpose: str
    purpose_name: str
    text: str
    brands: list[str]
    brand_names: list[str]
    effective_on: dt.date


class PolicyConsent:
    def __init__(self, versions: PolicyVersionService, consents: ConsentService) -> None:
        self.versions = versions
        self.consents = consents

    def ask(self, token: str) -> ConsentAsk:
        """What a consent link asks; ``NotFound`` for a tampered or foreign token, and for a
        link whose version or person is gone (one answer for all, revealing nothing)."""
        store = self.versions.store
        parts = store.vault.verify(SCOPE, token)
        invalid = NotFound("this consent link is not valid", code="invalid_token")
        if parts is None or len(parts) < 4:
            raise invalid
        version, subject_id, purpose_key, *brands = parts
        try:
            manifest, effective_on = self.versions.manifest_of(version, listed=False)
        except NotFound:
            raise invalid from None
        purpose = manifest.purposes.get(purpose_key)
        if purpose is None:
            raise invalid
        with store.read() as connection:
            if SubjectRepository(connection, store.vault).resolve(subject_id) is None:
                raise invalid
        return ConsentAsk(
            version,
            subject_id,
            purpose_key,
            purpose.name,
            consent_text(purpose),
            brands,
            [manifest.brands[b].name if b in manifest.brands else b for b in brands],
            effective_on,
        )

    def give(self, token: str) -> list[RecordedConsent]:
        """Record the consent a link asks for, for each brand it names. Refused (``Conflict``)
        while this server does not enforce the purpose yet (a version published from a file
        before the server runs it)."""
        ask = self.ask(token)
        running = self.versions.manifest
        purpose = running.purposes.get(ask.purpose)
        brands = [b for b in ask.brands if b in running.brands]
        if purpose is None or purpose.legal_basis is not LegalBasis.CONSENT or not brands:
            raise Conflict(
                f"{ask.purpose_name} is not in force here yet; please try again from "
                f"{ask.effective_on:%d %B %Y}",
                code="purpose_not_in_force",
            )
        try:
            return self.consents.record_all(
                [
                    ConsentRequest(
                        brand=brand,
                        purpose=ask.purpose,
                        action="give",
                        method=ConsentMethod.EMAIL_LINK.value,
                        notice=ask.text,
                        subject_id=ask.subject_id,
                    )
                    for brand in brands
                ]
            )
        except InvalidInput as error:
            if error.code == "unknown_subject":  # erased since the link was sent
                raise NotFound("this consent link is not valid", code="invalid_token") from None
            raise
