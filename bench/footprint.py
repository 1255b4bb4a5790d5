"""Footprint of the default install: size, package count, time to healthy, memory.

Measures what a user gets from a plain ``pip install charter`` (no extras):

1. A fresh virtualenv in a temporary folder and ``pip install <repo>`` (not editable): the size
   of the venv's site-packages (all of it, and without pip, setuptools and wheel, the venv's own
   tools), the number of installed distributions (the venv's own tools not counted, charter
   itself counted), and the time ``pip install`` took (with pip's cache as it is).
2. In a temporary working folder, ``charter init``, then ``charter serve --host 127.0.0.1
   --port <free port>``: the time from process start to the first 200 from ``GET /healthz``
   (polled every 20 ms, at most 30 s; median of ``--runs`` starts), and the server's resident
   memory (VmRSS of the process and all its children) once healthy and after 200 more requests.

Usage: python bench/footprint.py [--repo PATH] [--runs N]
Needs the package registry (pip fetches the dependencies). Exits 1 if a step fails.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ("pip", "setuptools", "wheel")
MIB = 1024 * 1024
POLL_S = 0.02
HEALTHY_TIMEOUT_S = 30.0
REQUESTS = 200

TARGET_INSTALL_MIB = 150.0
TARGET_PACKAGES = 60
TARGET_HEALTHY_S = 2.0
TARGET_RSS_MIB = 150.0

# Run with the venv's interpreter: every installed distribution with its size on disk.
DIST_PROBE = """
import importlib.metadata as md, json, os
out = []
for d in md.distributions():
    size = 0
    for f in d.files or ():
        try:
            size += os.lstat(d.locate_file(f)).st_size
        except OSError:
            pass
    out.append({"name": d.metadata["Name"], "version": d.version, "bytes": size})
print(json.dumps(out))
"""


class StepFailed(Exception):
    """A step of the benchmark failed; the message names the step and shows its output."""


@dataclass
class Results:
    site_bytes: float | None = None
    tools_bytes: float | None = None
    deps_bytes: float | None = None
    tools: str = ""
    packages: float | None = None
    largest: list[tuple[str, int]] = field(default_factory=list)
    install_s: float | None = None
    healthy_s: float | None = None
    healthy_min: float | None = None
    healthy_max: float | None = None
    rss_healthy: float | None = None
    rss_after: float | None = None


def clean_env() -> dict[str, str]:
    """This environment without CHARTER_* settings or anything pointing at another Python."""
    drop = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}
    return {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_") and k not in drop}


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_step(name: str, cmd: list[str], *, cwd: Path | None = None, timeout: float = 900) -> str:
    try:
        done = subprocess.run(
            cmd,
            cwd=cwd,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError as exc:
        raise StepFailed(f"{name}: cannot run {cmd[0]}: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise StepFailed(f"{name}: no result after {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise StepFailed(
            f"{name} failed (exit {done.returncode}): {' '.join(cmd)}\n"
            + tail(done.stdout + done.stderr)
        )
    return done.stdout


def tree_size(root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def measure_install(repo: Path, venv: Path, results: Results) -> Path:
    run_step("python -m venv", [sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    start = time.perf_counter()
    run_step("pip install (default, no extras)", [*pip, "install", "-q", str(repo)])
    results.install_s = time.perf_counter() - start

    site = next((venv / "lib").glob("python*/site-packages"), None)
    if site is None:
        raise StepFailed(f"no site-packages under {venv / 'lib'}")
    results.site_bytes = tree_size(site)
    dists = json.loads(
        run_step("list distributions", [str(venv / "bin" / "python"), "-c", DIST_PROBE])
    )
    tools = [d for d in dists if normalise(d["name"]) in BOOTSTRAP]
    deps = [d for d in dists if normalise(d["name"]) not in BOOTSTRAP]
    results.tools = ", ".join(f"{d['name']} {d['version']}" for d in tools) or "none"
    results.tools_bytes = sum(d["bytes"] for d in tools)
    results.deps_bytes = results.site_bytes - results.tools_bytes
    results.packages = len({normalise(d["name"]) for d in deps})
    by_size = sorted(deps, key=lambda d: -int(d["bytes"]))[:8]
    results.largest = [(str(d["name"]), int(d["bytes"])) for d in by_size]

    charter = venv / "bin" / "charter"
    if not charter.exists():
        raise StepFailed(f"the install has no {charter} (project.scripts)")
    return charter


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_status(conn: http.client.HTTPConnection) -> int | None:
    try:
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (OSError, http.client.HTTPException):
        conn.close()  # the next request reconnects
        return None


def children_of() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree_rss_bytes(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants."""
    kids, todo, total = children_of(), [pid], 0
    while todo:
        p = todo.pop()
        todo.extend(kids.get(p, []))
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if match:
            total += int(match.group(1)) * 1024
    return total


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)  # the server and any workers it started
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def one_start(charter: Path, workdir: Path, log: Path) -> tuple[float, int, int]:
    """Start the server once: seconds to healthy, RSS when healthy, RSS after REQUESTS requests."""
    port = free_port()
    cmd = [str(charter), "serve", "--host", "127.0.0.1", "--port", str(port)]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while True:
                if get_status(conn) == 200:
                    healthy = time.perf_counter() - start
                    break
                if proc.poll() is not None:
                    raise StepFailed(
                        f"charter serve exited ({proc.returncode}) before /healthz answered 200\n"
                        + tail(log.read_text(errors="replace"))
                    )
                if time.perf_counter() - start > HEALTHY_TIMEOUT_S:
                    raise StepFailed(
                        f"charter serve: no 200 from /healthz within {HEALTHY_TIMEOUT_S:.0f} s\n"
                        + tail(log.read_text(errors="replace"))
                    )
                time.sleep(POLL_S)
            rss_healthy = tree_rss_bytes(proc.pid)
            for i in range(REQUESTS):
                status = get_status(conn)
                if status != 200:
                    raise StepFailed(f"GET /healthz number {i + 1} of {REQUESTS} gave {status}")
            rss_after = tree_rss_bytes(proc.pid)
        finally:
            conn.close()
            stop(proc)
    return healthy, rss_healthy, rss_after


def measure_serve(charter: Path, workdir: Path, runs: int, results: Results) -> None:
    run_step("charter init", [str(charter), "init"], cwd=workdir, timeout=120)
    times, healthy_rss, after_rss = [], [], []
    for n in range(runs):
        t, r1, r2 = one_start(charter, workdir, workdir / f"serve-{n + 1}.log")
        times.append(t)
        healthy_rss.append(r1)
        after_rss.append(r2)
    results.healthy_s = statistics.median(times)
    results.healthy_min, results.healthy_max = min(times), max(times)
    results.rss_healthy = statistics.median(healthy_rss)
    results.rss_after = statistics.median(after_rss)


def rows(results: Results, runs: int) -> list[tuple[str, str, str, str]]:
    def row(
        label: str,
        key: str,
        fmt: Callable[[float], str],
        target: float | None,
        target_text: str = "",
    ) -> tuple[str, str, str, str]:
        value = getattr(results, key)
        if value is None:
            return (label, "not measured", target_text, "")
        number = float(value)
        meets = "" if target is None else ("yes" if number <= target else "NO")
        return (label, fmt(number), target_text, meets)

    def mib(b: float) -> str:
        return f"{b / MIB:.1f} MiB"

    def sec(s: float) -> str:
        return f"{s:.2f} s"

    out = [
        row(
            "install size (site-packages)",
            "site_bytes",
            mib,
            TARGET_INSTALL_MIB * MIB,
            f"<= {TARGET_INSTALL_MIB:.0f} MiB",
        ),
        row(f"  of which {'/'.join(BOOTSTRAP)}", "tools_bytes", mib, None),
        row(
            f"install size without {'/'.join(BOOTSTRAP)}",
            "deps_bytes",
            mib,
            TARGET_INSTALL_MIB * MIB,
            f"<= {TARGET_INSTALL_MIB:.0f} MiB",
        ),
        row(
            f"distributions without {'/'.join(BOOTSTRAP)}",
            "packages",
            lambda n: f"{n:.0f}",
            TARGET_PACKAGES,
            f"<= {TARGET_PACKAGES}",
        ),
        row("pip install time", "install_s", sec, None),
        row(
            f"start to first 200 /healthz, median of {runs}",
            "healthy_s",
            sec,
            TARGET_HEALTHY_S,
            f"<= {TARGET_HEALTHY_S:.0f} s",
        ),
        row(
            "server RSS when healthy, median",
            "rss_healthy",
            mib,
            TARGET_RSS_MIB * MIB,
            f"<= {TARGET_RSS_MIB:.0f} MiB",
        ),
        row(
            f"server RSS after {REQUESTS} requests, median",
            "rss_after",
            mib,
            TARGET_RSS_MIB * MIB,
            f"<= {TARGET_RSS_MIB:.0f} MiB",
        ),
    ]
    if results.healthy_min is not None and results.healthy_max is not None:
        span = f"{results.healthy_min:.2f} - {results.healthy_max:.2f} s"
        at = next(i for i, r in enumerate(out) if r[0].startswith("start to first"))
        out.insert(at + 1, ("  min - max", span, "", ""))
    return out


def show(results: Results, runs: int) -> None:
    header = ("measure", "value", "target", "meets")
    table_rows = rows(results, runs)
    notes = [f"not counted: {results.tools}"] if results.tools else []
    if results.largest:
        sizes = (f"{name} {size / MIB:.1f}" for name, size in results.largest)
        notes.append("largest: " + ", ".join(sizes) + " (MiB)")
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in [header, *table_rows]) for i in range(4)]
        for r in [header, *table_rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
        for note in notes:
            print(note)
        return
    table = Table(title="Charter footprint (default install)")
    for name in header:
        table.add_column(name, justify="left" if name == "measure" else "right")
    for r in table_rows:
        table.add_row(*r)
    console = Console()
    if console.width < 100:
        console = Console(width=100)
    console.print(table)
    for note in notes:
        console.print(note, highlight=False)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help="project to install")
    parser.add_argument("--runs", type=positive, default=5, help="server starts to time (median)")
    args = parser.parse_args()
    repo = args.repo.resolve()
    if not (repo / "pyproject.toml").is_file():
        print(f"footprint: {repo} has no pyproject.toml", file=sys.stderr)
        return 1

    results = Results()
    error = None
    with tempfile.TemporaryDirectory(prefix="charter-footprint-") as tmp:
        try:
            charter = measure_install(repo, Path(tmp) / "venv", results)
            workdir = Path(tmp) / "work"
            workdir.mkdir()
            measure_serve(charter, workdir, args.runs, results)
        except StepFailed as exc:
            error = str(exc)
    show(results, args.runs)
    if error:
        print(f"\nfootprint: FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
