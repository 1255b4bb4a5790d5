"""The ``charter`` command as an operator runs it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from charter.cli import app

FIXTURES = Path(__file__).parent.parent / "fixtures"
runner = CliRunner()


def test_init_writes_manifest_key_and_database_and_is_safe_to_rerun(workdir: Path) -> None:
    first = runner.invoke(app, ["init"])
    assert first.exit_code == 0, first.output
    key = (workdir / "charter.key").read_bytes()
    assert (workdir / "charter.yaml").exists()
    assert oct((workdir / "charter.key").stat().st_mode & 0o777) == "0o600"
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 0
    assert "kept" in again.output
    assert (workdir / "charter.key").read_bytes() == key
    assert runner.invoke(app, ["policy", "check"]).exit_code == 0


def test_token_create_prints_a_working_token(workdir: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["token", "create", "--role", "service", "--name", "web shop"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("chr_")
    from charter.config import Settings
    from charter.domain.permissions import Permission
    from charter.facade import Charter

    with Charter.open(Settings()) as charter:
        assert charter.authorise(token, Permission.COLLECT).role.value == "service"


def test_token_create_with_an_unknown_role_is_bad_usage(workdir: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["token", "create", "--role", "superuser"])
    assert result.exit_code == 2
    assert "superuser" in result.stderr


def test_commands_on_an_uninitialised_database_say_what_to_do(workdir: Path) -> None:
    shutil.copy(FIXTURES / "minimal.yaml", workdir / "charter.yaml")
    runner.invoke(app, ["init"])  # writes key and schema
    (workdir / "charter.key").unlink()
    result = runner.invoke(app, ["token", "create", "--role", "admin"])
    assert result.exit_code == 1
    assert "key file not found" in result.stderr


def test_policy_check_lists_every_problem_with_file_and_line(tmp_path: Path) -> None:
    broken = (FIXTURES / "minimal.yaml").read_text()
    broken = broken.replace("    legitimate_interest: Improving our products and websites.\n", "")
    broken = broken.replace(
        "    transfer: {mechanism: standard_contractual_clauses, module: 2}\n", ""
    )
    path = tmp_path / "broken.yaml"
    path.write_text(broken)
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    assert any("[legitimate_interest_stated]" in line for line in lines)
    assert any("[transfer_mechanism]" in line and "recipients.shop_host" in line for line in lines)
    assert all(line.split(":")[1].isdigit() for line in lines)


def test_policy_check_reports_unknown_keys_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(
        (FIXTURES / "minimal.yaml").read_text().replace("  child_age: 18", "  chld_age: 18")
    )
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:18: policy.chld_age: unknown key" in result.stderr
    missing = runner.invoke(app, ["policy", "check", str(tmp_path / "absent.yaml")])
    assert missing.exit_code == 1
    assert "no such file" in missing.stderr


def test_the_example_manifest_passes_policy_check() -> None:
    example = Path(__file__).parents[2] / "examples" / "musicgroup" / "charter.yaml"
    result = runner.invoke(app, ["policy", "check", str(example)])
    assert result.exit_code == 0, result.stderr


def test_policy_render_writes_html(workdir: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["policy", "render", "--output", "policy.html"])
    assert result.exit_code == 0
    assert "Last Updated" in (workdir / "policy.html").read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_answers_health_and_policy(workdir: Path) -> None:
    charter_bin = Path(sys.executable).with_name("charter")
    subprocess.run([charter_bin, "init"], check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        [charter_bin, "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "server did not become healthy"
            time.sleep(0.05)
        assert response.json()["status"] == "ok"
        assert "Last Updated" in httpx.get(f"http://127.0.0.1:{port}/policy").text
    finally:
        server.terminate()
        server.communicate(timeout=10)


def test_a_bad_setting_is_bad_usage_naming_the_variable(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTER_MAX_BODY_BYTES", "lots")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 2
    assert "CHARTER_MAX_BODY_BYTES" in result.stderr


def test_serve_refuses_an_unsound_manifest(workdir: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    with (workdir / "charter.yaml").open("a") as manifest:
        manifest.write("promises_we_forgot: true\n")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "promises_we_forgot: unknown key" in result.stderr
    assert "not serving it" in result.stderr


def test_staff_create_asks_the_password_twice_and_disable_ends_the_account(
    workdir: Path,
) -> None:
    from charter.config import Settings
    from charter.domain.errors import Unauthorized
    from charter.facade import Charter

    assert runner.invoke(app, ["init"]).exit_code == 0
    secret = "correct horse battery"
    created = runner.invoke(
        app,
        ["staff", "create", "--email", "Dana@Example.org", "--name", "Dana", "--role", "admin"],
        input=f"{secret}\n{secret}\n",
    )
    assert created.exit_code == 0, created.output
    assert "created staff account" in created.stdout and secret not in created.output
    with Charter.open(Settings()) as charter:
        assert charter.staff.login("dana@example.org", secret).user.name == "Dana"
    disabled = runner.invoke(app, ["staff", "disable", "--email", "dana@example.org"])
    assert disabled.exit_code == 0, disabled.output
    with Charter.open(Settings()) as charter, pytest.raises(Unauthorized):
        charter.staff.login("dana@example.org", secret)
    again = runner.invoke(app, ["staff", "disable", "--email", "dana@example.org"])
    assert again.exit_code == 2 and "no active staff account" in again.stderr


def test_staff_create_reads_the_password_from_the_environment_for_scripts(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    monkeypatch.setenv("CHARTER_STAFF_PASSWORD", "a long scripted password")
    args = ["staff", "create", "--email", "ops@example.org", "--name", "Ops", "--role", "auditor"]
    created = runner.invoke(app, args)
    assert created.exit_code == 0, created.output
    twice = runner.invoke(app, args)
    assert twice.exit_code == 2 and "exists" in twice.stderr


@pytest.mark.parametrize(
    ("options", "password", "message"),
    [
        (["--role", "superuser"], "correct horse battery", "superuser"),
        (["--role", "admin"], "too short", "at least 12 characters"),
        (["--role", "admin", "--email", "not-an-address"], "correct horse battery", "email"),
    ],
)
def test_staff_create_with_bad_input_is_bad_usage(
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    password: str,
    message: str,
) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    monkeypatch.setenv("CHARTER_STAFF_PASSWORD", password)
    defaults = {"--email": "ann@example.org", "--name": "Ann"}
    for name, value in defaults.items():
        if name not in options:
            options = [*options, name, value]
    result = runner.invoke(app, ["staff", "create", *options])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert password not in result.output
