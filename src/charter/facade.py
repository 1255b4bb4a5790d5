"""``charter.Charter``: the Python API that the HTTP API and the CLI are thin shells over."""

from __future__ import annotations

from typing import Any

from charter.bootstrap import load
from charter.config import Settings
from charter.domain.clock import Clock, system_clock
from charter.domain.consent import ANY_CHANNEL
from charter.domain.decisions import Decision
from charter.domain.permissions import Permission
from charter.manifest import Manifest
from charter.services.collection import (
    CollectionService,
    ConsentInput,
    Submission,
    SubmissionReceipt,
)
from charter.services.consents import ConsentRequest, ConsentService, RecordedConsent
from charter.services.decisions import DecisionService
from charter.services.tokens import Caller, IssuedToken, TokenService
from charter.storage.store import Store


class Charter:
    """One company's Charter: its manifest enforced over its store.

    ``Charter.open()`` reads ``CHARTER_*`` settings; tests build one from parts.
    """

    def __init__(self, manifest: Manifest, store: Store, clock: Clock = system_clock) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self._collection = CollectionService(manifest, store, clock)
        self._tokens = TokenService(store, clock)
        self._consents = ConsentService(manifest, store, clock)
        self.decisions = DecisionService(manifest, store)

    @classmethod
    def open(cls, settings: Settings | None = None, clock: Clock = system_clock) -> Charter:
        manifest, store = load(settings or Settings())
        return cls(manifest, store, clock)

    def close(self) -> None:
        self.store.dispose()

    def __enter__(self) -> Charter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def submit(
        self,
        touchpoint: str,
        *,
        brand: str,
        identities: dict[str, Any],
        data: dict[str, Any] | None = None,
        consents: list[dict[str, str]] | None = None,
    ) -> SubmissionReceipt:
        """Collect a form submission at ``touchpoint`` (refused whole if anything is undeclared)."""
        return self._collection.submit(
            touchpoint,
            Submission(
                brand=brand,
                identities=identities,
                data=data or {},
                consents=[ConsentInput(c["purpose"], c["notice"]) for c in consents or []],
            ),
        )

    def record_consent(self, request: ConsentRequest) -> RecordedConsent:
        """Append one consent event (give, withdraw or refuse) for one purpose."""
        return self._consents.record(request)

    def decide(
        self,
        purpose: str,
        categories: list[str] | tuple[str, ...] = (),
        *,
        brand: str,
        subject_id: str | None = None,
        identities: dict[str, Any] | None = None,
        channel: str = ANY_CHANNEL,
    ) -> Decision:
        """May ``purpose`` use these ``categories`` of the person's data now, and why (not)."""
        return self.decisions.decide(brand, purpose, categories, subject_id, identities, channel)

    def decide_many(
        self, purpose: str, categories: list[str], *, brand: str, subject_ids: list[str]
    ) -> list[Decision]:
        return self.decisions.decide_many(brand, purpose, categories, subject_ids)

    def create_token(self, role: str, name: str = "") -> IssuedToken:
        return self._tokens.create(role, name)

    def revoke_token(self, token_id: str) -> None:
        self._tokens.revoke(token_id)

    def authorise(self, token: str | None, permission: Permission) -> Caller:
        return self._tokens.authorise(token, permission)
