"""Telling recipients of an erasure: who is told, and the signed webhook notice, delivered to a
real HTTPS server on loopback (``https_endpoint``: a self-signed certificate the test trusts)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import pytest

from charter.domain.requests import RequestType
from charter.facade import Charter
from charter.manifest.models import RecipientNotice
from charter.services.delivery import DeliveryFailed
from charter.services.notices import Notifier, recipients_to_notify

NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)


def test_only_holders_of_the_data_are_told(charter: Charter) -> None:
    manifest = charter.manifest
    told = recipients_to_notify(manifest, ["user.contact.email"])
    for key in told:
        assert manifest.recipients[key].kind.value in ("processor", "affiliate", "third_party")
    assert recipients_to_notify(manifest, ["no.such.category"]) == []


def test_a_signed_notice_reaches_the_webhook(
    charter: Charter, https_endpoint: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = next(iter(charter.manifest.recipients))
    notice = RecipientNotice(
        webhook=https_endpoint["url"], secret_env="CHARTER_TEST_WEBHOOK_SECRET"
    )
    recipients = dict(charter.manifest.recipients)
    recipients[key] = recipients[key].model_copy(update={"notify": notice})
    manifest = charter.manifest.model_copy(update={"recipients": recipients})
    monkeypatch.setenv("CHARTER_TEST_WEBHOOK_SECRET", "s3cret-for-tests")
    notifier = Notifier(manifest, charter.store, charter.outbox)
    summary = notifier.notify(
        key, "req-1", RequestType.ERASURE, {"email": ["ann@example.org"]}, NOW
    )
    assert summary == {"via": "webhook", "recipient": key, "status": 204}
    [body] = https_endpoint["bodies"]
    notice = json.loads(body)
    assert notice == {
        "request_id": "req-1",
        "type": "erasure",
        "recipient": key,
        "identities": {"email": ["ann@example.org"]},
        "sent_at": NOW.isoformat(),
    }
    expected = hmac.new(b"s3cret-for-tests", body, hashlib.sha256).hexdigest()
    assert https_endpoint["headers"][0]["Charter-Signature"] == f"sha256={expected}"
    https_endpoint["status"] = 503
    with pytest.raises(DeliveryFailed, match="503"):
        notifier.notify(key, "req-2", RequestType.ERASURE, {"email": ["ann@example.org"]}, NOW)
    monkeypatch.delenv("CHARTER_TEST_WEBHOOK_SECRET")
    with pytest.raises(Exception, match="CHARTER_TEST_WEBHOOK_SECRET"):
        notifier.notify(key, "req-3", RequestType.ERASURE, {"email": ["ann@example.org"]}, NOW)
