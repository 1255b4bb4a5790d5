"""``charter import fides-dataset`` as a team moving from Fides runs it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from charter.cli import app
from charter.manifest.models import System

FIXTURES = Path(__file__).parent.parent / "fixtures"
DATASET = FIXTURES / "fides_dataset.yml"
runner = CliRunner()


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "charter.yaml"
    shutil.copy(FIXTURES / "minimal.yaml", path)
    return path


def variant(tmp_path: Path, old: str, new: str) -> Path:
    text = DATASET.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "dataset.yml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_prints_the_systems_section_on_stdout_and_notes_on_stderr() -> None:
    result = runner.invoke(app, ["import", "fides-dataset", str(DATASET)])
    assert result.exit_code == 0, result.stderr
    systems = yaml.safe_load(result.stdout)["systems"]
    shop = System.model_validate(systems["shop"])
    assert shop.connection_env == "SHOP_DATABASE_URL"
    assert set(shop.tables) == {"customers", "orders", "order_items", "support_tickets", "messages"}
    assert "note:" in result.stderr
    assert "shop.support_tickets: fides_meta ignored (after)" in result.stderr


def test_options_shape_the_system(tmp_path: Path) -> None:
    dataset = variant(tmp_path, "{identity: phone_number}", "{identity: ticket_phone}")
    result = runner.invoke(
        app,
        [
            "import", "fides-dataset", str(dataset),
            "--connection-env", "SHOP_DB_URL",
            "--identity", "ticket_phone=phone",
            "--delete-rows", "messages,order_items",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    shop = System.model_validate(yaml.safe_load(result.stdout)["systems"]["shop"])
    assert shop.connection_env == "SHOP_DB_URL"
    assert shop.tables["support_tickets"].identities["contact_phone"] == "phone"
    assert shop.tables["messages"].columns["body"].erasure == "delete_row"
    assert shop.tables["order_items"].columns["gift_message"].erasure == "delete_row"
    assert shop.tables["orders"].columns["email"].erasure == "null"


def test_merge_refuses_an_existing_system_then_replaces_it_and_the_policy_stays_sound(
    manifest: Path,
) -> None:
    original = manifest.read_text(encoding="utf-8")
    refused = runner.invoke(
        app, ["import", "fides-dataset", str(DATASET), "--merge", str(manifest)]
    )
    assert refused.exit_code == 2
    assert f"{manifest}: systems.shop: already declared" in refused.stderr
    assert manifest.read_text(encoding="utf-8") == original

    merged = runner.invoke(
        app, ["import", "fides-dataset", str(DATASET), "--merge", str(manifest), "--replace"]
    )
    assert merged.exit_code == 0, merged.stderr
    assert f"{manifest}: systems.shop written" in merged.stdout
    assert "warning" not in merged.stderr
    text = manifest.read_text(encoding="utf-8")
    assert text.startswith(original[: original.index("systems:")])
    assert "support_tickets" in text
    check = runner.invoke(app, ["policy", "check", str(manifest)])
    assert check.exit_code == 0, check.stderr


def test_merge_warns_about_categories_the_manifest_does_not_declare(
    manifest: Path, tmp_path: Path
) -> None:
    dataset = variant(tmp_path, "[user.name]", "[user.demographic.gender]")
    result = runner.invoke(
        app, ["import", "fides-dataset", str(dataset), "--merge", str(manifest), "--replace"]
    )
    assert result.exit_code == 0, result.stderr
    assert (
        f"warning: {manifest}: declare these categories in data_categories: user.demographic.gender"
    ) in result.stderr
    assert runner.invoke(app, ["policy", "check", str(manifest)]).exit_code == 1


def test_printing_warns_about_categories_outside_fideslang(tmp_path: Path) -> None:
    dataset = variant(tmp_path, "[user.name]", "[loyalty.tier]")
    result = runner.invoke(app, ["import", "fides-dataset", str(dataset)])
    assert result.exit_code == 0, result.stderr
    assert "not fideslang categories: loyalty.tier" in result.stderr


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, None, "no such file"),
        ("dataset:\n", "dataset: [\n", "not valid YAML"),
        ("dataset:\n", "datasets:\n", "not a Fides dataset file"),
        ("{identity: phone_number}", "{identity: loyalty}", "shop.support_tickets.contact_phone"),
        ("dataset: shop, field: orders.id", "dataset: crm, field: orders.id", "another dataset"),
        ("[user.name]", "[user.name, user.contact.email]", "shop.customers.full_name"),
        ("          - name: sent_at\n", "          - name: meta\n            fields: []\n"
         "          - name: sent_at\n            fields: [{name: at}]\n", "shop.messages.sent_at"),
    ],
)  # fmt: skip
def test_bad_input_is_exit_2_with_one_line_naming_file_and_field(
    tmp_path: Path, old: str | None, new: str | None, expected: str
) -> None:
    dataset = tmp_path / "missing.yml" if old is None else variant(tmp_path, old, new or "")
    result = runner.invoke(app, ["import", "fides-dataset", str(dataset)])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if not line.startswith("note:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: {dataset}")
    assert expected in errors[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--identity", "loyalty"], "--identity 'loyalty': expected NAME=KIND"),
        (["--delete-rows", "invoices"], "--delete-rows: no collection invoices"),
        (["--connection-env", "shop-url"], "--connection-env 'shop-url'"),
    ],
)
def test_bad_options_are_exit_2(args: list[str], expected: str) -> None:
    result = runner.invoke(app, ["import", "fides-dataset", str(DATASET), *args])
    assert result.exit_code == 2
    assert expected in result.stderr


def test_merge_into_a_manifest_that_does_not_load_is_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "charter.yaml"
    broken.write_text("charter: 1\npolicy: [\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "fides-dataset", str(DATASET), "--merge", str(broken)])
    assert result.exit_code == 2
    assert f"{broken}:" in result.stderr
    assert "nothing merged" in result.stderr
    assert broken.read_text(encoding="utf-8") == "charter: 1\npolicy: [\n"
