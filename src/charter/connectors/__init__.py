"""Connectors: the external systems a rights request reaches (``systems`` in the manifest)."""
