"""Decisions over HTTP: single ``POST /v1/decisions`` and ``POST /v1/decisions:batch`` per second.

What is measured (issue 3, item 7):

1. **Set-up.** In a temporary folder: ``charter init`` (the example manifest, SQLite), then
   ``--subjects`` subjects (default 20,000) written through the store in one transaction with
   the same repository and ledger calls ``record_consent`` makes: 70 % gave consent to
   ``marketing_communications`` for brand ``akkord_pro``, 15 % gave then withdrew it, 15 %
   never answered. A ``service`` token is created with ``Charter.create_token``.
2. **Server.** ``charter serve --host 127.0.0.1 --port <free port> [--workers N]`` as a real
   uvicorn process (uvloop and httptools when installed), its access log off.
3. **Single decisions.** A load generator on loopback keeps ``--concurrency`` requests in flight
   (default 64 connections, keep-alive), each ``POST /v1/decisions`` for a random seeded
   subject (by ``subject_id``), purpose ``marketing_communications``, category
   ``user.contact.email``; it stops after ``--requests`` responses or ``--seconds``, whichever
   comes first, after a warm-up of 500 requests. Two generators are measured: ``httpx`` (an
   ``httpx.AsyncClient`` per connection) and ``raw`` (asyncio streams sending pre-encoded
   HTTP/1.1 requests, so that the client's own CPU, on the same 2 cores, weighs less).
4. **Batch.** ``POST /v1/decisions:batch`` with ``--batch`` subject ids per call (default
   5,000), ``--batch-concurrency`` calls in flight (default 2), for ``--batch-calls`` calls;
   reported as decisions per second.
   The server's CPU time (user + system, the process and its workers, from ``/proc``) over the
   whole phase, warm-up included, divided by the responses, is reported too: on a shared
   machine it moves much less than the rate, and one core's worth of it bounds what one worker
   can serve.
5. **Check.** Every answer received is compared with the seeded truth; any difference, non-200
   status or transport error is counted and makes the script exit 1.
6. **Baseline.** The same answers in a plain indexed SQLite table (a file beside the database,
   default durability), one ``SELECT allowed, reason ... WHERE subject = ? AND purpose = ?`` per
   look-up through the standard ``sqlite3`` module in this process, and for the batch
   ``WHERE subject IN (...)`` in chunks of 500 ids.

Usage: python bench/http_decisions.py [--subjects N] [--workers N] [--concurrency N]
        [--requests N] [--seconds S] [--batch N] [--batch-calls N] [--client httpx|raw|both]
Exits 1 if a step fails or an answer is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from charter.config import Settings
from charter.domain.consent import ConsentAction, ConsentEvent
from charter.facade import Charter
from charter.services.collection import notice_hash
from charter.storage.ledger import Ledger, LedgerEntry
from charter.storage.subjects import SubjectRepository

BRAND = "akkord_pro"
PURPOSE = "marketing_communications"
CATEGORIES = ["user.contact.email"]
NOTICE = "Send me news and offers from Akkord Pro by email."
TARGET_SINGLE_PER_S = 3_000
TARGET_BATCH_PER_S = 200_000
WARM_UP = 500
HEALTHY_TIMEOUT_S = 30.0


class StepFailed(Exception):
    """A step failed; the message names it."""


def clean_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env["CHARTER_DATABASE_URL"] = f"sqlite:///{workdir / 'charter.db'}"
    env["CHARTER_MANIFEST"] = str(workdir / "charter.yaml")
    env["CHARTER_KEY_FILE"] = str(workdir / "charter.key")
    env["CHARTER_OUTBOX_DIR"] = str(workdir / "outbox")
    env["CHARTER_MAX_BODY_BYTES"] = str(4 * 1024 * 1024)  # a batch of 10,000 ids fits
    return env


def charter_command() -> list[str]:
    return [sys.executable, "-c", "from charter.cli import main; main()"]


def seed(workdir: Path, n: int, rng: random.Random) -> tuple[str, dict[str, tuple[bool, str]]]:
    """Init, write ``n`` subjects with consent histories, create a service token."""
    env = clean_env(workdir)
    done = subprocess.run(
        [*charter_command(), "init"], cwd=workdir, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise StepFailed(f"charter init failed: {done.stderr.strip()}")
    settings = Settings(
        database_url=env["CHARTER_DATABASE_URL"],
        manifest=Path(env["CHARTER_MANIFEST"]),
        key_file=Path(env["CHARTER_KEY_FILE"]),
        outbox_dir=Path(env["CHARTER_OUTBOX_DIR"]),
    )
    truth: dict[str, tuple[bool, str]] = {}
    with Charter.open(settings) as charter:
        version = charter.manifest.purposes[PURPOSE].notice_version
        policy = charter.manifest.policy.version
        digest = notice_hash(NOTICE)
        start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
        with charter.store.write() as connection:
            repo = SubjectRepository(connection, charter.store.vault)
            ledger = Ledger(connection)
            repo.store_notice(digest, NOTICE, start)
            for i in range(n):
                at = start + dt.timedelta(seconds=i)
                subject_id = repo.create(at)
                roll = rng.random()
                actions: list[ConsentAction] = []
                if roll < 0.70:
                    actions = [ConsentAction.GIVEN]
                    truth[subject_id] = (True, "ok")
                elif roll < 0.85:
                    actions = [ConsentAction.GIVEN, ConsentAction.WITHDRAWN]
                    truth[subject_id] = (False, "consent_withdrawn")
                else:
                    truth[subject_id] = (False, "no_consent")
                entries = [
                    LedgerEntry(
                        ConsentEvent(BRAND, PURPOSE, "any", action, version, at + dt.timedelta(k)),
                        digest,
                        "api",
                        policy,
                    )
                    for k, action in enumerate(actions)
                ]
                ledger.record_consents(subject_id, entries, at)
        token = charter.create_token("service", "bench").token
    return token, truth


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(workdir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    cmd = [*charter_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    log = (workdir / "serve.log").open("wb")
    proc = subprocess.Popen(
        cmd,
        cwd=workdir,
        env=clean_env(workdir),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    began = time.perf_counter()
    while time.perf_counter() - began < HEALTHY_TIMEOUT_S:
        if proc.poll() is not None:
            raise StepFailed(
                f"charter serve exited ({proc.returncode}):\n"
                + (workdir / "serve.log").read_text(errors="replace")[-3000:]
            )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            pass
        time.sleep(0.05)
    stop(proc)
    raise StepFailed(f"charter serve: not healthy within {HEALTHY_TIMEOUT_S:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants (Linux ``/proc``), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class Load:
    done: int = 0
    wrong: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    decisions: int = 0

    def rate(self, unit: int = 1) -> float:
        return self.done * unit / self.seconds if self.seconds else 0.0


def check(load: Load, truth: dict[str, tuple[bool, str]], subject_id: str, answer: dict) -> None:
    if (answer.get("allowed"), answer.get("reason")) != truth[subject_id]:
        load.wrong += 1


async def run_single(
    port: int,
    token: str,
    truth: dict[str, tuple[bool, str]],
    client_kind: str,
    concurrency: int,
    requests: int,
    seconds: float,
    seed_value: int,
) -> Load:
    ids = list(truth)
    rng = random.Random(seed_value)
    load = Load()
    warm = Load()
    total = requests + WARM_UP
    issued = 0
    started: list[float] = []
    deadline = [float("inf")]

    def next_subject() -> tuple[str, bool] | None:
        """The next subject to ask about, and whether its answer is measured (not warm-up)."""
        nonlocal issued
        if issued >= total or time.perf_counter() > deadline[0]:
            return None
        issued += 1
        if issued == WARM_UP + 1:
            started.append(time.perf_counter())
            deadline[0] = started[0] + seconds
        return ids[rng.randrange(len(ids))], issued > WARM_UP

    def record(subject_id: str, measured: bool, status: int, body: bytes) -> None:
        target = load if measured else warm
        if status != 200:
            target.errors.append(f"{status} {body[:200]!r}")
            return
        target.done += 1
        check(target, truth, subject_id, json.loads(body))

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def httpx_worker() -> None:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30
        ) as client:
            while (task := next_subject()) is not None:
                subject_id, measured = task
                try:
                    response = await client.post(
                        "/v1/decisions",
                        json={
                            "brand": BRAND,
                            "subject_id": subject_id,
                            "purpose": PURPOSE,
                            "categories": CATEGORIES,
                        },
                    )
                except httpx.HTTPError as exc:
                    load.errors.append(repr(exc))
                    continue
                record(subject_id, measured, response.status_code, response.content)

    async def raw_worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (
            "POST /v1/decisions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        )
        try:
            while (task := next_subject()) is not None:
                subject_id, measured = task
                body = json.dumps(
                    {
                        "brand": BRAND,
                        "subject_id": subject_id,
                        "purpose": PURPOSE,
                        "categories": CATEGORIES,
                    }
                ).encode()
                writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
                status_line = await reader.readuntil(b"\r\n")
                length = 0
                while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                payload = await reader.readexactly(length)
                record(subject_id, measured, int(status_line.split()[1]), payload)
        except (OSError, asyncio.IncompleteReadError) as exc:
            load.errors.append(repr(exc))
        finally:
            writer.close()

    worker = httpx_worker if client_kind == "httpx" else raw_worker
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    load.seconds = time.perf_counter() - started[0] if started else 0.0
    load.errors.extend(warm.errors)
    load.wrong += warm.wrong
    return load


async def run_batch(
    port: int,
    token: str,
    truth: dict[str, tuple[bool, str]],
    size: int,
    calls: int,
    concurrency: int,
    seconds: float,
    seed_value: int,
) -> Load:
    ids = list(truth)
    rng = random.Random(seed_value)
    load = Load()
    remaining = [calls]
    headers = {"Authorization": f"Bearer {token}"}
    deadline = [0.0]

    async def worker(client: httpx.AsyncClient) -> None:
        while remaining[0] > 0 and time.perf_counter() < deadline[0]:
            remaining[0] -= 1
            chosen = rng.sample(ids, min(size, len(ids)))
            response = await client.post(
                "/v1/decisions:batch",
                json={
                    "brand": BRAND,
                    "purpose": PURPOSE,
                    "categories": CATEGORIES,
                    "subject_ids": chosen,
                },
            )
            if response.status_code != 200:
                load.errors.append(f"{response.status_code} {response.text[:200]}")
                continue
            answers = response.json()["decisions"]
            load.done += 1
            load.decisions += len(answers)
            if [a["subject_id"] for a in answers] != chosen:
                load.wrong += 1
            for answer in answers:
                check(load, truth, answer["subject_id"], answer)

    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120
    ) as client:
        warm = await client.post(
            "/v1/decisions:batch",
            json={"brand": BRAND, "purpose": PURPOSE, "subject_ids": ids[:size]},
        )
        if warm.status_code != 200:
            raise StepFailed(f"batch warm-up: {warm.status_code} {warm.text[:300]}")
        began = time.perf_counter()
        deadline[0] = began + seconds
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        load.seconds = time.perf_counter() - began
    return load


def baseline(
    workdir: Path, truth: dict[str, tuple[bool, str]], lookups: int, batch: int, seed_value: int
) -> tuple[float, float]:
    """Raw SQL look-ups/s of the same answers: one id at a time, and ``batch`` ids in chunks."""
    db = sqlite3.connect(workdir / "baseline.db")
    db.execute(
        "CREATE TABLE answers (subject TEXT NOT NULL, purpose TEXT NOT NULL, "
        "allowed INTEGER NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (subject, purpose))"
    )
    db.executemany(
        "INSERT INTO answers VALUES (?, ?, ?, ?)",
        [(sid, PURPOSE, int(a), r) for sid, (a, r) in truth.items()],
    )
    db.commit()
    ids = list(truth)
    rng = random.Random(seed_value)
    chosen = [ids[rng.randrange(len(ids))] for _ in range(lookups)]
    sql = "SELECT allowed, reason FROM answers WHERE subject = ? AND purpose = ?"
    began = time.perf_counter()
    for sid in chosen:
        db.execute(sql, (sid, PURPOSE)).fetchone()
    single = lookups / (time.perf_counter() - began)

    rounds = max(1, lookups // batch)
    picks = [rng.sample(ids, min(batch, len(ids))) for _ in range(rounds)]
    began = time.perf_counter()
    found = 0
    for pick in picks:
        for start in range(0, len(pick), 500):
            chunk = pick[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found += len(
                db.execute(
                    f"SELECT subject, allowed, reason FROM answers "
                    f"WHERE purpose = ? AND subject IN ({marks})",
                    (PURPOSE, *chunk),
                ).fetchall()
            )
    many = found / (time.perf_counter() - began)
    db.close()
    return single, many


def show(rows: list[tuple[str, str, str, str]], notes: list[str]) -> None:
    header = ("measure", "value", "target", "meets")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    print("Decisions over HTTP (bench/http_decisions.py)")
    for r in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    for note in notes:
        print(note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="per load phase")
    parser.add_argument("--client", choices=("httpx", "raw", "both"), default="both")
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--batch-calls", type=int, default=200)
    parser.add_argument("--batch-concurrency", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []
    failed = False
    tmp = tempfile.mkdtemp(prefix="charter-http-bench-")
    workdir = Path(tmp)
    proc = None
    try:
        t = time.perf_counter()
        token, truth = seed(workdir, args.subjects, random.Random(args.seed))
        notes.append(f"seeded {len(truth):,} subjects in {time.perf_counter() - t:.1f} s")
        port = free_port()
        proc = start_server(workdir, port, args.workers)
        kinds = ("httpx", "raw") if args.client == "both" else (args.client,)
        for kind in kinds:
            cpu_before = cpu_seconds(proc.pid)
            load = asyncio.run(
                run_single(
                    port,
                    token,
                    truth,
                    kind,
                    args.concurrency,
                    args.requests,
                    args.seconds,
                    args.seed,
                )
            )
            rate = load.rate()
            cpu_us = (cpu_seconds(proc.pid) - cpu_before) / (load.done + WARM_UP) * 1e6
            rows.append(
                (
                    f"single POST /v1/decisions per s ({kind} client, {args.concurrency} conns, "
                    f"{args.workers} worker{'s' if args.workers > 1 else ''})",
                    f"{rate:,.0f}",
                    f">= {TARGET_SINGLE_PER_S:,}",
                    "yes" if rate >= TARGET_SINGLE_PER_S else "NO",
                )
            )
            rows.append(
                (
                    f"  server CPU per single decision ({kind} client), microseconds",
                    f"{cpu_us:,.0f}",
                    f"<= {1e6 / TARGET_SINGLE_PER_S:,.0f}",
                    "yes" if cpu_us <= 1e6 / TARGET_SINGLE_PER_S else "NO",
                )
            )
            notes.append(
                f"{kind}: {load.done:,} responses in {load.seconds:.1f} s, "
                f"{load.wrong} wrong, {len(load.errors)} errors"
            )
            failed |= bool(load.wrong or load.errors)
            if load.errors:
                notes.append(f"  first error: {load.errors[0]}")
        batch = asyncio.run(
            run_batch(
                port,
                token,
                truth,
                args.batch,
                args.batch_calls,
                args.batch_concurrency,
                args.seconds,
                args.seed,
            )
        )
        per_s = batch.decisions / batch.seconds if batch.seconds else 0.0
        rows.append(
            (
                f"batch decisions/s ({args.batch:,} ids per call, "
                f"{args.batch_concurrency} in flight)",
                f"{per_s:,.0f}",
                f">= {TARGET_BATCH_PER_S:,}",
                "yes" if per_s >= TARGET_BATCH_PER_S else "NO",
            )
        )
        notes.append(
            f"batch: {batch.done} calls, {batch.decisions:,} decisions in {batch.seconds:.1f} s, "
            f"{batch.wrong} wrong, {len(batch.errors)} errors"
        )
        failed |= bool(batch.wrong or batch.errors)
        stop(proc)
        proc = None
        single, many = baseline(workdir, truth, 200_000, args.batch, args.seed)
        rows.append(
            ("baseline: raw SQL look-ups/s, one id each (SQLite file)", f"{single:,.0f}", "", "")
        )
        rows.append(("baseline: raw SQL look-ups/s, IN (500 ids) chunks", f"{many:,.0f}", "", ""))
    except StepFailed as exc:
        print(f"http_decisions: FAILED: {exc}", file=sys.stderr)
        failed = True
    finally:
        if proc is not None:
            stop(proc)
        if args.keep:
            notes.append(f"kept {workdir}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    show(rows, notes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
