"""``charter ropa export`` and ``charter policy render`` as an operator runs them: every format,
to stdout and to a file, and bad usage named."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charter.cli import app

EXAMPLE = Path(__file__).parents[2] / "examples" / "musicgroup" / "charter.yaml"
runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding the example manifest as ``charter.yaml``, and no CHARTER_* setting but
    the public base URL: these commands read the manifest only, never the database."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CHARTER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CHARTER_PUBLIC_BASE_URL", "https://privacy.example.org")
    shutil.copy(EXAMPLE, tmp_path / "charter.yaml")
    return tmp_path


def test_ropa_export_csv_by_default(folder: Path) -> None:
    result = runner.invoke(app, ["ropa", "export"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["purpose"] for r in rows][:2] == ["product_development", "order_fulfilment"]
    order = rows[1]
    assert order["legal_basis"] == "contract"
    assert "Cloudnest Hosting, Inc. to United States" in order["transfers"]
    assert "module 2 (controller to processor)" in order["transfers"]


def test_ropa_export_json_and_html_to_files(folder: Path) -> None:
    result = runner.invoke(app, ["ropa", "export", "--format", "json", "--output", "ropa.json"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    records = json.loads((folder / "ropa.json").read_text(encoding="utf-8"))
    fraud = next(r for r in records if r["purpose"] == "security_fraud")
    assert fraud["legitimate_interest"].startswith("Preventing fraud")
    assert fraud["dpo"]["email"] == "dpo@example.org"

    result = runner.invoke(app, ["ropa", "export", "-f", "HTML", "-o", "ropa.html"])
    assert result.exit_code == 0, result.output
    page = (folder / "ropa.html").read_text(encoding="utf-8")
    assert "<h1>Records of processing activities</h1>" in page
    assert '<section id="security_fraud"' in page


def test_ropa_export_bad_usage(folder: Path) -> None:
    bad = runner.invoke(app, ["ropa", "export", "--format", "xml"])
    assert bad.exit_code == 2
    assert "--format" in bad.stderr and "xml" in bad.stderr
    unwritable = runner.invoke(app, ["ropa", "export", "-o", str(folder / "no" / "such.csv")])
    assert unwritable.exit_code == 1
    assert "cannot write" in unwritable.stderr and "such.csv" in unwritable.stderr
    (folder / "charter.yaml").write_text("charter: 1\npolicy: {}\n", encoding="utf-8")
    broken = runner.invoke(app, ["ropa", "export"])
    assert broken.exit_code == 1
    assert "policy" in broken.stderr


def test_policy_render_html_and_markdown(folder: Path) -> None:
    page = runner.invoke(app, ["policy", "render", "--brand", "spark_audio"])
    assert page.exit_code == 0, page.output
    assert "<title>Resonance Music Group Privacy Policy — Spark Audio</title>" in page.stdout
    assert 'href="https://privacy.example.org/privacy?brand=spark_audio"' in page.stdout
    assert 'src="https://privacy.example.org/cookie-banner.js" data-brand="spark_audio"' in (
        page.stdout
    )
    assert "euconsent-v2" in page.stdout

    written = runner.invoke(
        app, ["policy", "render", "--format", "md", "--brand", "akkord_pro", "-o", "policy.md"]
    )
    assert written.exit_code == 0, written.output
    document = (folder / "policy.md").read_text(encoding="utf-8")
    assert document.startswith("# Resonance Music Group Privacy Policy — Akkord Professional\n")
    assert '## <a id="transfers"></a>International transfers' in document
    assert "3 years after your last activity" in document
    assert "euconsent" not in document  # a cookie of spark_audio only

    group = runner.invoke(app, ["policy", "render", "-f", "md"])
    assert group.exit_code == 0
    assert "Spark Audio" in group.stdout and "Akkord Professional" in group.stdout


def test_policy_render_bad_usage(folder: Path) -> None:
    bad = runner.invoke(app, ["policy", "render", "--format", "pdf"])
    assert bad.exit_code == 2
    assert "--format" in bad.stderr and "pdf" in bad.stderr
    unknown = runner.invoke(app, ["policy", "render", "--brand", "nobrand"])
    assert unknown.exit_code == 2
    assert "--brand: no brand 'nobrand'" in unknown.stderr
    assert "akkord_pro" in unknown.stderr  # the brands there are
    assert unknown.stdout == ""
