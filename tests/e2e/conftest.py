from __future__ import annotations

from collections.abc import Iterator

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
