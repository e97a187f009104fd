"""The real Prometheus and Alertmanager from Debian's packages, for tests: required in CI,
skipped with a reason elsewhere when they are not installed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.app.demo import monitoring
from bot.app.demo.monitoring import Process, free_port

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

__all__ = ["Process", "alertmanager", "free_port", "prometheus"]


def binaries() -> tuple[str, str]:
    found = monitoring.find_binaries()
    if found is None:
        message = "prometheus and prometheus-alertmanager are not installed (Debian packages)"
        if IN_CI:
            pytest.fail(message + "; the end-to-end tests must run in CI")
        pytest.skip(message)
    return found


@contextmanager
def alertmanager(workdir: Path, config: str) -> Iterator[Process]:
    with monitoring.alertmanager(binaries()[1], workdir, config) as process:
        yield process


@contextmanager
def prometheus(workdir: Path, config: str, rules: str | None = None) -> Iterator[Process]:
    with monitoring.prometheus(binaries()[0], workdir, config, rules) as process:
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
