"""The connections of a rights runner to the manifest's external systems.

A SQL system's engine is made once from the environment variable the manifest names and kept
for the runner's life; its connector (with the tables it reflected) is kept for
``CONNECTOR_LIFETIME``. A lake's directory and a webhook's URL and secret are read from the
environment at each step. A system whose variable is unset here is not an error: its steps
wait for staff (``connected``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping

from sqlalchemy import Engine

from charter.connectors.parquet import LakeEngine, ParquetConnector, engine_from_env, lake_root
from charter.connectors.sql import SqlConnector
from charter.connectors.webhook import WebhookConnector, public_content
from charter.domain.errors import InvalidInput
from charter.manifest.models import ConnectorKind, Manifest
from charter.services.delivery import post_json_answer
from charter.storage.engine import make_engine

CONNECTOR_LIFETIME = 60.0
"""Seconds a system's connector, with the tables it reflected, serves later requests: reflecting
a table costs about ten catalogue queries, more than finding the person's rows; a column added to
a system's table reaches access packages within this time."""


logger = logging.getLogger("charter.rights")

EngineFactory = Callable[[str], Engine]


def env_engine(variable: str) -> Engine:
    """The engine of an external system, from the environment variable the manifest names."""
    url = os.environ.get(variable)
    if not url:
        raise InvalidInput(f"the environment variable {variable} is not set", code="system_unset")
    return make_engine(url)


class Systems:
    """The connectors of the manifest's SQL systems, Parquet lakes and webhook systems."""

    def __init__(
        self,
        manifest: Manifest,
        engine_for: EngineFactory = env_engine,
        lake_engine: Callable[[], LakeEngine] = engine_from_env,
    ) -> None:
        self.manifest = manifest
        self._engine_for = engine_for
        self._engines: dict[str, Engine] = {}
        self._connectors: dict[str, tuple[SqlConnector, float]] = {}
        self._lake_engine_for = lake_engine
        self._lake_engine: LakeEngine | None = None  # started at the first lake step
        self._holds = {hold.key: hold for hold in manifest.retention.legal_holds}

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        self._connectors.clear()

    def connector(self, system_key: str) -> SqlConnector | None:
        """The SQL system's connector, or ``None`` when its connection is not configured here
        (its environment variable unset)."""
        try:
            return self.sql(system_key)
        except InvalidInput as unset:
            if unset.code != "system_unset":
                raise
            return None

    def connected(self, system_key: str) -> bool:
        """Whether the SQL system's or lake's connection is configured here; a system whose
        variable is unset is done by hand (staff see why), rather than failing the request
        forever."""
        system = self.manifest.systems[system_key]
        try:
            if system.connector is ConnectorKind.PARQUET:
                assert system.connection_env is not None  # lint: a lake names its variable
                lake_root(system.connection_env)
            elif system.connector is ConnectorKind.WEBHOOK:
                self.webhook(system_key).check()
            else:
                self.sql(system_key)
        except InvalidInput as unset:
            if unset.code != "system_unset":
                raise
            logger.warning("system %s: %s; its steps wait for staff", system_key, unset.message)
            return False
        return True

    def sql(self, system_key: str) -> SqlConnector:
        """The SQL system's connector; ``InvalidInput`` (``system_unset``) when its variable is
        unset."""
        system = self.manifest.systems[system_key]
        engine = self._engines.get(system_key)
        if engine is None:
            assert system.connection_env is not None  # lint: a SQL system names its variable
            engine = self._engines[system_key] = self._engine_for(system.connection_env)
        kept = self._connectors.get(system_key)
        now = time.monotonic()
        if kept is not None and kept[0].engine is engine and now - kept[1] < CONNECTOR_LIFETIME:
            return kept[0]
        connector = SqlConnector(system_key, system, engine, self._holds)
        self._connectors[system_key] = (connector, now)
        return connector

    def webhook(self, system_key: str) -> WebhookConnector:
        """The webhook system's connector; its URL and secret are read at each request. The
        manifest's webhooks are the operator's choice: private networks are allowed."""

        def post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
            return post_json_answer(url, body, headers, allow_private=True)

        return WebhookConnector(
            system_key,
            self.manifest.systems[system_key],
            public_content(self.manifest, system_key),
            post,
        )

    def lake(self, system_key: str) -> ParquetConnector:
        """The lake's connector on the configured engine (DuckDB unless ``CHARTER_LAKE_ENGINE``
        says ``spark``), started once per runner; the directory is read from the environment
        each time, so a changed variable takes effect at the next step."""
        system = self.manifest.systems[system_key]
        assert system.connection_env is not None  # lint: a lake names its variable
        root = lake_root(system.connection_env)
        if self._lake_engine is None:
            self._lake_engine = self._lake_engine_for()
        return ParquetConnector(system_key, system, root, self._lake_engine, self._holds)
