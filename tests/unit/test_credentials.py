"""Passwords are never shown: the rules of ``charter.domain.credentials``, their use by the
package builder, and the refusal of a rectification that would set a password."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from charter.domain.credentials import (
    conceal,
    describe_password_state,
    is_credential,
    is_password_state,
    password_state,
)
from charter.domain.errors import InvalidInput
from charter.domain.requests import RequestType
from charter.manifest import Manifest, load_manifest
from charter.services.credentials import (
    conceal_values,
    credential_fields,
    refuse_credential_changes,
    secret_of,
)
from charter.services.package import build_package
from charter.services.package_data import AccessData, OwnValue

EXAMPLE = Path(__file__).parents[2] / "examples" / "musicgroup" / "charter.yaml"
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
MARCH = dt.datetime(2026, 3, 12, 8, 0, tzinfo=dt.UTC)
MAY = dt.datetime(2026, 5, 2, 17, 45, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(EXAMPLE)


@pytest.mark.parametrize(
    ("category", "field_type", "expected"),
    [
        ("user.authorization.credentials", None, True),
        ("user.authorization.credentials.password", None, True),
        ("user.authorization.credentials", "string", True),  # the category decides
        ("user.authorization", None, False),  # a parent category is not a password
        ("user.authorization.credentialsx", None, False),  # not a dotted child
        ("user.contact.email", None, False),
        ("user.contact.email", "password", True),  # a password field, whatever its category
    ],
)
def test_what_is_a_credential(category: str, field_type: str | None, expected: bool) -> None:
    assert is_credential(category, field_type) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"set": True, "changed_at": "2026-03-12T08:00:00+00:00"}, True),
        ({"set": True}, True),
        ({"set": False}, False),
        ({"set": "yes"}, False),
        ({"set": True, "line1": "1 Example Road"}, False),  # an address is not a state
        ({}, False),
        ("set", False),
        (None, False),
    ],
)
def test_a_password_state_is_recognised_exactly(value: object, expected: bool) -> None:
    assert is_password_state(value) is expected


def test_a_password_state_in_words() -> None:
    assert password_state(MARCH) == {"set": True, "changed_at": "2026-03-12T08:00:00+00:00"}
    assert password_state(None) == {"set": True}
    assert describe_password_state(password_state(MARCH)) == (
        "A password is set (last changed 12 March 2026)"
    )
    assert describe_password_state({"set": True}) == "A password is set"


def value(brand: str, at: dt.datetime | str, *, field: str = "password", v: Any = HASH) -> dict:
    category = "user.authorization.credentials" if field == "password" else "user.name"
    return {"brand": brand, "field": field, "category": category, "collected_at": at, "value": v}


def test_conceal_keeps_the_latest_password_of_each_brand_and_nothing_of_its_hash() -> None:
    values = [
        value("akkord_pro", MARCH),
        value("akkord_pro", MARCH, field="name", v="Ann"),
        value("ravine_mixers", MARCH.isoformat()),
        value("akkord_pro", MAY.isoformat()),  # a change: ISO text and times compare alike
    ]
    shown = conceal(values)
    assert HASH not in json.dumps(shown, default=str)
    assert [(v["brand"], v["field"], v["value"]) for v in shown] == [
        ("akkord_pro", "name", "Ann"),
        ("ravine_mixers", "password", {"set": True, "changed_at": MARCH.isoformat()}),
        ("akkord_pro", "password", {"set": True, "changed_at": MAY.isoformat()}),
    ]
    assert conceal(shown) == shown  # applying it again changes nothing
    assert conceal([]) == []


def test_conceal_takes_the_later_of_two_at_the_same_time_in_order() -> None:
    first, second = value("akkord_pro", MARCH), value("akkord_pro", MARCH, v="$argon2id$other")
    assert conceal([first, second]) == [{**second, "value": password_state(MARCH)}]


def test_a_password_field_of_another_category_is_concealed_by_its_declared_type(
    manifest: Manifest,
) -> None:
    secret = secret_of(manifest)
    declared = {"touchpoint": "product_registration", "field": "password", "category": "x.y"}
    assert secret(declared)
    assert not secret({"touchpoint": "product_registration", "field": "name", "category": "u"})
    assert not secret({"touchpoint": "gone", "field": "password", "category": "user.name"})
    assert credential_fields(manifest) == {"password"}


@pytest.mark.parametrize(
    "changes",
    [
        {"charter": {"name": "Ann Smith", "password": "new secret"}},
        {"shop.customers": {"password_hash": "$argon2id$..."}},
    ],
)
def test_a_rectification_setting_a_password_is_refused(
    manifest: Manifest, changes: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput) as refused:
        refuse_credential_changes(manifest, changes)
    assert refused.value.code == "password_not_rectifiable"
    assert "new secret" not in refused.value.message
    assert "signing in" in refused.value.message


@pytest.mark.parametrize(
    "changes",
    [
        None,
        "not a mapping",
        {"charter": {"name": "Ann Smith"}},
        {"shop.customers": {"last_name": "Smith"}},
        {"shop.nowhere": {"password_hash": "x"}},  # the step names the unknown table
        {"charter": "not a mapping"},
    ],
)
def test_other_rectifications_pass(manifest: Manifest, changes: object) -> None:
    refuse_credential_changes(manifest, changes)


def package(manifest: Manifest, request_type: RequestType) -> dict[str, bytes]:
    data = AccessData(
        request_id="req-0001",
        request_type=request_type,
        brand="akkord_pro",
        generated_at=MAY,
        identities={"email": ["ann@example.org"]},
        values=[
            OwnValue("product_registration", "password", "user.authorization.credentials", HASH,
                     MARCH, ("account_management",), "akkord_pro"),
            OwnValue("product_registration", "name", "user.name", "Ann", MARCH,
                     ("account_management",), "akkord_pro"),
        ],
        systems={"shop": {"customers": [{"id": 1, "email": "ann@example.org",
                                         "password_hash": "argon2id$synthetic$0123",
                                         "last_name": "Adler"}]}},
    )  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(build_package(manifest, data))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("request_type", [RequestType.ACCESS, RequestType.PORTABILITY])
def test_the_package_says_a_password_is_set_and_never_holds_a_hash(
    manifest: Manifest, request_type: RequestType
) -> None:
    members = package(manifest, request_type)
    for name, content in members.items():
        assert b"argon2" not in content, name
    document = json.loads(members["data.json"])
    [password] = [v for v in document["charter"]["values"] if v["field"] == "password"]
    assert password["category"] == "user.authorization.credentials"
    assert password["value"] == {"set": True, "changed_at": "2026-03-12T08:00:00+00:00"}
    [customer] = document["systems"]["shop"]["customers"]["rows"]
    assert customer["password_hash"] == {"set": True}
    assert customer["last_name"] == "Adler"  # other columns as they are
    rows = list(csv.DictReader(io.StringIO(members["charter/values.csv"].decode())))
    assert [r["value"] for r in rows if r["field"] == "password"] == [
        "A password is set (last changed 12 March 2026)"
    ]
    report = members["report.html"].decode()
    assert "A password is set (last changed 12 March 2026)" in report
    assert 'id="password-note"' in report
    assert "user.authorization.credentials" in document["information"]["categories"]


def test_no_password_note_without_a_password(manifest: Manifest) -> None:
    data = AccessData(
        request_id="req-0002",
        request_type=RequestType.ACCESS,
        brand="akkord_pro",
        generated_at=MAY,
        identities={"email": ["ann@example.org"]},
    )
    with zipfile.ZipFile(io.BytesIO(build_package(manifest, data))) as archive:
        assert 'id="password-note"' not in archive.read("report.html").decode()


def test_conceal_values_uses_the_manifest(manifest: Manifest) -> None:
    shown = conceal_values(
        manifest,
        [
            {
                "brand": "akkord_pro",
                "touchpoint": "product_registration",
                "field": "password",
                "category": "user.authorization.credentials",
                "collected_at": MARCH,
                "value": HASH,
            }
        ],
    )
    assert shown[0]["value"] == password_state(MARCH)
