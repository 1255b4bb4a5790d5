"""The webhook connector against a real HTTPS server on loopback (``https_endpoint``): the signed
request of the protocol (docs/api.md, "Webhook systems"), the answer kept as counts only, the
access tables, and the variables that must be set."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from charter.connectors.webhook import WebhookConnector, public_content
from charter.domain.errors import InvalidInput
from charter.manifest import load_manifest
from charter.services.delivery import DeliveryFailed, post_json_answer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
SECRET = "s3cret-for-tests"
PERSON = {
    "email": ["dev@example.org"],
    "account_id": ["acct-7"],
    "phone": ["+12025550133"],  # the forum never had it: not sent
}


def post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
    return post_json_answer(url, body, headers, allow_private=True)


@pytest.fixture
def forum(https_endpoint: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> WebhookConnector:
    monkeypatch.setenv("FORUM_PRIVACY_WEBHOOK_URL", https_endpoint["url"])
    monkeypatch.setenv("FORUM_PRIVACY_WEBHOOK_SECRET", SECRET)
    manifest = load_manifest(EXAMPLE)
    return WebhookConnector(
        "forum", manifest.systems["forum"], public_content(manifest, "forum"), post
    )


def test_erase_posts_the_signed_request_and_keeps_only_counts(
    forum: WebhookConnector, https_endpoint: dict[str, Any]
) -> None:
    https_endpoint["status"] = 200
    https_endpoint["answer"] = json.dumps(
        {"deleted": 2, "deidentified": 5, "author": "DJ Example", "posts": ["Hello"]}
    ).encode()
    summary = forum.erase("req-1", PERSON)
    assert summary == {
        "via": "webhook",
        "on_erasure": "deidentify",
        "deleted": 2,
        "deidentified": 5,
    }
    [raw] = https_endpoint["bodies"]
    assert json.loads(raw) == {
        "request_id": "req-1",
        "action": "erase",
        "identities": {"account_id": ["acct-7"], "email": ["dev@example.org"]},
        "public_content": {
            "touchpoints": ["forum"],
            "on_erasure": "deidentify",
            "replacement": "Former member",
        },
    }
    headers = https_endpoint["headers"][0]
    expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["Charter-Signature"] == f"sha256={expected}"
    assert headers["Charter-Request"] == "req-1"


def test_access_returns_the_systems_tables(
    forum: WebhookConnector, https_endpoint: dict[str, Any]
) -> None:
    https_endpoint["status"] = 200
    https_endpoint["answer"] = json.dumps(
        {"posts": [{"url": "https://forum.example/t/1", "text": "Hi"}], "note": "ignored"}
    ).encode()
    assert forum.access("req-2", PERSON) == {
        "posts": [{"url": "https://forum.example/t/1", "text": "Hi"}]
    }
    assert json.loads(https_endpoint["bodies"][0])["action"] == "access"


def test_an_empty_or_unreadable_answer_is_done_with_no_counts(
    forum: WebhookConnector, https_endpoint: dict[str, Any]
) -> None:
    assert forum.erase("req-3", PERSON) == {"via": "webhook", "on_erasure": "deidentify"}  # 204
    https_endpoint["status"] = 200
    https_endpoint["answer"] = b"<html>ok</html>"
    assert forum.erase("req-3", PERSON) == {"via": "webhook", "on_erasure": "deidentify"}


def test_a_refusal_fails_the_step_to_retry_later(
    forum: WebhookConnector, https_endpoint: dict[str, Any]
) -> None:
    https_endpoint["status"] = 503
    with pytest.raises(DeliveryFailed, match="answered 503"):
        forum.erase("req-4", PERSON)


@pytest.mark.parametrize("unset", ["FORUM_PRIVACY_WEBHOOK_URL", "FORUM_PRIVACY_WEBHOOK_SECRET"])
def test_nothing_is_sent_without_the_url_or_the_named_secret(
    forum: WebhookConnector,
    https_endpoint: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    unset: str,
) -> None:
    monkeypatch.delenv(unset)
    with pytest.raises(InvalidInput, match=unset) as refused:
        forum.erase("req-5", PERSON)
    assert refused.value.code == "system_unset"
    assert https_endpoint["bodies"] == []


def test_rectify_posts_the_signed_changes_and_keeps_only_counts(
    forum: WebhookConnector, https_endpoint: dict[str, Any]
) -> None:
    https_endpoint["status"] = 200
    https_endpoint["answer"] = json.dumps(
        {"profile": 1, "old": {"display_name": "DJ Exampel"}, "posts": 9}
    ).encode()
    changes = {"profile": {"display_name": "DJ Example", "location": "Kiel"}}
    summary = forum.rectify("req-6", PERSON, changes)
    assert summary == {"via": "webhook", "rows": 1, "rows_per_table": {"profile": 1}}
    [raw] = https_endpoint["bodies"]
    assert json.loads(raw) == {
        "request_id": "req-6",
        "action": "rectify",
        "identities": {"account_id": ["acct-7"], "email": ["dev@example.org"]},
        "changes": {"profile": {"display_name": "DJ Example", "location": "Kiel"}},
    }
    headers = https_endpoint["headers"][0]
    expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["Charter-Signature"] == f"sha256={expected}"
    assert headers["Charter-Request"] == "req-6"


def test_a_refused_rectify_fails_the_step_to_retry_later(
    forum: WebhookConnector, https_endpoint: dict[str, Any]
) -> None:
    https_endpoint["status"] = 500
    with pytest.raises(DeliveryFailed, match="answered 500"):
        forum.rectify("req-7", PERSON, {"profile": {"location": "Kiel"}})
    https_endpoint["status"] = 204  # done, and no counts said
    assert forum.rectify("req-7", PERSON, {"profile": {"location": "Kiel"}}) == {"via": "webhook"}
