"""Systems of kind ``webhook``: a hosted service (a forum, a blog, a chat) that carries out access,
erasure and rectification itself when Charter asks through its privacy webhook.

The protocol (docs/api.md, "Webhook systems"): Charter POSTs to the URL in the system's
``connection_env`` a JSON request

    {"request_id": "...", "action": "erase" | "access",
     "identities": {"email": ["..."], "account_id": ["..."]},
     "public_content": {"touchpoints": ["forum"], "on_erasure": "delete" | "deidentify",
                        "replacement": "Former member"}}

or, to correct the person's data (Art. 16), ``{"request_id", "action": "rectify", "identities",
"changes": {"<table>": {"<column>": "<new value>"}}}`` with only the changes meant for this
system, in the tables and columns the manifest declares for it (``charter.domain.rectification``).

signed with HMAC-SHA256 over the exact body under the secret in ``secret_env``, sent as
``Charter-Signature: sha256=<hex>`` (the same scheme as recipients' webhooks), with the request id
in ``Charter-Request``. Only the identity kinds of the touchpoints the system publishes are sent
(minimisation: the forum never had the person's phone number). The system answers 2xx with a
JSON object: for ``erase``, counts (``{"deleted": 2, "deidentified": 5}``), of which only counts
and flags are kept (``charter.domain.publication.answer_summary``); for ``access``, tables as
lists of rows (``{"posts": [{...}], "profile": [{...}]}``), which go into the access package; for
``rectify``, the rows changed per table (``{"profile": 1}``), of which only the counts of the
tables sent are kept (``rectified_counts``): an answer echoing the old values leaves no trace.

A request that fails (unreachable, not 2xx, an answer over the size limit) raises, and the
rights runner retries the step later; the URL unset means the step is done by hand instead, and
a secret named but unset too (Charter never sends an unsigned request the system expects
signed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from charter.domain.errors import InvalidInput
from charter.domain.publication import answer_summary, erasure_mode
from charter.domain.rectification import rectified_counts
from charter.manifest.models import Manifest, System

Post = Callable[[str, bytes, Mapping[str, str]], tuple[int, bytes]]
"""Sends a body to a URL with headers; returns the 2xx status and the answer, or raises."""


@dataclass(frozen=True, slots=True)
class PublicContent:
    """What a webhook system publishes: the touchpoints naming it as their ``publication``
    system, and what erasure does to their posts."""

    touchpoints: tuple[str, ...]
    on_erasure: str
    replacement: str
    identity_kinds: frozenset[str]


def public_content(manifest: Manifest, system_key: str) -> PublicContent:
    """The touchpoints publishing through ``system_key`` and their erasure rule."""
    published = [
        (key, touchpoint)
        for key, touchpoint in manifest.touchpoints.items()
        if touchpoint.publication is not None and touchpoint.publication.system == system_key
    ]
    mode, replacement = erasure_mode(
        (tp.publication.on_erasure.value, tp.publication.replacement)
        for _, tp in published
        if tp.publication is not None
    )
    kinds = frozenset(kind.value for _, tp in published for kind in tp.identities)
    return PublicContent(tuple(key for key, _ in published), mode, replacement, kinds)


def _variable(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise InvalidInput(f"the environment variable {name} is not set", code="system_unset")
    return value


class WebhookConnector:
    """One webhook system, its URL and secret read from the environment at each call."""

    def __init__(self, system_key: str, system: System, content: PublicContent, post: Post) -> None:
        self.system_key = system_key
        self.system = system
        self.content = content
        self._post = post

    def check(self) -> None:
        """Raise ``InvalidInput`` (``system_unset``) unless the URL, and the secret the manifest
        names, are set here."""
        if self.system.connection_env is None:
            raise InvalidInput(
                f"system '{self.system_key}' names no connection_env", code="system_unset"
            )
        _variable(self.system.connection_env)
        if self.system.secret_env is not None:
            _variable(self.system.secret_env)

    def erase(self, request_id: str, identities: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """Ask the system to erase the person (their posts deleted or de-identified); returns
        the step's summary, counts only."""
        answer = self._request(request_id, "erase", identities, self._public())
        return {
            "via": "webhook",
            "on_erasure": self.content.on_erasure,
            **answer_summary(answer),
        }

    def rectify(
        self,
        request_id: str,
        identities: Mapping[str, Sequence[str]],
        changes: Mapping[str, Mapping[str, Any]],
    ) -> dict[str, Any]:
        """Ask the system to correct the person's data (Art. 16): ``changes`` maps its tables to
        ``{column: new value}``; returns the step's summary, counts only."""
        answer = self._request(
            request_id, "rectify", identities, {"changes": {t: dict(c) for t, c in changes.items()}}
        )
        counts = rectified_counts(answer, changes)
        if not counts:  # done, by its 2xx; a system that says no counts is not said to count 0
            return {"via": "webhook"}
        return {"via": "webhook", "rows": sum(counts.values()), "rows_per_table": counts}

    def access(
        self, request_id: str, identities: Mapping[str, Sequence[str]]
    ) -> dict[str, list[dict[str, Any]]]:
        """The person's data in the system, as tables of rows (for the access package)."""
        answer = self._request(request_id, "access", identities, self._public())
        if not isinstance(answer, Mapping):
            return {}
        return {
            str(table): [dict(row) for row in rows if isinstance(row, Mapping)]
            for table, rows in answer.items()
            if isinstance(rows, list)
        }

    def _public(self) -> dict[str, Any]:
        return {
            "public_content": {
                "touchpoints": list(self.content.touchpoints),
                "on_erasure": self.content.on_erasure,
                "replacement": self.content.replacement,
            }
        }

    def _request(
        self,
        request_id: str,
        action: str,
        identities: Mapping[str, Sequence[str]],
        extra: Mapping[str, Any],
    ) -> Any:
        self.check()
        assert self.system.connection_env is not None  # check() refused otherwise
        kinds = self.content.identity_kinds
        body = json.dumps(
            {
                "request_id": request_id,
                "action": action,
                "identities": {
                    kind: sorted(values)
                    for kind, values in sorted(identities.items())
                    if values and (not kinds or kind in kinds)
                },
                **extra,
            },
            sort_keys=True,
        ).encode()
        headers = {"Charter-Request": request_id}
        if self.system.secret_env is not None:
            secret = _variable(self.system.secret_env)
            digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers["Charter-Signature"] = f"sha256={digest}"
        _, answer = self._post(_variable(self.system.connection_env), body, headers)
        if not answer.strip():
            return {}
        try:
            return json.loads(answer)
        except (ValueError, UnicodeDecodeError):
            return {}  # done, by its 2xx; an unreadable answer leaves no counts
