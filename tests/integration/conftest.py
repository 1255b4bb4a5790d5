"""Fixtures for integration tests: a real HTTPS endpoint on loopback (``fixtures.https``)."""

from __future__ import annotations

from fixtures.https import https_endpoint

__all__ = ["https_endpoint"]
