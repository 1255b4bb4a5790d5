"""Load ``charter.yaml`` into a ``Manifest``, with errors that name file, line and key.

PyYAML's ``safe_load`` forgets where each value came from and silently keeps the last of two
duplicate keys. We compose the node graph instead, build plain Python values from it while
remembering the line of every key path, and report duplicate keys, unknown keys and invalid
values as ``file:line: key.path: message``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from charter.domain.errors import ManifestError
from charter.manifest.models import Manifest

Path_ = tuple[str | int, ...]


@dataclass
class _Located:
    lines: dict[Path_, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _key_text(path: Path_) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text or "(top level)"


def _build(node: yaml.Node, path: Path_, located: _Located, source: str) -> Any:
    # A mapping key already holds the line of the key itself; keep it rather than the line where
    # a block value starts (the first child), so that "missing key" points at the parent key.
    located.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                located.problems.append(
                    f"{source}:{key_node.start_mark.line + 1}: {_key_text(path)}: "
                    "keys must be plain strings"
                )
                continue
            key = str(key_node.value)
            if key in result:
                located.problems.append(
                    f"{source}:{key_node.start_mark.line + 1}: {_key_text((*path, key))}: "
                    "duplicate key (an earlier one would be silently replaced)"
                )
                continue
            located.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _build(value_node, (*path, key), located, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*path, index), located, source) for index, item in enumerate(node.value)
        ]
    return yaml.SafeLoader(" ").construct_object(node, deep=True)


def _line_for(path: Path_, lines: dict[Path_, int]) -> int | None:
    """The line of the deepest known prefix of ``path`` (an absent key is shown at its parent)."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def parse_manifest(text: str, source: str = "charter.yaml") -> tuple[Manifest, dict[Path_, int]]:
    """Parse manifest text; return the model and the line of every key path.

    Raise ``ManifestError`` listing every problem found, each as ``source:line: key: message``.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        # Where PyYAML noticed the fault can be far from its cause (an unclosed quote is noticed
        # at the end of the file), so also name the line of the construct it was reading.
        context = getattr(exc, "context", None)
        start = getattr(exc, "context_mark", None)
        if context and start is not None and (mark is None or start.line != mark.line):
            problem += f" ({context} started at line {start.line + 1})"
        raise ManifestError([f"{source}{line}: not valid YAML: {problem}"]) from None
    if node is None:
        raise ManifestError([f"{source}: the manifest is empty"])
    located = _Located()
    data = _build(node, (), located, source)
    if not isinstance(data, dict):
        located.problems.append(f"{source}:1: the manifest must be a mapping of sections")
    if located.problems:
        raise ManifestError(located.problems)
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        # A union (a duration or "session") fails once per member; report one line per key.
        messages: dict[Path_, list[str]] = {}
        for error in exc.errors(include_url=False):
            loc = _strip_union_tags(tuple(error["loc"]), located.lines)
            messages.setdefault(loc, []).append(_message(error))
        problems = []
        for loc, texts in messages.items():
            found = _line_for(loc, located.lines)
            where = f"{source}:{found}" if found is not None else source
            problems.append(f"{where}: {_key_text(loc)}: {' or '.join(dict.fromkeys(texts))}")
        raise ManifestError(problems) from None
    return manifest, located.lines


def _strip_union_tags(loc: Path_, lines: dict[Path_, int]) -> Path_:
    """Drop the union member names pydantic puts in ``loc`` ("function-after[...]", "str").

    A part is kept when the manifest has a key of that name there, so a table named ``str``
    still shows in the path.
    """
    kept: Path_ = ()
    for part in loc:
        candidate = (*kept, part)
        if isinstance(part, int) or candidate in lines or not _looks_like_tag(part):
            kept = candidate
    return kept


def _looks_like_tag(part: str) -> bool:
    return "[" in part or part in {"str", "int", "list[str]"}


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (not part of the manifest format; check the spelling)"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def load_manifest(path: Path | str) -> Manifest:
    """Read and parse the manifest file at ``path``."""
    manifest, _ = load_manifest_with_lines(path)
    return manifest


def load_manifest_with_lines(path: Path | str) -> tuple[Manifest, dict[Path_, int]]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError([f"{path}: cannot be read: {exc}"]) from None
    return parse_manifest(text, str(path))
