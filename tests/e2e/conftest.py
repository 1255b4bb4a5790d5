from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from charter.api import create_app
from charter.config import Settings
from charter.facade import Charter


@pytest.fixture
def client(settings: Settings, charter: Charter) -> Iterator[TestClient]:
    with TestClient(create_app(settings, charter=charter)) as test_client:
        yield test_client


@pytest.fixture
def service_headers(charter: Charter) -> dict[str, str]:
    return {"Authorization": f"Bearer {charter.create_token('service').token}"}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Path:
    """An empty folder to run ``charter`` in, with no CHARTER_* setting but the database."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CHARTER_") and name != "CHARTER_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CHARTER_DATABASE_URL", database_url)
    return tmp_path
