"""Shared fixtures: every store-backed test runs on SQLite and, with CHARTER_TEST_POSTGRES_URL
set (``.ci/run`` sets it), on PostgreSQL too, each test in a schema of its own."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.postgres import POSTGRES_URL, postgres_schema

from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'charter.db'}"
        return
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must test PostgreSQL: CHARTER_TEST_POSTGRES_URL is not set")
        pytest.skip("CHARTER_TEST_POSTGRES_URL is not set (see the README's test command)")
    with postgres_schema("t") as url:
        yield url


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    path = tmp_path / "charter.yaml"
    shutil.copy(FIXTURES / "minimal.yaml", path)
    return path


@pytest.fixture
def settings(tmp_path: Path, database_url: str, manifest_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        manifest=manifest_path,
        key_file=tmp_path / "charter.key",
        outbox_dir=tmp_path / "outbox",
        max_body_bytes=64 * 1024,
    )


@pytest.fixture
def charter(settings: Settings) -> Iterator[Charter]:
    initialise(settings)
    with Charter.open(settings) as instance:
        yield instance
