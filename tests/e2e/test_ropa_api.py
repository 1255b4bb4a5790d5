"""Over HTTP: the public policy per brand (``/policy?brand=``) and the records of processing for
the roles that read the registers (``GET /v1/ropa``)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from charter.domain.permissions import PERMISSIONS, Permission, Role
from charter.facade import Charter
from charter.manifest.ropa import CSV_COLUMNS


def test_the_policy_of_one_brand(client: TestClient) -> None:
    page = client.get("/policy", params={"brand": "zeta"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "<title>Example Group Privacy Policy — Zeta Sound</title>" in text
    assert 'href="/privacy?brand=zeta"' in text
    assert 'data-charter-action="open"' in text
    assert "Acme Audio" not in text
    # the support touchpoint is acme's only, so its purpose is not zeta's
    assert "Customer support" not in text
    assert "Marketing sign-up" in text and "3 years after your last activity" in text
    acme = client.get("/policy", params={"brand": "acme"}).text
    assert "Customer support" in acme and "Zeta Sound" not in acme
    assert "<script" not in text  # the served page runs no script; its CSP allows none
    assert "script-src" not in page.headers["content-security-policy"]


@pytest.mark.parametrize("role", list(Role))
def test_ropa_for_the_roles_that_read_registers(
    client: TestClient, charter: Charter, role: Role
) -> None:
    token = charter.create_token(role.value).token
    answer = client.get("/v1/ropa", headers={"Authorization": f"Bearer {token}"})
    if role not in PERMISSIONS[Permission.READ_REGISTERS]:
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "forbidden"
        return
    assert answer.status_code == 200
    records = answer.json()
    assert [r["purpose"] for r in records] == list(charter.manifest.purposes)
    assert list(records[0]) == list(CSV_COLUMNS)
    order = next(r for r in records if r["purpose"] == "order_fulfilment")
    assert order["controller"]["email"] == "privacy@example.org"
    (transfer,) = order["transfers"]
    assert transfer["recipient"] == "Shop hosting provider"
    assert (transfer["mechanism"], transfer["module"]) == ("standard_contractual_clauses", 2)
    analytics = next(r for r in records if r["purpose"] == "analytics")
    assert analytics["legitimate_interest"] == "Improving our products and websites."


def test_ropa_refuses_anonymous_callers(client: TestClient) -> None:
    answer = client.get("/v1/ropa")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
