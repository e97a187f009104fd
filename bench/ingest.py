"""Durable webhook ingest against Fireline's own endpoint with nothing stored.

Starts the real app (``fireline serve`` on a fresh SQLite file, or ``--postgres URL``;
receipts committed before each 200) and, in the same run, ``bench.bare_app``: the same
route, middleware, token check and parsing with no storage. Loads both from this process
with identical 5-alert payloads in alternating rounds, each measured with the other
process stopped (SIGSTOP), so that neither's background work (Fireline's triage catching
up) takes the CPU from the other. Prints alerts/s, p50/p99 and the median ratio, and how
far triage fell behind: receipts waiting and the oldest wait after each round, and how
long triage took to drain once the load stopped. Ingest that triage cannot follow is not
throughput, so the triaged rate is printed beside it.
Target: durable ingest at least 0.8 of the bare endpoint.

    .venv/bin/python -m bench.ingest [--seconds 4] [--rounds 5] [--connections 32]
                                     [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.loadgen import LoadResult, run_load
from bench.schema import own_schema
from tests.support import alert, payload

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"  # noqa: S105  (a throwaway token for a local run)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bodies(count: int = 2000) -> list[bytes]:
    out = []
    for n in range(count):
        alerts = [
            alert(
                "BenchAlert",
                fingerprint=f"{n:012x}{i:04x}",
                labels={"service": f"svc-{n % 50}", "instance": f"host-{i}", "severity": "warning"},
                annotations={"summary": f"bench alert {n}/{i}"},
            )
            for i in range(5)
        ]
        out.append(json.dumps(payload(alerts, group_labels={"service": f"svc-{n % 50}"})).encode())
    return out


def start(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in (200, 404):
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{cmd} did not start")


def report(name: str, result: LoadResult) -> float:
    alerts_per_s = result.requests * 5 / result.elapsed
    print(
        f"{name:<28} {result.requests / result.elapsed:8.0f} req/s {alerts_per_s:9.0f} alerts/s"
        f"   p50 {result.percentile(50) * 1000:6.1f} ms"
        f"   p99 {result.percentile(99) * 1000:6.1f} ms"
        f"   errors {result.errors}"
    )
    return alerts_per_s


@dataclass(frozen=True)
class TriageLag:
    waiting: int  # receipts stored and not yet triaged
    oldest: float  # seconds the oldest of them has waited


def triage_lag(port: int) -> TriageLag:
    """Read from the server's own /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    found: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("fireline_triage_backlog", "fireline_triage_oldest_age_seconds"):
            found[name] = float(value)
    return TriageLag(
        int(found.get("fireline_triage_backlog", 0)),
        found.get("fireline_triage_oldest_age_seconds", 0.0),
    )


@contextmanager
def paused(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """Stop ``process`` (one this bench started) while the other side is measured."""
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def drain_time(port: int, within: float = 600.0) -> float:
    """Seconds until no receipt waits for triage, polled every 0.2 s."""
    began = time.monotonic()
    while triage_lag(port).waiting and time.monotonic() - began < within:
        time.sleep(0.2)
    return time.monotonic() - began


def rounds(
    args: argparse.Namespace,
    payloads: list[bytes],
    bare: subprocess.Popen[bytes],
    bare_port: int,
    real: subprocess.Popen[bytes],
    real_port: int,
) -> tuple[list[float], list[float]]:
    """Alternating rounds; returns each round's durable/bare and triaged/bare ratios."""

    def load(port: int) -> LoadResult:
        return asyncio.run(
            run_load(
                port, payloads, seconds=args.seconds, connections=args.connections, token=TOKEN
            )
        )

    ratios, triaged_ratios = [], []
    for round_ in range(1, args.rounds + 1):
        with paused(real):
            bare_result = load(bare_port)
        before = triage_lag(real_port)
        with paused(bare):
            real_result = load(real_port)
            after = triage_lag(real_port)
        print(f"round {round_}")
        base = report("  bare parse-only endpoint", bare_result)
        durable = report("  fireline durable ingest", real_result)
        triaged = real_result.requests - (after.waiting - before.waiting)
        triaged_rate = triaged * 5 / real_result.elapsed
        print(
            f"  triage: {triaged_rate:.0f} alerts/s triaged in the round; "
            f"{after.waiting} receipts waiting at its end, the oldest for {after.oldest:.1f} s"
        )
        ratios.append(durable / base)
        triaged_ratios.append(triaged_rate / base)
        print(f"  ratio durable/bare: {ratios[-1]:.2f}, triaged/bare: {triaged_ratios[-1]:.2f}")
    return ratios, triaged_ratios


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", metavar="URL", help="store in this PostgreSQL database")
    args = parser.parse_args()
    payloads = bodies()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIRELINE_")}
    env["FIRELINE_WEBHOOK_TOKEN"] = TOKEN
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        url = f"sqlite:///{tmp}/bench.db"
        if args.postgres:
            url = stack.enter_context(own_schema(args.postgres, prefix="bench_ingest")) or url
        bare_port, real_port = free_port(), free_port()
        uvicorn = [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port"]
        quiet = ["--log-level", "warning", "--no-access-log"]
        bare = start([*uvicorn, str(bare_port), *quiet], env, bare_port)
        real_env = {**env, "FIRELINE_DATABASE_URL": url, "FIRELINE_LOG_LEVEL": "WARNING"}
        real = start(
            [sys.executable, "-m", "bot", "serve", "--port", str(real_port)], real_env, real_port
        )
        try:
            asyncio.run(run_load(bare_port, payloads, seconds=1, connections=8, token=TOKEN))
            asyncio.run(run_load(real_port, payloads, seconds=1, connections=8, token=TOKEN))
            drain_time(real_port)
            store = "PostgreSQL" if args.postgres else "SQLite"
            print(
                f"{len(payloads)} distinct 5-alert payloads, {args.connections} connections, "
                f"{args.rounds} alternating rounds of {args.seconds:.0f} s each, on {store}"
            )
            ratios, triaged = rounds(args, payloads, bare, bare_port, real, real_port)
            with paused(bare):
                waited = triage_lag(real_port)
                took = drain_time(real_port)
            print(
                f"after the last round {waited.waiting} receipts waited for triage "
                f"(the oldest {waited.oldest:.1f} s); drained in {took:.1f} s"
            )
            print(
                f"ratio durable/bare, median of {len(ratios)} rounds: "
                f"{statistics.median(ratios):.2f} (target >= 0.80); "
                f"triaged/bare {statistics.median(triaged):.2f}"
            )
        finally:
            for process in (bare, real):
                os.kill(process.pid, signal.SIGCONT)
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
