"""Passwords over HTTP, on SQLite and PostgreSQL (issue 9, item 1; the policy: passwords are
collected "only for authentication and account access", and "we will never ask you to disclose
your password").

A password submitted at the example manifest's ``product_registration`` touchpoint is kept only
as an Argon2id hash, checked by ``POST /v1/credentials/verify``, changed by a new submission,
never shown (the access package says that one is set and when it changed), never rectified by a
request, and its clear text is nowhere: not in the database's bytes, the logs, the outbox, any
answer or the package.
"""

from __future__ import annotations

import datetime as dt
import email
import io
import json
import logging
import re
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from fixtures.shop import create_shop, email_of
from httpx import Response
from sqlalchemy import select

import charter.services.values as values_module
from charter.api import create_app
from charter.bootstrap import open_scanner
from charter.config import Settings
from charter.facade import Charter
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import personal_values
from charter.storage.vault import Vault

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
BRAND = "akkord_pro"
VERIFY = "/v1/credentials/verify"
REGISTER = "/v1/touchpoints/product_registration/submissions"
PERSON = 0  # a customer of the synthetic shop: the package holds their shop row too
EMAIL = email_of(PERSON)


@pytest.fixture
def manifest_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example manifest with the shop system alone (the others need staff), reached."""
    manifest = yaml.safe_load(EXAMPLE.read_text())
    manifest["systems"] = {"shop": manifest["systems"]["shop"]}
    manifest.pop("events")  # its lake is one of the others
    path = tmp_path / "charter.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    shop_url = f"sqlite:///{tmp_path / 'shop.db'}"
    create_shop(shop_url, customers=2)
    monkeypatch.setenv("SHOP_DATABASE_URL", shop_url)
    return path


@pytest.fixture
def sentinel() -> str:
    # Letters only: a run of digits could pass for a card number, refused before anything else.
    return "Sentinel-Pw-" + "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex)


class Api:
    def __init__(self, client: TestClient, charter: Charter, settings: Settings) -> None:
        self.client = client
        self.charter = charter
        self.settings = settings
        self.service = {"Authorization": f"Bearer {charter.create_token('service').token}"}
        self.answers: list[Response] = []

    def post(self, path: str, body: dict[str, Any], **kwargs: Any) -> Response:
        headers = kwargs.pop("headers", self.service)
        answer = self.client.post(path, json=body, headers=headers, **kwargs)
        self.answers.append(answer)
        return answer

    def register(self, password: str, email_address: str = EMAIL, **data: Any) -> Response:
        body = {
            "brand": BRAND,
            "identities": {"email": email_address, "account_id": f"akkord-{email_address}"},
            "data": {
                "name": "Ann Adler",
                "password": password,
                "country": "DE",
                "ip_address": "203.0.113.7",
                **data,
            },
        }
        return self.post(REGISTER, body)

    def verify(self, secret: str, **changes: Any) -> Response:
        body = {"brand": BRAND, "identities": {"email": EMAIL}, "password": secret, **changes}
        return self.post(VERIFY, body)

    def valid(self, password: str, **changes: Any) -> bool:
        answer = self.verify(password, **changes)
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        return bool(answer.json()["valid"])

    def stored(self) -> list[tuple[int, str, dt.datetime]]:
        """(row id, what the vault holds, collected at) of every password value, oldest first."""
        with self.charter.store.read() as connection:
            rows = connection.execute(
                select(personal_values)
                .where(personal_values.c.field == "password")
                .order_by(personal_values.c.id)
            ).all()
            repo = SubjectRepository(connection, self.charter.store.vault)
            return [
                (
                    row.id,
                    Vault.open(
                        repo.data_key(row.subject_id),
                        row.subject_id,
                        f"value:{row.touchpoint}.{row.field}",
                        bytes(row.value_sealed),
                    ),
                    row.collected_at,
                )
                for row in rows
            ]

    def mails(self) -> list[email.message.Message]:
        return [
            email.message_from_bytes(path.read_bytes())
            for path in sorted(self.settings.outbox_dir.glob("*.eml"))
        ]

    def access_package(self, request_type: str = "access") -> dict[str, bytes]:
        """File an access request for the person, verify it by the mailed code, carry it out
        and download the package, over HTTP."""
        filed = self.post(
            "/v1/requests",
            {"type": request_type, "brand": BRAND, "identities": {"email": EMAIL}},
            headers={},
        )
        assert filed.status_code == 202, filed.text
        request_id = filed.json()["id"]
        self.charter.outbox.deliver()
        bodies = [mail.get_payload(decode=True).decode() for mail in self.mails()]  # type: ignore[union-attr]
        code = next(
            found
            for body in reversed(bodies)
            if request_id in body and (found := re.search(r"^\s+(\d{6})$", body, re.M))
        )
        verified = self.post(
            f"/v1/requests/{request_id}/verify", {"code": code.group(1)}, headers={}
        )
        assert verified.status_code == 200, verified.text
        token = verified.json()["access_token"]
        assert self.charter.rights.run(request_id) == "completed"
        self.charter.outbox.deliver()
        download = self.client.get(
            f"/v1/requests/{request_id}/package", headers={"Authorization": f"Bearer {token}"}
        )
        self.answers.append(download)
        assert download.status_code == 200, download.text
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture
def api(settings: Settings, charter: Charter) -> Iterator[Api]:
    with TestClient(create_app(settings, charter=charter)) as client:
        yield Api(client, charter, settings)


# --- checking a password -------------------------------------------------------------------------


def test_a_password_is_kept_as_an_argon2id_hash_and_checked(api: Api, sentinel: str) -> None:
    registered = api.register(sentinel)
    assert registered.status_code == 201, registered.text
    [(_, held, _)] = api.stored()
    assert held.startswith("$argon2id$") and sentinel not in held
    assert PasswordHasher().verify(held, sentinel)
    assert api.valid(sentinel)
    assert api.valid(sentinel, touchpoint="product_registration")
    # by any identity of the person
    other_identity = {"account_id": f"akkord-{EMAIL}"}
    answer = api.post(VERIFY, {"brand": BRAND, "identities": other_identity, "password": sentinel})
    assert answer.json() == {"valid": True}


def test_unknown_person_no_password_and_wrong_password_answer_alike(
    api: Api, sentinel: str
) -> None:
    assert api.register(sentinel).status_code == 201
    ticket = api.post(  # a person who registered no password: a support ticket only
        "/v1/touchpoints/support/submissions",
        {"brand": BRAND, "identities": {"email": email_of(1)}, "data": {"message": "Hum."}},
    )
    assert ticket.status_code == 201, ticket.text
    answers = [
        api.verify(sentinel + "x"),  # wrong
        api.verify(sentinel.upper()),  # wrong by case
        api.verify(sentinel, identities={"email": "nobody@example.org"}),  # unknown
        api.verify(sentinel, identities={"email": email_of(1)}),  # known, no password
        api.verify(sentinel, brand="ravine_mixers"),  # no password at that brand
        # two people, not linked: whose password would it be?
        api.verify(sentinel, identities={"email": email_of(1), "account_id": f"akkord-{EMAIL}"}),
    ]
    assert [(a.status_code, a.json()) for a in answers] == [(200, {"valid": False})] * 6
    assert len({a.content for a in answers}) == 1  # byte for byte the same answer


def test_a_change_is_a_new_submission_and_the_latest_wins(api: Api, sentinel: str) -> None:
    assert api.register(sentinel).status_code == 201
    changed = f"{sentinel}-changed"
    assert api.register(changed).status_code == 201
    assert not api.valid(sentinel)
    assert api.valid(changed)
    # a password set at another touchpoint of the brand would be the brand's password too;
    # narrowed to this touchpoint the answer is the same
    assert api.valid(changed, touchpoint="product_registration")


def test_a_weaker_hash_is_replaced_on_a_successful_check(
    api: Api, sentinel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(values_module, "_hasher", weak)
    assert api.register(sentinel).status_code == 201
    monkeypatch.undo()
    [(row_id, before, collected_at)] = api.stored()
    assert "m=8,t=1,p=1" in before
    assert not api.valid(sentinel + "x")
    assert api.stored()[0][1] == before  # a failed check changes nothing
    assert api.valid(sentinel)
    [(same_row, after, same_time)] = api.stored()
    assert (same_row, same_time) == (row_id, collected_at)  # the password did not change
    assert after != before and not PasswordHasher().check_needs_rehash(after)
    assert api.valid(sentinel)


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"brand": "nobody"}, 422, "unknown_brand"),
        ({"touchpoint": "nowhere"}, 404, "unknown_touchpoint"),
        ({"touchpoint": "support"}, 422, "no_password_field"),
        ({"identities": {}}, 422, "identity_required"),
        ({"identities": {"email": "not an address"}}, 422, "invalid_value"),
        ({"identities": {"shoe_size": "44"}}, 422, "undeclared_field"),
        ({"password": ""}, 422, "invalid_request"),
        ({"password": None}, 422, "invalid_request"),
        ({"extra": 1}, 422, "invalid_request"),
    ],
)
def test_bad_checks_are_refused(
    api: Api, sentinel: str, changes: dict[str, Any], status: int, code: str
) -> None:
    assert api.register(sentinel).status_code == 201
    answer = api.verify(sentinel, **changes)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
    assert sentinel not in answer.text


def test_the_password_goes_in_the_body_only(api: Api, sentinel: str) -> None:
    assert api.register(sentinel).status_code == 201
    answer = api.post(
        VERIFY,
        {"brand": BRAND, "identities": {"email": EMAIL}, "password": sentinel},
        params={"password": sentinel},
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "query_not_allowed")
    assert sentinel not in answer.text


def test_a_service_token_is_needed(api: Api, sentinel: str) -> None:
    body = {"brand": BRAND, "identities": {"email": EMAIL}, "password": sentinel}
    assert api.post(VERIFY, body, headers={}).status_code == 401
    support = {"Authorization": f"Bearer {api.charter.create_token('support').token}"}
    assert api.post(VERIFY, body, headers=support).status_code == 403


def test_guessing_one_persons_password_is_rate_limited(api: Api, sentinel: str) -> None:
    assert api.register(sentinel).status_code == 201
    limit = api.settings.identity_rate_limit
    for attempt in range(limit):
        assert api.valid(f"guess-{attempt}") is False
    # the same person under another spelling of the same address counts too
    refused = api.verify(sentinel, identities={"email": EMAIL.upper()})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) > 0
    other = api.post(
        VERIFY, {"brand": BRAND, "identities": {"email": email_of(1)}, "password": "x"}
    )
    assert other.json() == {"valid": False}  # other people are not held up


def test_a_password_is_not_rectified_by_a_request(api: Api, sentinel: str) -> None:
    assert api.register(sentinel).status_code == 201
    for changes in (
        {"charter": {"password": sentinel + "-new"}},
        {"shop.customers": {"password_hash": sentinel + "-new"}},
    ):
        refused = api.post(
            "/v1/requests",
            {
                "type": "rectification",
                "brand": BRAND,
                "identities": {"email": EMAIL},
                "details": {"changes": changes},
            },
            headers={},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "password_not_rectifiable"
        assert sentinel not in refused.text
    api.charter.outbox.deliver()
    assert api.mails() == []  # nothing was filed, no code was sent
    assert api.valid(sentinel)


# --- never returned, never in clear --------------------------------------------------------------


@pytest.mark.parametrize("request_type", ["access", "portability"])
def test_the_package_says_a_password_is_set_and_when_it_changed(
    api: Api, sentinel: str, request_type: str
) -> None:
    assert api.register(sentinel).status_code == 201
    assert api.register(sentinel + "-changed").status_code == 201
    changed_at = api.stored()[-1][2]
    members = api.access_package(request_type)
    for name, content in members.items():
        assert b"argon2" not in content, name  # neither Charter's hash nor the shop's
        assert sentinel.encode() not in content, name
    document = json.loads(members["data.json"])
    passwords = [v for v in document["charter"]["values"] if v["field"] == "password"]
    assert [(p["category"], p["value"]["set"]) for p in passwords] == [
        ("user.authorization.credentials", True)
    ]
    when = dt.datetime.fromisoformat(passwords[0]["value"]["changed_at"])
    assert when.replace(tzinfo=None) == changed_at.replace(tzinfo=None)
    [customer] = document["systems"]["shop"]["customers"]["rows"]
    assert customer["password_hash"] == {"set": True} and customer["email"] == EMAIL
    report = members["report.html"].decode()
    assert f"A password is set (last changed {when.day} {when:%B %Y})" in report


def test_the_clear_password_is_nowhere(
    api: Api, sentinel: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # refused: another field is wrong, and the password too long (neither echoed)
    assert api.register(sentinel, country="Atlantis").status_code == 422
    too_long = sentinel * (1 + 1024 // len(sentinel))
    assert api.register(too_long).json()["error"]["code"] == "invalid_value"
    assert api.verify(too_long).json()["error"]["code"] == "invalid_request"
    # kept, checked, changed, checked again, and copied out to the person
    assert api.register(sentinel).status_code == 201
    assert api.valid(sentinel) and not api.valid(sentinel[::-1])
    assert api.register(sentinel + "-changed").status_code == 201
    members = api.access_package()
    api.charter.outbox.deliver()

    for answer in api.answers:
        assert sentinel.encode() not in answer.content, answer.request.url
    assert sentinel not in caplog.text
    assert all(sentinel not in json.dumps(r.__dict__, default=str) for r in caplog.records)
    for name, content in members.items():
        assert sentinel.encode() not in content, name
    mails = list(settings.outbox_dir.rglob("*"))
    assert mails  # the request's code and its answer went there
    assert all(sentinel.encode() not in p.read_bytes() for p in mails if p.is_file())
    # the database: the SQLite file and its WAL byte for byte, or every text, JSON and binary
    # column of every table on PostgreSQL; the outbox folder too
    with open_scanner(settings) as scanner:
        report = scanner.scan([sentinel])
    assert report.clean, [str(f) for f in report.findings]
    assert report.files or report.tables
    # what the vault holds opens to hashes only
    assert [held[:10] for _, held, _ in api.stored()] == ["$argon2id$"] * 2
