"""A server carrying out an access request is killed with SIGKILL mid-request; after a restart the
request resumes where it stopped (steps already done are not run again) and completes.

Real parts: ``charter serve`` as a process (its background worker runs the request), Charter's
store in SQLite, the shop in PostgreSQL. The test holds a lock on the shop's ``messages`` table,
so the request stops at that step; the server is killed while it waits there.
"""

from __future__ import annotations

import email
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml
from fixtures.postgres import postgres_schema
from fixtures.servers import free_port, start
from fixtures.shop import create_shop, email_of
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from charter.storage.tables import request_steps

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musicgroup" / "charter.yaml"
POSTGRES_URL = os.environ.get("CHARTER_TEST_POSTGRES_URL")
PERSON = 2


@pytest.fixture
def shop_url() -> Iterator[str]:
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must test PostgreSQL: CHARTER_TEST_POSTGRES_URL is not set")
        pytest.skip("CHARTER_TEST_POSTGRES_URL is not set")
    with postgres_schema("shop") as url:
        yield url


def steps(database: Path, request_id: str) -> list[tuple[str | None, str, int]]:
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return [
                (row.target, row.status, row.attempts)
                for row in connection.execute(
                    select(request_steps)
                    .where(request_steps.c.request_id == request_id)
                    .order_by(request_steps.c.seq)
                )
            ]
    finally:
        engine.dispose()


def test_a_killed_server_resumes_the_request_where_it_stopped(
    tmp_path: Path, shop_url: str
) -> None:
    manifest = yaml.safe_load(EXAMPLE.read_text())
    manifest["systems"] = {"shop": manifest["systems"]["shop"]}  # the others need staff
    manifest.pop("events")  # its lake is one of the others
    manifest["touchpoints"]["forum"]["publication"].pop("system")  # the forum's webhook too
    (tmp_path / "charter.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    create_shop(shop_url, customers=5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env |= {
        "CHARTER_DATABASE_URL": f"sqlite:///{tmp_path / 'charter.db'}",
        "SHOP_DATABASE_URL": shop_url,
    }
    init = subprocess.run(
        [sys.executable, "-c", "from charter.cli import main; main()", "init"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert init.returncode == 0, init.stderr
    port = free_port()
    server = start(env, tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    lock = psycopg.connect(
        make_url(shop_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        filed = httpx.post(
            f"{base}/v1/requests",
            json={
                "type": "access",
                "brand": "akkord_pro",
                "identities": {"email": email_of(PERSON)},
            },
        )
        assert filed.status_code == 202, filed.text
        request_id = filed.json()["id"]
        mail = email.message_from_bytes(next((tmp_path / "outbox").glob("*.eml")).read_bytes())
        code = re.search(r"^\s+(\d{6})$", mail.get_payload(decode=True).decode(), re.M).group(1)  # type: ignore[union-attr]
        lock.execute("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")  # held until rollback
        verified = httpx.post(f"{base}/v1/requests/{request_id}/verify", json={"code": code})
        assert verified.status_code == 200, verified.text
        token = verified.json()["access_token"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = steps(tmp_path / "charter.db", request_id)
            if now and now[-2] == ("messages", "pending", 1):  # started, blocked on the lock
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"the request never reached the locked table: {now}")
        assert all(status == "done" for _, status, _ in now[:-2])
        server.send_signal(signal.SIGKILL)
        server.wait(10)
    finally:
        lock.rollback()
        lock.close()
        if server.poll() is None:
            server.kill()
    server = start(env, tmp_path, port)
    try:
        deadline = time.monotonic() + 30
        status = ""
        while time.monotonic() < deadline:
            answer = httpx.get(
                f"{base}/v1/requests/{request_id}", headers={"Authorization": f"Bearer {token}"}
            )
            status = answer.json()["status"]
            if status == "completed":
                break
            time.sleep(0.2)
        assert status == "completed"
        after = steps(tmp_path / "charter.db", request_id)
        # every step before the lock ran once; the interrupted one ran again; none is left
        assert [attempts for _, _, attempts in after[:-2]] == [1] * (len(after) - 2)
        assert after[-2] == ("messages", "done", 2)
        assert all(status == "done" for _, status, _ in after)
        package = httpx.get(
            f"{base}/v1/requests/{request_id}/package", headers={"Authorization": f"Bearer {token}"}
        )
        assert package.status_code == 200
        assert package.headers["content-type"] == "application/zip"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(15)
