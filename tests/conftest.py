"""Shared fixtures: every store-backed test runs on SQLite and, with CHARTER_TEST_POSTGRES_URL
set (``.ci/run`` sets it), on PostgreSQL too, each test in a schema of its own."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter

FIXTURES = Path(__file__).parent / "fixtures"
POSTGRES_URL = os.environ.get("CHARTER_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'charter.db'}"
        return
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must test PostgreSQL: CHARTER_TEST_POSTGRES_URL is not set")
        pytest.skip("CHARTER_TEST_POSTGRES_URL is not set (see the README's test command)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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
