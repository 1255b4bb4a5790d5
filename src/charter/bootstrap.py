"""Wiring from settings: manifest, key, engine and store. Nothing here runs at import time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from charter.config import Settings
from charter.domain.errors import CharterError
from charter.manifest import Manifest, load_manifest
from charter.services.forensics import ForensicScanner
from charter.storage import migrate
from charter.storage.engine import make_engine
from charter.storage.store import Store
from charter.storage.vault import MasterKey, Vault, create_key_file


class SchemaOutdated(CharterError):
    code = "schema_outdated"


def example_manifest_text() -> str:
    """The example group's manifest, as shipped inside the package."""
    return resources.files("charter").joinpath("examples/musicgroup.yaml").read_text("utf-8")


def open_store(settings: Settings, *, check_schema: bool = True) -> Store:
    engine = make_engine(settings.database_url)
    try:
        if check_schema:
            current, head = migrate.current_revision(engine), migrate.head_revision()
            if current != head:
                state = f"at revision {current}" if current else "not initialised"
                raise SchemaOutdated(
                    f"the database is {state}, Charter needs {head}: run `charter db upgrade` "
                    "(or `charter init` for a new installation)"
                )
        return Store(engine, Vault(MasterKey.from_file(settings.key_file)))
    except BaseException:
        engine.dispose()
        raise


def load(settings: Settings) -> tuple[Manifest, Store]:
    return load_manifest(settings.manifest), open_store(settings)


def open_scanner(settings: Settings, paths: Sequence[Path] = ()) -> ForensicScanner:
    """The forensic scanner over what these settings make Charter write: the database, the
    outbox folder, the log file, and ``paths``. Without a key file, keyed hashes are not
    searched for (the report says so)."""
    region = load_manifest(settings.manifest).policy.default_phone_region
    vault = Vault(MasterKey.from_file(settings.key_file)) if settings.key_file.exists() else None
    return ForensicScanner(
        make_engine(settings.database_url),
        vault=vault,
        region=region,
        outbox_dir=settings.outbox_dir,
        log_file=settings.log_file,
        paths=paths,
    )


@dataclass(frozen=True)
class InitReport:
    manifest_written: bool
    key_written: bool
    revision: str


def initialise(settings: Settings) -> InitReport:
    """Create what a new installation needs; keep anything already there (safe to re-run)."""
    manifest_written = False
    if not settings.manifest.exists():
        settings.manifest.parent.mkdir(parents=True, exist_ok=True)
        settings.manifest.write_text(example_manifest_text(), encoding="utf-8")
        manifest_written = True
    load_manifest(settings.manifest)
    key_written = create_key_file(settings.key_file)
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    engine = make_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    settings.outbox_dir.mkdir(parents=True, exist_ok=True)
    return InitReport(manifest_written, key_written, migrate.head_revision())


__all__ = ["InitReport", "SchemaOutdated", "initialise", "load", "open_scanner", "open_store"]
