"""The README's five-minute tour works against the example manifest, call by call."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter

ROOT = Path(__file__).parents[2]
CALL = re.compile(
    r"curl -s -X POST http://127\.0\.0\.1:8000(?P<path>\S+) \\\n.*?-d '(?P<body>.*?)'", re.S
)


@pytest.fixture
def example_settings(settings: Settings) -> Settings:
    shutil.copy(ROOT / "examples" / "musicgroup" / "charter.yaml", settings.manifest)
    return settings


def test_tour_calls_answer_as_the_readme_says(example_settings: Settings) -> None:
    calls = [
        (m["path"], json.loads(m["body"])) for m in CALL.finditer((ROOT / "README.md").read_text())
    ]
    assert len(calls) == 5
    initialise(example_settings)
    with Charter.open(example_settings) as charter:
        headers = {"Authorization": f"Bearer {charter.create_token('service').token}"}
        with TestClient(create_app(example_settings, charter=charter)) as client:
            answers = [client.post(path, json=body, headers=headers) for path, body in calls]
            catalogue = client.get("/v1/touchpoints", headers=headers)
    assert answers[0].status_code == 201, answers[0].text
    assert answers[0].json()["consents"] == ["marketing_communications"]
    assert answers[1].json() == {"allowed": True, "basis": "consent", "reason": "ok"}
    assert (answers[2].status_code, answers[2].json()["error"]["code"]) == (422, "undeclared_field")
    card = answers[3]
    assert (card.status_code, card.json()["error"]["code"]) == (422, "payment_card_data")
    filed = answers[4]
    assert (filed.status_code, filed.json()["status"]) == (202, "awaiting_verification")
    assert len(list(example_settings.outbox_dir.glob("*.eml"))) == 1
    assert catalogue.status_code == 200
