"""``charter sweep`` as an operator runs it: a dry run into the future, then the sweep."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from charter.cli import app
from charter.config import Settings
from charter.facade import Charter

runner = CliRunner()


@pytest.fixture
def customer(workdir: Path) -> Path:
    """The example group's Charter with one support case."""
    assert runner.invoke(app, ["init"]).exit_code == 0
    with Charter.open(Settings()) as charter:
        charter.submit(
            "support",
            brand="akkord_pro",
            identities={"email": "ann@example.org"},
            data={"message": "My mixer hums.", "name": "Ann"},
        )
    return workdir


def test_a_dry_run_into_the_future_then_the_sweep(customer: Path) -> None:
    today = runner.invoke(app, ["sweep", "--dry-run"])
    assert today.exit_code == 0, today.output
    assert "support_cases" in today.output
    future = runner.invoke(app, ["sweep", "--dry-run", "--as-of", "2035-01-01"])
    assert future.exit_code == 0, future.output
    row = next(line for line in future.output.splitlines() if "support_cases" in line)
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells == ["support_cases", "delete", "2", "0", "2", "0"]  # message and name go
    with Charter.open(Settings()) as charter:
        assert charter.retention.sweep(dry_run=True).removed == 0  # nothing changed
    swept = runner.invoke(app, ["sweep", "--as-of", "2035-01-01"])
    assert swept.exit_code == 0, swept.output
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0


def test_a_bad_date_is_bad_usage(customer: Path) -> None:
    answer = runner.invoke(app, ["sweep", "--as-of", "next tuesday"])
    assert answer.exit_code == 2
    assert "not a date" in answer.output
