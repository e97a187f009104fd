"""The real Prometheus and Alertmanager from Debian's packages, started on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        message = f"{binary} is not installed (apt-get install prometheus prometheus-alertmanager)"
        if IN_CI:
            pytest.fail(message + "; the end-to-end tests must run in CI")
        pytest.skip(message)
    return path


@dataclass
class Process:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready: {log.read_text()[-2000:]}")


@contextmanager
def _run(argv: list[str], url: str, workdir: Path, name: str) -> Iterator[Process]:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        _wait_ready(url, process, log)
        yield Process(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def alertmanager(workdir: Path, config: str) -> Iterator[Process]:
    binary = require(ALERTMANAGER)
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
    with _run(argv, url, workdir, "alertmanager") as process:
        yield process


@contextmanager
def prometheus(workdir: Path, config: str, rules: str | None = None) -> Iterator[Process]:
    binary = require(PROMETHEUS)
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
        "--web.enable-lifecycle",
    ]
    with _run(argv, url, workdir, "prometheus") as process:
        yield process


SELF_SCRAPE = """
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:PROMETHEUS_PORT"]
"""

SILENT_ALERTMANAGER = """
route:
  receiver: nobody
receivers:
  - name: nobody
"""
