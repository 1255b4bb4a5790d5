"""Settings: every knob is a ``CHARTER_*`` environment variable, read once into one object."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Charter's settings.

    Defaults make ``charter init && charter serve`` work in an empty folder: a SQLite file, the
    manifest and the key file beside it, mail written as ``.eml`` files to ``./outbox/``.
    """

    model_config = SettingsConfigDict(env_prefix="CHARTER_", extra="ignore")

    database_url: str = "sqlite:///./charter.db"
    manifest: Path = Path("./charter.yaml")
    key_file: Path = Path("./charter.key")
    smtp_url: str | None = None
    outbox_dir: Path = Path("./outbox")
    log_file: Path | None = Field(
        default=None,
        description="The file `charter serve` logs to (besides stderr); subject ids, never "
        "identities. `charter forensics scan` reads it and its rotated copies.",
    )
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    public_base_url: str = "http://127.0.0.1:8000"
    geoip_file: Path | None = Field(
        default=None,
        description="An IP-range table (CSV first,last,country, e.g. DB-IP's IP to Country "
        "Lite) from which the country of an event is derived before its address is truncated.",
    )
    push_allow_private: bool = Field(
        default=False,
        description="Let portability requests push data to private-network addresses.",
    )
    public_rate_limit: int = Field(
        default=30, ge=1, description="Calls per minute per client to each public endpoint."
    )
    cookie_consent_rate_limit: int = Field(
        default=120,
        ge=1,
        description="Cookie banner choices per minute per client address (many visitors can "
        "share one address behind a company or carrier NAT).",
    )
    unsubscribe_rate_limit: int = Field(
        default=120,
        ge=1,
        description="Unsubscribe calls per minute per client address (mail providers send "
        "their users' one-click unsubscribes from shared servers).",
    )
    identity_rate_limit: int = Field(
        default=10,
        ge=1,
        description="Calls per hour to each public endpoint about one identity (an e-mail, a "
        "request, an unsubscribe link's subject, a cookie id), from whatever address.",
    )
