"""A Fides dataset becomes the manifest's systems; what Charter cannot follow is refused by name."""

from __future__ import annotations

import copy
import difflib
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from charter.domain.errors import ManifestError
from charter.manifest import check_manifest, parse_manifest
from charter.manifest.fides_import import (
    FidesImportError,
    import_fides_datasets,
    merge_into_manifest,
    merge_systems_text,
    parse_identity_map,
    read_fides_file,
    undeclared_categories,
)
from charter.manifest.models import IdentityKind, System

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATASET = FIXTURES / "fides_dataset.yml"
MINIMAL = FIXTURES / "minimal.yaml"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
SOURCE = "fides.yml"


def field(name: str, *categories: str, **meta: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name}
    if categories:
        spec["data_categories"] = list(categories)
    if meta:
        spec["fides_meta"] = meta
    return spec


def document(*collections: dict[str, Any], key: str = "crm") -> dict[str, Any]:
    return {"dataset": [{"fides_key": key, "name": "CRM", "collections": list(collections)}]}


def collection(name: str, *fields: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "fields": list(fields)}


def tables_of(doc: dict[str, Any], **options: Any) -> dict[str, Any]:
    result = import_fides_datasets(doc, source=SOURCE, **options)
    (system,) = result.systems.values()
    tables: dict[str, Any] = system["tables"]
    return tables


def refusal(doc: Any, **options: Any) -> str:
    with pytest.raises(FidesImportError) as caught:
        import_fides_datasets(doc, source=SOURCE, **options)
    message = caught.value.message
    assert message.startswith(SOURCE) or message.startswith("--"), message
    assert "\n" not in message
    return message


@pytest.fixture(scope="module")
def shop() -> dict[str, Any]:
    loaded = read_fides_file(DATASET)
    assert isinstance(loaded, dict)
    return loaded


# ---- the shop fixture ---------------------------------------------------------------------------


def test_the_shop_dataset_becomes_one_sql_system(shop: dict[str, Any]) -> None:
    result = import_fides_datasets(shop, source=SOURCE)
    assert list(result.systems) == ["shop"]
    system = result.systems["shop"]
    System.model_validate(system)
    assert system["name"] == "Web shop database"
    assert system["connector"] == "sql"
    assert system["connection_env"] == "SHOP_DATABASE_URL"
    assert system["description"] == "Customers, orders and support tickets of the web shop."
    tables = system["tables"]
    assert list(tables) == ["customers", "orders", "order_items", "support_tickets", "messages"]
    assert tables["customers"] == {
        "identities": {"email": "email", "phone": "phone"},
        "columns": {
            "id": {"category": "user.unique_id"},
            "email": {"category": "user.contact.email"},
            "phone": {"category": "user.contact.phone_number"},
            "full_name": {"category": "user.name"},
        },
    }
    assert tables["orders"]["relations"] == [
        {"column": "customer_id", "references": "customers.id"}
    ]
    assert tables["orders"]["columns"]["email"] == {"category": "user.contact.email"}
    assert "total" not in tables["orders"]["columns"]  # system.operations: not personal
    assert tables["order_items"]["primary_key"] == "item_id"  # from the older fidesops_meta
    assert tables["support_tickets"]["relations"] == [
        {"column": "customer_id", "references": "customers.id"},
        {"column": "order_id", "references": "orders.id"},
    ]
    assert tables["messages"] == {
        "relations": [{"column": "ticket_id", "references": "support_tickets.id"}],
        "columns": {"body": {"category": "user.content.private"}},
    }


def test_ignored_metadata_and_left_out_collections_are_noted(shop: dict[str, Any]) -> None:
    notes = import_fides_datasets(shop, source=SOURCE).notes
    assert f"{SOURCE}: shop: fides_meta ignored (namespace)" in notes
    assert f"{SOURCE}: shop.support_tickets: fides_meta ignored (after)" in notes
    assert any("shop.products" in note and "left out" in note for note in notes)


def test_the_merged_shop_passes_policy_check(shop: dict[str, Any], tmp_path: Path) -> None:
    manifest = tmp_path / "charter.yaml"
    manifest.write_text(MINIMAL.read_text(encoding="utf-8"), encoding="utf-8")
    result = import_fides_datasets(shop, source=SOURCE, delete_rows=["messages"])
    merge_into_manifest(manifest, result.systems, replace=True)
    assert check_manifest(manifest) == []


# ---- identities ---------------------------------------------------------------------------------


def test_email_and_phone_number_map_and_custom_identities_need_a_mapping() -> None:
    doc = document(
        collection(
            "people",
            field("id", "user.unique_id", primary_key=True, identity="user_id"),
            field("mail", "user.contact.email", identity="email"),
            field("tel", "user.contact.phone_number", identity="phone_number"),
        )
    )
    tables = tables_of(doc, identities={"user_id": IdentityKind.ACCOUNT_ID})
    assert tables["people"]["identities"] == {"id": "account_id", "mail": "email", "tel": "phone"}


def test_every_unmapped_identity_is_named_before_anything_is_converted() -> None:
    doc = document(
        collection("people", field("id", identity="user_id"), field("card", identity="loyalty")),
        collection("visits", field("visitor", identity="user_id")),
    )
    message = refusal(doc)
    assert "user_id (crm.people.id, crm.visits.visitor)" in message
    assert "loyalty (crm.people.card)" in message
    assert "--identity NAME=KIND" in message


def test_an_identity_field_without_personal_category_is_an_identity_only() -> None:
    doc = document(collection("log", field("email", "system.operations", identity="email")))
    assert tables_of(doc)["log"] == {"identities": {"email": "email"}}


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([], {}),
        (["user_id=account_id"], {"user_id": IdentityKind.ACCOUNT_ID}),
        ([" sn = device_serial "], {"sn": IdentityKind.DEVICE_SERIAL}),
        (["email=cookie_id"], {"email": IdentityKind.COOKIE_ID}),
    ],
)
def test_identity_options_parse(pairs: list[str], expected: dict[str, IdentityKind]) -> None:
    assert parse_identity_map(pairs) == expected


@pytest.mark.parametrize("pair", ["user_id", "user_id=", "=email", "user_id=customer"])
def test_bad_identity_options_are_refused(pair: str) -> None:
    with pytest.raises(FidesImportError, match="--identity"):
        parse_identity_map([pair])


# ---- categories ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("categories", "pick_first", "expected"),
    [
        (["user.name"], False, "user.name"),
        (["user.contact", "user.contact.email"], False, "user.contact.email"),
        (["user.contact.email", "user.contact"], False, "user.contact.email"),
        (["system.operations"], False, None),
        (["system.operations", "user.name"], False, "user.name"),
        (["system.authentication"], False, None),
        ([], False, None),
        (["user.name", "user.contact.email"], True, "user.name"),
        (["user.name", "user.name"], False, "user.name"),
    ],
)
def test_a_column_takes_the_most_specific_personal_category(
    categories: list[str], pick_first: bool, expected: str | None
) -> None:
    doc = document(collection("t", field("id"), field("c", *categories)))
    doc["dataset"][0]["collections"][0]["fields"][1]["data_categories"] = categories
    columns = tables_of(doc, pick_first=pick_first).get("t", {}).get("columns", {})
    assert columns.get("c") == ({"category": expected} if expected else None)


def test_unrelated_categories_need_pick_first() -> None:
    doc = document(collection("t", field("c", "user.name", "user.contact.email")))
    message = refusal(doc)
    assert "crm.t.c" in message
    assert "user.name, user.contact.email" in message
    assert "--pick-first" in message


@pytest.mark.parametrize("categories", [["User.Name"], "user.name", [3]])
def test_malformed_categories_are_refused(categories: Any) -> None:
    doc = document(collection("t", field("c")))
    doc["dataset"][0]["collections"][0]["fields"][0]["data_categories"] = categories
    assert "crm.t.c" in refusal(doc)


def test_undeclared_categories_allow_group_keys_that_cover_a_declared_one() -> None:
    declared = ["user.contact.email", "user.name"]
    used = ["user.contact.email", "user.contact", "user.demographic.gender", "user.name"]
    assert undeclared_categories(used, declared) == ["user.demographic.gender"]


# ---- relations and keys -------------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["from", "to", None])
def test_every_direction_gives_a_relation_from_the_declaring_field(direction: str | None) -> None:
    reference: dict[str, Any] = {"dataset": "crm", "field": "people.id"}
    if direction:
        reference["direction"] = direction
    doc = document(
        collection("people", field("id", "user.unique_id", primary_key=True)),
        collection("notes", field("person_id", references=[reference])),
    )
    relations = tables_of(doc)["notes"]["relations"]
    assert relations == [{"column": "person_id", "references": "people.id"}]


def test_a_reference_declared_on_both_fields_gives_one_relation() -> None:
    doc = document(
        collection(
            "people",
            field("id", "user.unique_id", references=[{"dataset": "crm", "field": "notes.pid"}]),
        ),
        collection("notes", field("pid", references=[{"dataset": "crm", "field": "people.id"}])),
    )
    tables = tables_of(doc)
    assert tables["people"]["relations"] == [{"column": "id", "references": "notes.pid"}]
    assert "notes" in tables  # kept: a relation points at it
    assert "relations" not in tables["notes"]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ({"dataset": "billing", "field": "invoices.id"}, "another dataset (billing.invoices.id)"),
        ({"dataset": "crm", "field": "nowhere.id"}, "no collection 'nowhere'"),
        ({"dataset": "crm", "field": "people.nothing"}, "no field 'nothing'"),
        ({"dataset": "crm", "field": "people.address.city"}, "nested fields"),
        ({"dataset": "crm", "field": "people.id", "direction": "up"}, "direction"),
        ({"dataset": "crm"}, "'dataset' and 'field'"),
    ],
)
def test_references_charter_cannot_follow_are_refused(
    reference: dict[str, Any], expected: str
) -> None:
    doc = document(
        collection("people", field("id", "user.unique_id")),
        collection("notes", field("person_id", references=[reference])),
    )
    message = refusal(doc)
    assert "crm.notes.person_id" in message
    assert expected in message


def test_primary_keys() -> None:
    doc = document(
        collection("a", field("code", "user.unique_id", primary_key=True)),
        collection("b", field("id", "user.name", primary_key=True)),
        collection("c", field("name", "user.name")),
    )
    result = import_fides_datasets(doc, source=SOURCE)
    tables = result.systems["crm"]["tables"]
    assert tables["a"]["primary_key"] == "code"
    assert "primary_key" not in tables["b"]  # Charter's default
    assert f"{SOURCE}: crm.c: no primary_key field and no 'id'; Charter assumes 'id'" in (
        result.notes
    )


def test_a_composite_primary_key_is_refused() -> None:
    doc = document(
        collection("a", field("x", primary_key=True), field("y", "user.name", primary_key=True))
    )
    assert "crm.a: composite primary key (x, y)" in refusal(doc)


def test_nested_fields_are_refused_by_name() -> None:
    nested = field("address")
    nested["fields"] = [field("city", "user.contact.address.city")]
    assert "crm.people.address: nested fields" in refusal(document(collection("people", nested)))


# ---- the system ---------------------------------------------------------------------------------


def test_delete_rows_erases_every_column_of_the_tables_named() -> None:
    doc = document(
        collection("a", field("id"), field("email", "user.contact.email", identity="email")),
        collection("b", field("id"), field("name", "user.name")),
    )
    tables = tables_of(doc, delete_rows=["a"])
    assert tables["a"]["columns"]["email"] == {
        "category": "user.contact.email",
        "erasure": "delete_row",
    }
    assert tables["b"]["columns"]["name"] == {"category": "user.name"}
    assert "--delete-rows: no collection c" in refusal(doc, delete_rows=["a", "c"])


def test_fides_keys_become_system_keys_and_connection_variables() -> None:
    doc = document(collection("a", field("id"), field("n", "user.name")), key="Shop-DB")
    result = import_fides_datasets(doc, source=SOURCE)
    assert result.systems["shop_db"]["connection_env"] == "SHOP_DB_DATABASE_URL"
    named = import_fides_datasets(doc, source=SOURCE, connection_env="CRM_URL")
    assert named.systems["shop_db"]["connection_env"] == "CRM_URL"
    assert "fides_key cannot become a system key" in refusal(
        document(collection("a", field("id")), key="1shop")
    )


def test_several_datasets_give_several_systems_but_one_connection_option_is_refused() -> None:
    first = document(collection("a", field("id"), field("n", "user.name")), key="one")
    second = document(collection("b", field("id"), field("n", "user.name")), key="two")
    both = {"dataset": first["dataset"] + second["dataset"]}
    assert list(import_fides_datasets(both, source=SOURCE).systems) == ["one", "two"]
    assert "holds 2 datasets" in refusal(both, connection_env="DB_URL")
    clash = {"dataset": first["dataset"] + copy.deepcopy(first["dataset"])}
    assert "same system key" in refusal(clash)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (None, "not a Fides dataset file"),
        (["dataset"], "not a Fides dataset file"),
        ({"system": []}, "not a Fides dataset file"),
        ({"dataset": {"fides_key": "x"}}, "not a Fides dataset file"),
        ({"dataset": []}, "the list is empty"),
        ({"dataset": [{"name": "x", "collections": []}]}, "dataset[0]: not a Fides dataset"),
        ({"dataset": [{"fides_key": "x"}]}, "x: not a Fides dataset (no 'collections' list)"),
        ({"dataset": [{"fides_key": "x", "collections": [{"name": "c"}]}]}, "x.c: not a Fides"),
        (document(collection("c", field("a"), field("a"))), "crm.c.a: a field needs a name"),
        (document(collection("c"), collection("c")), "crm.c: a collection needs a name"),
    ],
)
def test_what_is_not_a_fides_dataset_is_refused(doc: Any, expected: str) -> None:
    assert expected in refusal(doc)


def test_a_file_that_is_missing_or_not_yaml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FidesImportError, match=r"missing\.yml: no such file"):
        read_fides_file(tmp_path / "missing.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("dataset:\n  - fides_key: [\n", encoding="utf-8")
    with pytest.raises(FidesImportError, match=r"broken\.yml:\d+: not valid YAML"):
        read_fides_file(broken)


# ---- writing into a manifest --------------------------------------------------------------------


def _systems(shop: dict[str, Any], key: str = "shop") -> dict[str, Any]:
    systems = import_fides_datasets(shop, source=SOURCE).systems
    return {key: systems["shop"]}


def _only_added(before: str, after: str) -> list[str]:
    """The lines ``after`` adds; fails if it changes or removes any line of ``before``."""
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    assert not [line for line in diff if line.startswith("- ")], "a line was changed"
    return [line[2:] for line in diff if line.startswith("+ ")]


def test_a_new_system_is_added_after_the_others_keeping_every_line(shop: dict[str, Any]) -> None:
    before = EXAMPLE.read_text(encoding="utf-8")
    after = merge_systems_text(before, _systems(shop, "shop_import"))
    added = _only_added(before, after)
    assert added[0] == "  shop_import:"
    manifest, _ = parse_manifest(after)
    assert list(manifest.systems)[-1] == "shop_import"
    assert manifest.systems["events"] == parse_manifest(before)[0].systems["events"]


def test_a_manifest_without_systems_gets_the_section(shop: dict[str, Any]) -> None:
    text = MINIMAL.read_text(encoding="utf-8")
    before = text[: text.index("systems:")]
    after = merge_systems_text(before, _systems(shop))
    assert _only_added(before, after)[0] == "systems:"
    assert list(parse_manifest(after)[0].systems) == ["shop"]


@pytest.mark.parametrize("empty", ["systems: {}\n", "systems:\n", "systems: {}  # none yet\n"])
def test_an_empty_systems_section_is_filled(shop: dict[str, Any], empty: str) -> None:
    text = MINIMAL.read_text(encoding="utf-8")
    before = text[: text.index("systems:")] + empty
    manifest, _ = parse_manifest(merge_systems_text(before, _systems(shop)))
    assert list(manifest.systems) == ["shop"]


def test_a_flow_style_systems_section_keeps_its_systems(shop: dict[str, Any]) -> None:
    text = MINIMAL.read_text(encoding="utf-8")
    flow = "systems: {crm: {name: CRM, connector: manual}}\n"
    before = text[: text.index("systems:")] + flow
    manifest, _ = parse_manifest(merge_systems_text(before, _systems(shop)))
    assert list(manifest.systems) == ["crm", "shop"]


def test_an_existing_system_is_refused_unless_replaced_in_place(shop: dict[str, Any]) -> None:
    before = EXAMPLE.read_text(encoding="utf-8")
    with pytest.raises(FidesImportError, match=r"systems\.shop: already declared; use --replace"):
        merge_systems_text(before, _systems(shop), source="charter.yaml")
    after = merge_systems_text(before, _systems(shop), replace=True)
    manifest, _ = parse_manifest(after)
    assert list(manifest.systems) == list(parse_manifest(before)[0].systems)  # same place
    assert manifest.systems["shop"].tables["order_items"].primary_key == "item_id"
    head = before[: before.index("\n  shop:\n")]
    tail = before[before.index("\n  events:\n") :]
    assert after.startswith(head)
    assert after.endswith(tail)


def test_merge_into_manifest_writes_atomically_and_keeps_the_mode(
    shop: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "charter.yaml"
    path.write_text(MINIMAL.read_text(encoding="utf-8"), encoding="utf-8")
    path.chmod(0o640)
    manifest = merge_into_manifest(path, _systems(shop, "shop_import"))
    assert "shop_import" in manifest.systems
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    assert os.listdir(tmp_path) == ["charter.yaml"]


def test_merge_into_manifest_leaves_the_file_alone_when_the_result_would_not_load(
    tmp_path: Path,
) -> None:
    path = tmp_path / "charter.yaml"
    original = MINIMAL.read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    broken = {"crm": {"name": "CRM", "connector": "ftp"}}
    with pytest.raises(FidesImportError, match=r"charter\.yaml: the merged manifest would not"):
        merge_into_manifest(path, broken)
    assert path.read_text(encoding="utf-8") == original
    assert os.listdir(tmp_path) == ["charter.yaml"]


def test_merge_into_a_manifest_that_does_not_load_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "charter.yaml"
    path.write_text(yaml.safe_dump({"charter": 1}), encoding="utf-8")
    with pytest.raises(ManifestError):
        merge_into_manifest(path, {})
