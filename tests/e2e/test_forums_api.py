"""Forums, blogs and chats over HTTP, with the example group's manifest (its ``forum``): a
profile is private by default (Art. 25(2)), only ``choice`` fields take the person's choice,
a restricted person's profile is not served, the access report says what is public, and an
erasure reaches the forum's webhook (signed, de-identify), the archive that copies the forum
and every republication recorded (Art. 17(2)), each shown as a step of the request."""

from __future__ import annotations

import email
import hashlib
import hmac
import io
import json
import re
import shutil
import zipfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fixtures.https import https_endpoint

from charter.facade import Charter
from charter.services.outbox import DirectoryTransport

__all__ = ["https_endpoint"]  # the fixture, shared with tests/integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
BRAND = "akkord_pro"
DEV = {"email": "dev@example.org", "account_id": "acct-dev-7"}
SECRET = "forum-secret-for-tests"
ARCHIVE = "takedown@chordhub-archive.example"


class KeepingTransport(DirectoryTransport):
    """The outbox folder, and a copy of every message sent: an erasure forgets the files that
    name the person once sent, but the test still reads what went out."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.sent: list[email.message.Message] = []

    def send(self, message: EmailMessage) -> None:
        super().send(message)
        self.sent.append(email.message_from_bytes(bytes(message)))


def body_of(mail: email.message.Message) -> str:
    return str(mail.get_payload(decode=True).decode())  # type: ignore[union-attr]


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    path = tmp_path / "charter.yaml"
    shutil.copy(EXAMPLE, path)
    return path


@pytest.fixture
def sent(charter: Charter, tmp_path: Path) -> list[email.message.Message]:
    transport = KeepingTransport(tmp_path / "outbox")
    charter.outbox.transport = transport
    return transport.sent


@pytest.fixture
def staff(charter: Charter) -> dict[str, str]:
    return {"Authorization": f"Bearer {charter.create_token('privacy_officer').token}"}


def post_to_forum(client: TestClient, headers: dict[str, str], **data: Any) -> None:
    response = client.post(
        "/v1/touchpoints/forum/submissions",
        headers=headers,
        json={
            "brand": BRAND,
            "identities": DEV,
            "data": {
                "display_name": "DJ Example",
                "date_of_birth": "1990-05-01",
                "post": "Which mixer for a small club?",
                "location": "Hamburg",
                **data,
            },
        },
    )
    assert response.status_code == 201, response.text


def profile(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.post(
        "/v1/touchpoints/forum/public-profile",
        headers=headers,
        json={"brand": BRAND, "identities": {"email": DEV["email"]}},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def choose(client: TestClient, headers: dict[str, str], fields: dict[str, str]) -> Any:
    return client.post(
        "/v1/touchpoints/forum/visibility",
        headers=headers,
        json={"brand": BRAND, "identities": {"account_id": DEV["account_id"]}, "fields": fields},
    )


def test_a_profile_is_private_by_default_and_public_by_choice(
    client: TestClient, service_headers: dict[str, str]
) -> None:
    post_to_forum(client, service_headers)
    shown = profile(client, service_headers)
    assert shown == {
        "fields": {"display_name": "DJ Example", "post": "Which mixer for a small club?"},
        "withheld": None,
    }  # never the birth date; the location only if the person chooses
    chosen = choose(client, service_headers, {"location": "public"})
    assert chosen.status_code == 201, chosen.text
    assert chosen.json()["fields"] == {"location": "public"}
    assert profile(client, service_headers)["fields"]["location"] == "Hamburg"
    # a later post changes the values shown; hiding the location again takes it off
    post_to_forum(client, service_headers, post="Thanks all", location="Berlin")
    assert profile(client, service_headers)["fields"] == {
        "display_name": "DJ Example",
        "post": "Thanks all",
        "location": "Berlin",
    }
    assert choose(client, service_headers, {"location": "private"}).status_code == 201
    assert "location" not in profile(client, service_headers)["fields"]


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"post": "private"}, 422, "not_a_choice"),  # public by the forum's nature
        ({"date_of_birth": "public"}, 422, "not_a_choice"),  # private, never published
        ({"location": "public", "display_name": "private"}, 422, "not_a_choice"),
        ({"hometown": "public"}, 422, "undeclared_field"),
        ({"location": "friends"}, 422, None),  # the schema: public or private
    ],
)
def test_only_choice_fields_take_a_choice_and_nothing_is_recorded_otherwise(
    client: TestClient,
    service_headers: dict[str, str],
    fields: dict[str, str],
    status: int,
    code: str | None,
) -> None:
    post_to_forum(client, service_headers)
    refused = choose(client, service_headers, fields)
    assert refused.status_code == status, refused.text
    assert set(refused.json()["error"]) == {"code", "message"}
    if code is not None:
        assert refused.json()["error"]["code"] == code
    assert "location" not in profile(client, service_headers)["fields"]


def test_unknown_people_touchpoints_and_brands_are_refused(
    client: TestClient, service_headers: dict[str, str]
) -> None:
    post_to_forum(client, service_headers)
    cases = [
        ("forum", {"brand": BRAND, "identities": {"email": "nobody@example.org"}}, 404),
        ("nowhere", {"brand": BRAND, "identities": DEV}, 404),
        ("forum", {"brand": "no_brand", "identities": DEV}, 422),
        ("forum", {"brand": BRAND, "identities": {"phone": "+12025550100"}}, 422),
    ]
    for touchpoint, body, status in cases:
        for path in ("public-profile", "visibility"):
            payload = (
                body if path == "public-profile" else {**body, "fields": {"location": "public"}}
            )
            answer = client.post(
                f"/v1/touchpoints/{touchpoint}/{path}", headers=service_headers, json=payload
            )
            assert answer.status_code == status, (path, body, answer.text)
            assert set(answer.json()["error"]) == {"code", "message"}


def test_a_restricted_persons_profile_is_not_served(
    client: TestClient, service_headers: dict[str, str], charter: Charter
) -> None:
    post_to_forum(client, service_headers)
    assert choose(client, service_headers, {"location": "public"}).status_code == 201
    charter.restrict(True, brand=BRAND, identities={"email": DEV["email"]})
    assert profile(client, service_headers) == {"fields": {}, "withheld": "restricted"}
    charter.restrict(False, brand=BRAND, identities={"email": DEV["email"]})
    assert profile(client, service_headers)["fields"]["location"] == "Hamburg"


def file_and_verify(
    client: TestClient, charter: Charter, sent: list[email.message.Message], kind: str
) -> tuple[str, str]:
    filed = client.post(
        "/v1/requests",
        json={"type": kind, "brand": BRAND, "identities": {"email": DEV["email"]}},
    )
    assert filed.status_code == 202, filed.text
    request_id = filed.json()["id"]
    charter.outbox.deliver()
    mail = next(m for m in reversed(sent) if request_id in body_of(m))
    code = re.search(r"^\s+(\d{6})$", body_of(mail), re.M)
    assert code is not None
    verified = client.post(f"/v1/requests/{request_id}/verify", json={"code": code.group(1)})
    assert verified.status_code == 200, verified.text
    return request_id, verified.json()["access_token"]


def carry_out(
    client: TestClient, charter: Charter, staff: dict[str, str], request_id: str
) -> dict[str, Any]:
    """Run the request as the worker would, staff confirming each step done by hand (the
    shop, the event lake and the warehouse are not connected here); its staff view."""
    for _ in range(20):
        charter.rights.run(request_id)
        view = client.get(f"/v1/requests/{request_id}", headers=staff).json()
        if view["status"] == "completed":
            charter.outbox.deliver()
            return dict(view)
        waiting = [s for s in view["steps"] if s["status"] == "awaiting_staff"]
        assert waiting, view["steps"]
        confirmed = client.post(
            f"/v1/requests/{request_id}/steps/{waiting[0]['seq']}/confirm",
            headers=staff,
            json={"note": "done by hand"},
        )
        assert confirmed.status_code == 200, confirmed.text
    raise AssertionError("the request did not complete")


def test_erasure_reaches_the_forum_webhook_the_archive_and_each_republication(
    client: TestClient,
    service_headers: dict[str, str],
    staff: dict[str, str],
    charter: Charter,
    sent: list[email.message.Message],
    https_endpoint: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORUM_PRIVACY_WEBHOOK_URL", https_endpoint["url"])
    monkeypatch.setenv("FORUM_PRIVACY_WEBHOOK_SECRET", SECRET)
    https_endpoint["status"] = 200
    https_endpoint["answer"] = b'{"deidentified": 2, "deleted": 0, "author": "DJ Example"}'
    post_to_forum(client, service_headers)
    blog = "https://blog.example.net/best-of-the-forum"
    recorded = client.post(
        "/v1/republications",
        headers=staff,
        json={
            "brand": BRAND,
            "identities": {"email": DEV["email"]},
            "touchpoint": "forum",
            "url": blog,
            "republisher": {"name": "Mixing Notes blog", "email": "editor@blog.example.net"},
        },
    )
    assert recorded.status_code == 201, recorded.text
    request_id, _ = file_and_verify(client, charter, sent, "erasure")
    assert client.post(f"/v1/requests/{request_id}/approve", headers=staff).status_code == 200
    view = carry_out(client, charter, staff, request_id)
    # the forum was asked, signed, to de-identify the person's posts; counts only were kept
    [raw] = https_endpoint["bodies"]
    request = json.loads(raw)
    assert request["action"] == "erase" and request["request_id"] == request_id
    assert request["identities"] == {"account_id": [DEV["account_id"]], "email": [DEV["email"]]}
    assert request["public_content"] == {
        "touchpoints": ["forum"],
        "on_erasure": "deidentify",
        "replacement": "Former member",
    }
    digest = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert https_endpoint["headers"][0]["Charter-Signature"] == f"sha256={digest}"
    steps = {(s["system"], s["target"]): s for s in view["outcome"]["steps"]}
    assert steps[("forum", None)] == {
        "system": "forum",
        "target": None,
        "action": "erase",
        "via": "webhook",
        "on_erasure": "deidentify",
        "deidentified": 2,
        "deleted": 0,
    }
    # the archive copying the forum, and the blog staff recorded, were told: steps and mail
    told = {s["target"]: s for s in view["steps"] if s["system"] == "publication"}
    assert set(told) == {"forum_archive", f"republication:{recorded.json()['id']}"}
    assert all(s["status"] == "done" for s in told.values())
    assert steps[("publication", "forum_archive")]["via"] == "email"
    assert steps[("publication", f"republication:{recorded.json()['id']}")]["republisher"] == (
        "Mixing Notes blog"
    )
    archive = next(m for m in sent if m["To"] == ARCHIVE)
    text = body_of(archive)
    assert request_id in text and "DJ Example" in text and DEV["email"] not in text
    blogger = next(m for m in sent if m["To"] == "editor@blog.example.net")
    assert blog in body_of(blogger) and request_id in body_of(blogger)
    # and the steps come before Charter's own erasure, which went as always
    order = [(s["system"], s["target"]) for s in view["steps"]]
    assert order.index(("publication", "forum_archive")) < order.index(("charter", None))
    assert (
        charter.decide("forum_publication", brand=BRAND, identities={"email": DEV["email"]}).reason
        == "unknown_subject"
    )
    # the outbox forgot what named the person: their address, their name, the blog's URL
    for path in (Path(charter.outbox.transport.folder)).glob("*.eml"):  # type: ignore[attr-defined]
        content = path.read_text()
        assert DEV["email"] not in content and "DJ Example" not in content and blog not in content


def test_with_the_webhook_unset_the_forum_is_a_manual_step(
    client: TestClient,
    service_headers: dict[str, str],
    staff: dict[str, str],
    charter: Charter,
    sent: list[email.message.Message],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FORUM_PRIVACY_WEBHOOK_URL", raising=False)
    post_to_forum(client, service_headers)
    request_id, _ = file_and_verify(client, charter, sent, "erasure")
    assert client.post(f"/v1/requests/{request_id}/approve", headers=staff).status_code == 200
    view = carry_out(client, charter, staff, request_id)
    forum = next(s for s in view["steps"] if s["system"] == "forum")
    assert (forum["action"], forum["status"]) == ("manual", "done")
    notes = [h["note"] or "" for h in view["history"] if h["kind"] == "awaiting_staff"]
    assert any("FORUM_PRIVACY_WEBHOOK_URL" in note for note in notes)
    # the archive is still told: the person posted at the forum
    assert any(m["To"] == ARCHIVE for m in sent)


def test_the_access_report_says_what_is_public_and_holds_the_forums_data(
    client: TestClient,
    service_headers: dict[str, str],
    staff: dict[str, str],
    charter: Charter,
    sent: list[email.message.Message],
    https_endpoint: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORUM_PRIVACY_WEBHOOK_URL", https_endpoint["url"])
    monkeypatch.setenv("FORUM_PRIVACY_WEBHOOK_SECRET", SECRET)
    https_endpoint["status"] = 200
    https_endpoint["answer"] = json.dumps(
        {"posts": [{"thread": "Mixers", "text": "Which mixer for a small club?"}]}
    ).encode()
    post_to_forum(client, service_headers)
    assert choose(client, service_headers, {"location": "public"}).status_code == 201
    request_id, token = file_and_verify(client, charter, sent, "access")
    carry_out(client, charter, staff, request_id)
    assert json.loads(https_endpoint["bodies"][0])["action"] == "access"
    package = client.get(
        f"/v1/requests/{request_id}/package", headers={"Authorization": f"Bearer {token}"}
    )
    assert package.status_code == 200, package.text
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        data = json.loads(archive.read("data.json"))
        report = archive.read("report.html").decode()
        posts = archive.read("forum/posts.csv").decode()
    shown = {(f["field"], f["shown"]) for f in data["public_fields"]}
    assert shown == {("display_name", "public"), ("post", "public"), ("location", "chosen")}
    assert "What is public" in report and "you chose to show it" in report
    assert "Which mixer for a small club?" in posts


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"touchpoint": "survey"}, 422, "not_published"),  # no publication there
        ({"touchpoint": "support"}, 422, "not_published"),
        ({"url": "ftp://mirror.example.net/post"}, 422, "invalid_value"),
        ({"republisher": {"name": "A blog", "email": "not an address"}}, 422, "invalid_value"),
        ({"identities": {"email": "nobody@example.org"}}, 404, "unknown_subject"),
        ({"touchpoint": "nowhere"}, 404, "unknown_touchpoint"),
    ],
)
def test_a_republication_is_recorded_only_for_what_the_person_published(
    client: TestClient,
    service_headers: dict[str, str],
    staff: dict[str, str],
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    post_to_forum(client, service_headers)
    body = {
        "brand": BRAND,
        "identities": {"email": DEV["email"]},
        "touchpoint": "forum",
        "url": "https://mirror.example.net/post/1",
        "republisher": {"name": "A mirror", "email": "abuse@mirror.example.net"},
    }
    refused = client.post("/v1/republications", headers=staff, json={**body, **change})
    assert refused.status_code == status, refused.text
    assert refused.json()["error"]["code"] == code
