"""docs/manifest.md documents every key, every allowed value and every lint rule."""

from __future__ import annotations

import importlib
import re
import typing
from enum import Enum
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from charter.manifest.models import Manifest

DOC = Path(__file__).resolve().parents[2] / "docs" / "manifest.md"
lint_module = importlib.import_module("charter.manifest.lint")


def _reachable(annotation: object) -> typing.Iterator[type]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel | Enum):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _reachable(argument)


def _models_and_enums() -> tuple[list[type[BaseModel]], list[type[Enum]]]:
    models: list[type[BaseModel]] = []
    enums: list[type[Enum]] = []
    pending: list[type] = [Manifest]
    while pending:
        kind = pending.pop()
        if kind in models or kind in enums:
            continue
        if issubclass(kind, Enum):
            enums.append(kind)
            continue
        models.append(kind)
        for field in kind.model_fields.values():
            pending.extend(_reachable(field.annotation))
    return models, enums


MODELS, ENUMS = _models_and_enums()


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("model", "field"),
    [(m, f) for m in MODELS for f in m.model_fields],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_every_key_has_a_table_row(doc: str, model: type[BaseModel], field: str) -> None:
    rows = (f"| `{field}` |", f"| [`{field}`](#")  # a section's row links to its heading
    assert any(row in doc for row in rows), f"{model.__name__}.{field} is not documented"


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_every_allowed_value_is_listed(doc: str, enum: type[Enum]) -> None:
    missing = [member.value for member in enum if f"`{member.value}`" not in doc]
    assert not missing, f"{enum.__name__} values not documented: {missing}"


def test_every_lint_rule_is_explained(doc: str) -> None:
    source = Path(lint_module.__file__).read_text(encoding="utf-8")
    codes = set(re.findall(r'Problem\(\s*"(\w+)"', source))
    for code in codes:
        assert f"| `{code}` |" in doc, f"lint rule {code} is not documented"
    for rule in lint_module.RULES:
        assert f"`{rule.__name__}`" in doc


def test_yaml_examples_parse(doc: str) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", doc, re.S)
    assert blocks
    for block in blocks:
        assert isinstance(yaml.safe_load(block), dict)
