"""The OpenAPI document describes the error answers as they are sent (``api.errors.documented``).

Found by fuzzing the API against its own document: malformed JSON answered 400 on every
operation taking a body, undocumented; FastAPI documented 422 in its own shape
(``HTTPValidationError``) where Charter answers ``{"error": {...}}``; and the errors of the HTML
pages (/policy, /v1/unsubscribe) were documented as text/html although they are JSON.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}


def _operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_error_answer_is_documented_as_the_json_error_shape(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["ErrorOut"]["required"] == ["error"]
    for label, operation in _operations(spec):
        errors = {s: r for s, r in operation["responses"].items() if s.startswith("4")}
        assert all(r["content"] == ERROR for r in errors.values()), label
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(errors), label


def test_the_errors_of_pages_are_json_as_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    missing = client.get("/policy", params={"brand": "nobrand"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"
    assert spec["paths"]["/policy"]["get"]["responses"]["404"]["content"] == ERROR
    too_long = client.get("/policy", params={"brand": "x" * 65})
    assert too_long.status_code == 422
    assert too_long.json()["error"]["code"] == "invalid_request"
    assert spec["paths"]["/policy"]["get"]["responses"]["422"]["content"] == ERROR


def test_malformed_json_is_a_documented_400(
    client: TestClient, service_headers: dict[str, str]
) -> None:
    spec = client.get("/openapi.json").json()
    answer = client.post(
        "/v1/consents",
        content=b"{not json",
        headers={**service_headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "malformed_json"
    not_utf8 = client.post(
        "/v1/consents",
        content=b'{"brand": "\xff"}',
        headers={**service_headers, "Content-Type": "application/json"},
    )
    assert not_utf8.status_code == 400
    assert not_utf8.json()["error"]["code"] == "malformed_body"
    assert spec["paths"]["/v1/consents"]["post"]["responses"]["400"]["content"] == ERROR
