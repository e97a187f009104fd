"""Durable webhook ingest against a bare endpoint that only parses the same payload.

Starts the real app (``fireline serve`` on a fresh SQLite file, receipts committed before
each 200) and, in the same run, a FastAPI endpoint that only parses; loads both from this
process with identical 5-alert payloads in alternating rounds (so that a noisy machine
touches both alike), and prints alerts/s, p50/p99 and the median ratio.
Target: durable ingest at least 0.8 of the bare endpoint.

    .venv/bin/python -m bench.ingest [--seconds 4] [--rounds 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.loadgen import LoadResult, run_load
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    payloads = bodies()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIRELINE_")}
    with tempfile.TemporaryDirectory() as tmp:
        bare_port, real_port = free_port(), free_port()
        bare = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare_app:app",
                "--port",
                str(bare_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env,
            bare_port,
        )
        real_env = {
            **env,
            "FIRELINE_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "FIRELINE_WEBHOOK_TOKEN": TOKEN,
            "FIRELINE_LOG_LEVEL": "WARNING",
            **{k: v for k, v in os.environ.items() if k.startswith("FIRELINE_")},
        }
        real = start(
            [sys.executable, "-m", "bot", "serve", "--port", str(real_port)], real_env, real_port
        )
        try:
            asyncio.run(run_load(bare_port, payloads, seconds=1, connections=8))  # warm up
            asyncio.run(run_load(real_port, payloads, seconds=1, connections=8, token=TOKEN))
            print(
                f"{len(payloads)} distinct 5-alert payloads, {args.connections} connections, "
                f"{args.rounds} alternating rounds of {args.seconds:.0f} s each"
            )
            ratios = []
            for round_ in range(1, args.rounds + 1):
                bare_result = asyncio.run(
                    run_load(
                        bare_port, payloads, seconds=args.seconds, connections=args.connections
                    )
                )
                real_result = asyncio.run(
                    run_load(
                        real_port,
                        payloads,
                        seconds=args.seconds,
                        connections=args.connections,
                        token=TOKEN,
                    )
                )
                print(f"round {round_}")
                base = report("  bare parse-only endpoint", bare_result)
                durable = report("  fireline durable ingest", real_result)
                ratios.append(durable / base)
                print(f"  ratio durable/bare: {ratios[-1]:.2f}")
            print(
                f"ratio durable/bare, median of {len(ratios)} rounds: "
                f"{statistics.median(ratios):.2f} (target >= 0.80)"
            )
        finally:
            for process in (bare, real):
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
