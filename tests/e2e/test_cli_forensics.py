"""``charter forensics scan`` as an operator runs it: the person is found before their erasure
(exit 1, naming the file), and nowhere after it (exit 0); bad usage exits 2. The slow test runs
the whole erasure through ``charter serve`` and its worker, logging to ``CHARTER_LOG_FILE``."""

from __future__ import annotations

import email
import json
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from fixtures.servers import CLI, clean_env, free_port, serving
from typer.testing import CliRunner

from charter.cli import app
from charter.cli.logs import log_config
from charter.config import Settings
from charter.facade import Charter
from charter.services.requests import NewRequest

runner = CliRunner()
EMAIL = "rosalind.quillfeather@example.org"
PHONE = "+49 171 1234567"
SERIAL = "QF-778899-XY"


def code_in(outbox: Path, request_id: str) -> str:
    for path in sorted(outbox.glob("*.eml")):
        body = email.message_from_bytes(path.read_bytes()).get_payload(decode=True).decode()  # type: ignore[union-attr]
        if request_id in body and (code := re.search(r"^\s+(\d{6})$", body, re.M)):
            return code.group(1)
    raise AssertionError(f"no code for {request_id}")


def erase(charter: Charter, request_id: str) -> None:
    """Approve, run, confirm what staff do by hand (no shop connection here), deliver."""
    charter.requests.approve(request_id, "staff:test")
    status = charter.rights.run(request_id)
    while status != "completed":
        steps = charter.requests.view(request_id).steps
        step = next(s for s in steps if s.status == "awaiting_staff")
        status = charter.rights.confirm_manual_step(request_id, step.seq, "staff:test", "done")
    charter.outbox.deliver()


def test_found_before_the_erasure_and_nowhere_after(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = workdir / "logs" / "charter.log"
    monkeypatch.setenv("CHARTER_LOG_FILE", str(log))
    assert runner.invoke(app, ["init"]).exit_code == 0
    log.parent.mkdir()
    log.write_text("2026-11-29 10:00:00 INFO charter.jobs retention sweep removed 0 values\n")
    with Charter.open(Settings()) as charter:
        charter.submit(
            "support",
            brand="akkord_pro",
            identities={"email": EMAIL, "phone": PHONE, "device_serial": SERIAL},
            data={"message": "My Xylophonic Z-9000 hums at night.", "name": "Rosalind"},
        )
        filed = charter.requests.submit(NewRequest("erasure", "akkord_pro", {"email": EMAIL}))
        charter.requests.verify(filed.id, code_in(workdir / "outbox", filed.id))

        found = runner.invoke(
            app, ["forensics", "scan", "--identity", EMAIL, "--identity", "+49-171-123 4567"]
        )
        assert found.exit_code == 1, found.output
        named = r"found rosalind\.quillfeather@example\.org: \S*outbox/\S+\.eml at byte \d+"
        assert re.search(named, found.stderr)
        assert "identities.lookup_hash row" in found.stderr  # the live row, sealed
        assert "keyed hash (phone)" in found.stderr  # written another way, normalised to E.164
        assert "finding(s)" in found.stdout
        if Settings().database_url.startswith("sqlite"):
            assert "charter.db" in found.stderr
        else:
            assert "cannot be read from here" in found.stderr
        report = json.loads(
            runner.invoke(app, ["forensics", "scan", "--identity", SERIAL, "--json"]).stdout
        )
        assert report["clean"] is False
        assert {f["form"] for f in report["findings"]} == {"keyed hash (device_serial)"}
        assert str(log) in {f["path"] for f in report["files"]}

        erase(charter, filed.id)

    clean = runner.invoke(
        app,
        ["forensics", "scan", "--identity", EMAIL, "--identity", PHONE, "--identity", SERIAL],
    )
    assert clean.exit_code == 0, clean.output
    assert "nothing found" in clean.stdout
    assert f"kept by design: request {filed.id} holds the keyed hash of {EMAIL}" in clean.stdout


def test_a_file_given_with_path_is_searched_too(workdir: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    export = workdir / "exports"
    export.mkdir()
    (export / "crm.csv").write_text(f"id,email\n7,{EMAIL.upper()}\n", encoding="utf-16-le")
    found = runner.invoke(app, ["forensics", "scan", "--identity", EMAIL, "--path", str(export)])
    assert found.exit_code == 1
    assert "crm.csv at byte 22 (as given, UTF-16-LE)" in found.stderr


def test_bad_usage_exits_2(workdir: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["forensics", "scan"]).exit_code == 2
    short = runner.invoke(app, ["forensics", "scan", "--identity", "42"])
    assert short.exit_code == 2
    assert "shorter than 6 characters" in short.stderr


def test_serve_logs_to_the_log_file(tmp_path: Path) -> None:
    config = log_config(tmp_path / "charter.log")
    assert config["handlers"]["file"]["class"] == "logging.handlers.WatchedFileHandler"
    for name in ("charter", "uvicorn", "uvicorn.access"):
        assert "file" in config["loggers"][name]["handlers"]
    assert "file" not in log_config(None)["handlers"]


@pytest.mark.slow
def test_an_erasure_through_the_server_leaves_nothing(tmp_path: Path) -> None:
    """Over HTTP with the server's own worker: file, verify, approve, confirm the steps done
    by hand; the worker delivers, then forgets the person's mail and checkpoints the WAL."""
    port = free_port()
    log = tmp_path / "logs" / "charter.log"
    env = clean_env(CHARTER_LOG_FILE=str(log))
    base = f"http://127.0.0.1:{port}"
    with serving(env, tmp_path, port):
        token = subprocess.run(
            [*CLI, "token", "create", "--role", "privacy_officer"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        staff = {"Authorization": f"Bearer {token}"}
        filed = httpx.post(
            f"{base}/v1/requests",
            json={"type": "erasure", "brand": "akkord_pro", "identities": {"email": EMAIL}},
        ).json()
        code = code_in(tmp_path / "outbox", filed["id"])
        httpx.post(f"{base}/v1/requests/{filed['id']}/verify", json={"code": code})
        httpx.post(f"{base}/v1/requests/{filed['id']}/approve", headers=staff).raise_for_status()
        deadline = time.monotonic() + 60
        while True:
            view = httpx.get(f"{base}/v1/requests/{filed['id']}", headers=staff).json()
            if view["status"] == "completed" and not list((tmp_path / "outbox").glob("*.eml")):
                break
            for step in view["steps"]:
                if step["status"] == "awaiting_staff":
                    httpx.post(
                        f"{base}/v1/requests/{filed['id']}/steps/{step['seq']}/confirm",
                        headers=staff,
                        json={"note": "done by hand"},
                    ).raise_for_status()
            assert time.monotonic() < deadline, view
            time.sleep(0.2)
        scan = subprocess.run(
            [*CLI, "forensics", "scan", "--identity", EMAIL, "--json"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
    assert scan.returncode == 0, scan.stdout + scan.stderr
    report = json.loads(scan.stdout)
    assert report["clean"] and str(log) in {f["path"] for f in report["files"]}
    logged = log.read_text(encoding="utf-8")
    assert "Application startup complete" in logged  # uvicorn's own lines go there too
    assert f"request {filed['id']}: forgot" in logged
    assert EMAIL not in logged
