"""Debian's Prometheus and Alertmanager, started on loopback for the demo and the
end-to-end tests, and stopped again."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_binaries() -> tuple[str, str] | None:
    """Both binaries, or None when either is not installed."""
    prometheus, alertmanager = shutil.which(PROMETHEUS), shutil.which(ALERTMANAGER)
    return (prometheus, alertmanager) if prometheus and alertmanager else None


@dataclass
class Process:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _wait_ready(proc: Process, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise RuntimeError(f"{proc.name} exited: {proc.log.read_text()[-2000:]}")
        try:
            if httpx.get(proc.url + "/-/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"{proc.name} was not ready in {within:.0f}s: {proc.log.read_text()[-2000:]}"
    )


@contextmanager
def _started(name: str, argv: list[str], url: str, workdir: Path) -> Iterator[Process]:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        # A fixed binary found on PATH and arguments built here: no shell, no outside input.
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)  # noqa: S603
    proc = Process(name, url, process, log)
    try:
        _wait_ready(proc, within=30)
        yield proc
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def alertmanager(binary: str, workdir: Path, config: str) -> Iterator[Process]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (workdir / "alertmanager.yml").write_text(config)
    (workdir / "am-data").mkdir(exist_ok=True)
    argv = [
        binary,
        f"--config.file={workdir / 'alertmanager.yml'}",
        f"--storage.path={workdir / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        f"--web.external-url={url}",
    ]
    with _started("alertmanager", argv, url, workdir) as process:
        yield process


@contextmanager
def prometheus(
    binary: str, workdir: Path, config: str, rules: str | None = None
) -> Iterator[Process]:
    """``config`` may say ``PROMETHEUS_PORT`` where Prometheus's own port goes."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if rules is not None:
        (workdir / "rules.yml").write_text(rules)
    (workdir / "prometheus.yml").write_text(config.replace("PROMETHEUS_PORT", str(port)))
    (workdir / "prom-data").mkdir(exist_ok=True)
    argv = [
        binary,
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'prom-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        # Resend firing alerts every second, so Alertmanager hears quickly in a demo.
        "--rules.alert.resend-delay=1s",
    ]
    with _started("prometheus", argv, url, workdir) as process:
        yield process
