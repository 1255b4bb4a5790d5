"""Import a Fides dataset (YAML) as the manifest's ``systems`` entries.

A team that mapped its databases for Fides keeps that work: each Fides dataset becomes one
``sql`` system, each collection a table, each field holding personal data a column. The rules:

- ``fides_meta.identity`` (or the older ``fidesops_meta``) marks an identity column; ``email``
  and ``phone_number`` map to Charter's ``email`` and ``phone``, any other identity must be
  mapped by the caller (``user_id=account_id``), else the import stops naming it.
- ``primary_key: true`` gives the table's primary key; a composite key is refused.
- A reference becomes a relation ``{column: <this field>, references: <collection.field>}``
  whatever its ``direction``: Fides documents a reference as the SQL ``REFERENCES`` of the field
  that declares it, and its direction only restricts which way Fides walks the edge. References
  to another dataset are refused (a Charter relation stays within one system).
- A field's categories, minus the ``system`` ones (Fides' marker for non-personal data), give
  its column category: the most specific one, i.e. ancestors of another listed key are dropped;
  two unrelated categories are refused unless ``pick_first``. A field with no category left is
  not a column.
- Nested fields (document stores) are refused: the ``sql`` connector addresses flat columns.

Everything else Fides keeps for its own traversal (``after``, ``erase_after``, ``namespace``,
masking overrides) has no Charter meaning and is skipped with a note. ``merge_systems_text``
writes the result into a manifest's text, keeping the rest of the file (comments included).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from charter.domain.categories import covers
from charter.domain.errors import CharterError
from charter.manifest.loader import load_manifest
from charter.manifest.models import IdentityKind, Manifest, System

__all__ = [
    "FIDES_IDENTITIES",
    "FidesImport",
    "FidesImportError",
    "import_fides_datasets",
    "merge_into_manifest",
    "merge_systems_text",
    "parse_identity_map",
    "read_fides_file",
    "undeclared_categories",
]

FIDES_IDENTITIES: dict[str, IdentityKind] = {
    "email": IdentityKind.EMAIL,
    "phone_number": IdentityKind.PHONE,
}
"""Fides' built-in identity names and the Charter kind each maps to."""

_NON_PERSONAL = "system"  # fideslang's branch for data that is not about a person
_SYSTEM_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z_]\w*$")
_IGNORED_META = (
    "after",
    "erase_after",
    "namespace",
    "skip_processing",
    "masking_strategy_override",
)


class FidesImportError(CharterError):
    """The Fides dataset cannot be imported; the message names the file and the field at fault."""

    code = "fides_import_invalid"


@dataclass
class FidesImport:
    """Systems keyed by system key, as plain manifest data, and notes for the person importing."""

    systems: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def categories(self) -> list[str]:
        found: dict[str, None] = {}
        for system in self.systems.values():
            for table in system["tables"].values():
                for spec in table.get("columns", {}).values():
                    found[spec["category"]] = None
        return list(found)


def read_fides_file(path: Path | str) -> Any:
    """The YAML document at ``path``; not found, unreadable or not YAML raises the import error."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FidesImportError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FidesImportError(f"{path}: cannot be read: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise FidesImportError(f"{path}{line}: not valid YAML: {problem}") from None


def parse_identity_map(pairs: Iterable[str]) -> dict[str, IdentityKind]:
    """``["user_id=account_id"]`` as ``{"user_id": IdentityKind.ACCOUNT_ID}``."""
    kinds = ", ".join(kind.value for kind in IdentityKind)
    mapping: dict[str, IdentityKind] = {}
    for pair in pairs:
        name, sep, kind = pair.partition("=")
        if not sep or not name.strip() or kind.strip() not in {k.value for k in IdentityKind}:
            raise FidesImportError(
                f"--identity {pair!r}: expected NAME=KIND with KIND one of {kinds}"
            )
        mapping[name.strip()] = IdentityKind(kind.strip())
    return mapping


def import_fides_datasets(
    document: Any,
    *,
    source: str = "dataset.yml",
    identities: Mapping[str, IdentityKind] | None = None,
    connection_env: str | None = None,
    delete_rows: Iterable[str] = (),
    pick_first: bool = False,
) -> FidesImport:
    """Convert a Fides dataset document (``{"dataset": [...]}``) into Charter systems.

    ``identities`` maps Fides identity names beyond ``email`` and ``phone_number``;
    ``connection_env`` names the URL variable (one dataset only; by default the system key
    upper-cased plus ``_DATABASE_URL``); every column of a table in ``delete_rows`` is erased by
    deleting the row. Raise ``FidesImportError`` naming ``source`` and the field at fault.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("dataset"), list):
        raise FidesImportError(f"{source}: not a Fides dataset file (no top-level 'dataset:' list)")
    datasets = document["dataset"]
    if not datasets:
        raise FidesImportError(f"{source}: dataset: the list is empty")
    if connection_env is not None and not _VARIABLE.match(connection_env):
        raise FidesImportError(
            f"--connection-env {connection_env!r}: an environment variable name (A-Z, 0-9, _)"
        )
    if connection_env is not None and len(datasets) > 1:
        raise FidesImportError(
            f"{source}: --connection-env names one variable, but the file holds "
            f"{len(datasets)} datasets"
        )
    result = FidesImport()
    others = [str(key) for key in document if key != "dataset"]
    if others:
        result.notes.append(f"{source}: ignored (not datasets): {', '.join(others)}")
    known = {**FIDES_IDENTITIES, **(identities or {})}
    _refuse_unmapped_identities(datasets, known, source)
    wanted = set(delete_rows)
    seen_tables: set[str] = set()
    for index, dataset in enumerate(datasets):
        key, system = _system(
            dataset, index, known, connection_env, wanted, pick_first, source, result.notes
        )
        if key in result.systems:
            raise FidesImportError(f"{source}: {key}: two datasets give the same system key")
        result.systems[key] = system
        seen_tables.update(str(c.get("name")) for c in dataset["collections"])
    missing = sorted(wanted - seen_tables)
    if missing:
        raise FidesImportError(f"{source}: --delete-rows: no collection {', '.join(missing)}")
    return result


def undeclared_categories(categories: Iterable[str], declared: Iterable[str]) -> list[str]:
    """Categories the manifest must still declare: a group key passes when it covers one."""
    declared = list(declared)
    return [
        category
        for category in categories
        if category not in declared and not any(covers(category, d) for d in declared)
    ]


# ---- one dataset --------------------------------------------------------------------------------


def _meta(node: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = node.get("fides_meta") or node.get("fidesops_meta") or {}
    return meta if isinstance(meta, Mapping) else {}


def _collections(dataset: Any, where: str) -> list[Mapping[str, Any]]:
    collections = dataset.get("collections") if isinstance(dataset, Mapping) else None
    if not isinstance(collections, list) or not all(isinstance(c, Mapping) for c in collections):
        raise FidesImportError(f"{where}: not a Fides dataset (no 'collections' list)")
    return collections


def _refuse_unmapped_identities(
    datasets: Sequence[Any], known: Mapping[str, IdentityKind], source: str
) -> None:
    """Stop before converting anything, listing every identity that has no Charter kind."""
    unmapped: dict[str, list[str]] = {}
    for index, dataset in enumerate(datasets):
        dataset_key = _dataset_key(dataset, index, source)
        for collection in _collections(dataset, f"{source}: {dataset_key}"):
            fields = collection.get("fields")
            for fides_field in fields if isinstance(fields, list) else []:
                if not isinstance(fides_field, Mapping):
                    continue
                identity = _meta(fides_field).get("identity")
                if identity is not None and str(identity) not in known:
                    where = f"{dataset_key}.{collection.get('name')}.{fides_field.get('name')}"
                    unmapped.setdefault(str(identity), []).append(where)
    if unmapped:
        names = "; ".join(f"{name} ({', '.join(at)})" for name, at in unmapped.items())
        kinds = ", ".join(kind.value for kind in IdentityKind)
        raise FidesImportError(
            f"{source}: unsupported Fides identity {names}: map each with "
            f"--identity NAME=KIND (KIND: {kinds})"
        )


def _dataset_key(dataset: Any, index: int, source: str) -> str:
    fides_key = dataset.get("fides_key") if isinstance(dataset, Mapping) else None
    if not isinstance(fides_key, str) or not fides_key:
        raise FidesImportError(f"{source}: dataset[{index}]: not a Fides dataset (no fides_key)")
    return fides_key


def _system(
    dataset: Any,
    index: int,
    identities: Mapping[str, IdentityKind],
    connection_env: str | None,
    delete_rows: set[str],
    pick_first: bool,
    source: str,
    notes: list[str],
) -> tuple[str, dict[str, Any]]:
    fides_key = _dataset_key(dataset, index, source)
    collections = _collections(dataset, f"{source}: {fides_key}")
    key = re.sub(r"[^a-z0-9_]", "_", fides_key.lower())
    if not _SYSTEM_KEY.match(key):
        raise FidesImportError(
            f"{source}: {fides_key}: fides_key cannot become a system key (a letter first, "
            "then letters, digits or _, at most 64)"
        )
    ignored = [name for name in _IGNORED_META if name in _meta(dataset)]
    if ignored:
        notes.append(f"{source}: {fides_key}: fides_meta ignored ({', '.join(ignored)})")
    names = [str(c.get("name")) for c in collections]
    tables: dict[str, dict[str, Any]] = {}
    edges: set[frozenset[tuple[str, str]]] = set()
    for collection in collections:
        name = str(collection.get("name"))
        if not collection.get("name") or names.count(name) > 1:
            raise FidesImportError(
                f"{source}: {fides_key}.{name}: a collection needs a name of its own"
            )
        where = f"{source}: {fides_key}.{name}"
        table = _table(
            collection, where, fides_key, collections, identities, pick_first, edges, notes
        )
        if name in delete_rows:
            for spec in table.get("columns", {}).values():
                spec["erasure"] = "delete_row"
        tables[name] = table
    referenced = {
        relation["references"].split(".", 1)[0]
        for table in tables.values()
        for relation in table.get("relations", [])
    }
    bare = [n for n, t in tables.items() if set(t) <= {"primary_key"} and n not in referenced]
    for name in bare:
        del tables[name]
        notes.append(
            f"{source}: {fides_key}.{name}: no personal data, identity or relation; left out"
        )
    system: dict[str, Any] = {
        "name": str(dataset.get("name") or fides_key),
        "connector": "sql",
        "connection_env": connection_env or f"{key.upper()}_DATABASE_URL",
    }
    if dataset.get("description"):
        system["description"] = " ".join(str(dataset["description"]).split())
    system["tables"] = tables
    try:
        System.model_validate(system)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        at = ".".join(str(part) for part in first["loc"])
        raise FidesImportError(f"{source}: {fides_key}: {at}: {first['msg']}") from None
    return key, system


def _table(
    collection: Mapping[str, Any],
    where: str,
    fides_key: str,
    collections: Sequence[Mapping[str, Any]],
    identities: Mapping[str, IdentityKind],
    pick_first: bool,
    edges: set[frozenset[tuple[str, str]]],
    notes: list[str],
) -> dict[str, Any]:
    name = str(collection["name"])
    ignored = [key for key in _IGNORED_META if key in _meta(collection) or key in collection]
    if ignored:
        notes.append(f"{where}: fides_meta ignored ({', '.join(ignored)})")
    fields = collection.get("fields")
    if not isinstance(fields, list) or not all(isinstance(f, Mapping) for f in fields):
        raise FidesImportError(f"{where}: not a Fides collection (no 'fields' list)")
    found: dict[str, IdentityKind] = {}
    keys: list[str] = []
    relations: list[dict[str, str]] = []
    columns: dict[str, dict[str, str]] = {}
    field_names = [str(f.get("name")) for f in fields]
    for fides_field in fields:
        column = str(fides_field.get("name"))
        at = f"{where}.{column}"
        if not fides_field.get("name") or field_names.count(column) > 1:
            raise FidesImportError(f"{at}: a field needs a name of its own")
        if fides_field.get("fields"):
            raise FidesImportError(
                f"{at}: nested fields (a document store) are not supported; the sql connector "
                "addresses flat columns"
            )
        meta = _meta(fides_field)
        if meta.get("identity") is not None:
            found[column] = identities[str(meta["identity"])]
        if meta.get("primary_key") is True:
            keys.append(column)
        for reference in meta.get("references") or []:
            target = _reference(reference, at, fides_key, collections)
            target_table, target_column = target.split(".")
            edge = frozenset({(name, column), (target_table, target_column)})
            if edge in edges:  # declared on both of its fields: one relation is enough
                continue
            edges.add(edge)
            relations.append({"column": column, "references": target})
        category = _category(fides_field.get("data_categories"), at, pick_first)
        if category is not None:
            columns[column] = {"category": category}
    if len(keys) > 1:
        raise FidesImportError(
            f"{where}: composite primary key ({', '.join(keys)}) is not supported"
        )
    if not keys and "id" not in field_names and (found or columns):
        notes.append(f"{where}: no primary_key field and no 'id'; Charter assumes 'id'")
    table: dict[str, Any] = {}
    if found:
        table["identities"] = {column: kind.value for column, kind in found.items()}
    if keys and keys[0] != "id":
        table["primary_key"] = keys[0]
    if relations:
        table["relations"] = relations
    if columns:
        table["columns"] = columns
    return table


def _reference(
    reference: Any, at: str, fides_key: str, collections: Sequence[Mapping[str, Any]]
) -> str:
    if not isinstance(reference, Mapping) or not isinstance(reference.get("field"), str):
        raise FidesImportError(f"{at}: a reference needs 'dataset' and 'field'")
    target = str(reference["field"])
    dataset = reference.get("dataset")
    if dataset != fides_key:
        raise FidesImportError(
            f"{at}: references another dataset ({dataset}.{target}); a Charter relation stays "
            "within one system"
        )
    if reference.get("direction") not in {None, "from", "to"}:
        raise FidesImportError(f"{at}: reference direction must be 'from' or 'to'")
    parts = target.split(".")
    if len(parts) != 2 or not all(_NAME.match(part) for part in parts):
        raise FidesImportError(
            f"{at}: reference {target!r} is not 'collection.field' (nested fields are not "
            "supported)"
        )
    table, column = parts
    fields = next((c.get("fields") for c in collections if c.get("name") == table), None)
    if fields is None:
        raise FidesImportError(f"{at}: references {target}: no collection {table!r}")
    if not any(isinstance(f, Mapping) and f.get("name") == column for f in fields):
        raise FidesImportError(f"{at}: references {target}: no field {column!r} in {table}")
    return target


def _category(categories: Any, at: str, pick_first: bool) -> str | None:
    if categories is None:
        return None
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise FidesImportError(f"{at}: data_categories must be a list of category keys")
    for category in categories:
        if not _CATEGORY.match(category):
            raise FidesImportError(f"{at}: {category!r} is not a dotted category key")
    personal = [c for c in categories if not covers(_NON_PERSONAL, c)]
    specific = [
        c
        for c in dict.fromkeys(personal)
        if not any(other != c and covers(c, other) for other in personal)
    ]
    if len(specific) > 1 and not pick_first:
        raise FidesImportError(
            f"{at}: several data categories ({', '.join(specific)}); a column has one "
            "(keep one in the dataset, or pass --pick-first to take the first)"
        )
    return specific[0] if specific else None


# ---- writing into a manifest --------------------------------------------------------------------


def _dump(data: Mapping[str, Any], indent: int) -> list[str]:
    text = yaml.safe_dump(
        dict(data), sort_keys=False, default_flow_style=None, allow_unicode=True, width=100
    )
    return [" " * indent + line + "\n" for line in text.splitlines()]


def _content_end(lines: Sequence[str], start: int, end: int) -> int:
    """``end`` moved up past blank and comment lines: those belong to what follows."""
    while end > start + 1 and (
        not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")
    ):
        end -= 1
    return end


def merge_systems_text(
    text: str,
    systems: Mapping[str, Mapping[str, Any]],
    *,
    replace: bool = False,
    source: str = "charter.yaml",
) -> str:
    """``text`` (a manifest that loads) with ``systems`` set in its ``systems`` section.

    The rest of the text is kept as it is, comments included: a new system is added after the
    last one, a replaced one is rewritten in place. A ``systems`` section written in flow style
    is rewritten whole (its comments are lost). Refuse a system key the manifest already holds
    unless ``replace``.
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise FidesImportError(f"{source}: the manifest must be a mapping of sections")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    top = root.value
    position = next((i for i, (k, _) in enumerate(top) if k.value == "systems"), None)
    if position is None:
        return "".join([*lines, "systems:\n", *_dump(systems, 2)])
    key_node, value = top[position]
    section_end = top[position + 1][0].start_mark.line if position + 1 < len(top) else len(lines)
    section_end = _content_end(lines, key_node.start_mark.line, section_end)
    existing = yaml.safe_load("".join(lines[key_node.start_mark.line : section_end]))["systems"]
    clashes = [key for key in systems if key in (existing or {})]
    if clashes and not replace:
        raise FidesImportError(
            f"{source}: systems.{clashes[0]}: already declared; use --replace to overwrite it"
        )
    if not isinstance(value, yaml.MappingNode) or value.flow_style or not value.value:
        merged = {**(existing or {}), **systems}
        section = ["systems:\n", *_dump(merged, 2)]
        return "".join([*lines[: key_node.start_mark.line], *section, *lines[section_end:]])
    entries = value.value
    indent = entries[0][0].start_mark.column
    edits: list[tuple[int, int, list[str]]] = []
    for i, (entry_key, _) in enumerate(entries):
        if entry_key.value in systems:
            start = entry_key.start_mark.line
            end = entries[i + 1][0].start_mark.line if i + 1 < len(entries) else section_end
            block = _dump({entry_key.value: systems[entry_key.value]}, indent)
            edits.append((start, _content_end(lines, start, end), block))
    new = {key: spec for key, spec in systems.items() if key not in (existing or {})}
    if new:
        edits.append((section_end, section_end, _dump(new, indent)))
    for start, end, block in sorted(edits, key=lambda edit: edit[0], reverse=True):
        lines[start:end] = block
    return "".join(lines)


def merge_into_manifest(
    path: Path | str, systems: Mapping[str, Mapping[str, Any]], *, replace: bool = False
) -> Manifest:
    """Write ``systems`` into the manifest at ``path``; return the manifest as written.

    The manifest must load before (else ``ManifestError``) and after: the merged text is written
    to a temporary file beside it, loaded, and only then moved over the original, so a failure
    at any point leaves the original untouched.
    """
    path = Path(path)
    load_manifest(path)
    text = merge_systems_text(
        path.read_text(encoding="utf-8"), systems, replace=replace, source=str(path)
    )
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        try:
            manifest = load_manifest(temporary)
        except CharterError as exc:
            raise FidesImportError(
                f"{path}: the merged manifest would not load "
                f"({exc.message.replace(temporary, str(path))}); left unchanged"
            ) from None
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return manifest
