"""The manifest: ``charter.yaml`` models, loading with precise errors, lint rules, rendering."""

from __future__ import annotations

from pathlib import Path

from charter.domain.errors import ManifestError
from charter.manifest.lint import Problem, lint
from charter.manifest.loader import load_manifest, load_manifest_with_lines, parse_manifest
from charter.manifest.models import Manifest

__all__ = [
    "Manifest",
    "Problem",
    "check_manifest",
    "lint",
    "load_manifest",
    "load_manifest_with_lines",
    "parse_manifest",
]


def check_manifest(path: Path | str) -> list[str]:
    """Load and lint the manifest at ``path``; return every problem as ``file:line: key: text``."""
    try:
        manifest, lines = load_manifest_with_lines(path)
    except ManifestError as exc:
        return exc.problems
    found = []
    for problem in lint(manifest):
        line = None
        for end in range(len(problem.path), -1, -1):
            line = lines.get(problem.path[:end])
            if line is not None:
                break
        key = ".".join(str(part) for part in problem.path)
        where = f"{path}:{line}" if line is not None else str(path)
        found.append(f"{where}: {key}: {problem.message} [{problem.rule}]")
    return found
