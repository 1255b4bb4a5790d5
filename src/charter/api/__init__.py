"""The HTTP API (FastAPI): ``create_app`` builds an app; nothing is created at import time."""

from charter.api.app import create_app

__all__ = ["create_app"]
