"""End to end, as a new user sees it: ``fireline demo`` with the real Prometheus and
Alertmanager (required in CI), and its replay mode without them."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from bot.app.demo import monitoring
from bot.app.demo.run import Demo
from tests.automation.stack import binaries

FIRELINE = Path(sys.executable).with_name("fireline")

STORY = [
    "alert.fired",
    "incident.opened",
    "runbook.selected",
    "step.started",  # diagnose
    "step.succeeded",
    "step.started",  # heal
    "step.succeeded",
    "alert.resolved",
    "incident.resolved",
    "verification.passed",
    "run.finished",
]


def in_order(kinds: list[str], expected: list[str]) -> bool:
    position = 0
    for kind in kinds:
        if position < len(expected) and kind == expected[position]:
            position += 1
    return position == len(expected)


@pytest.mark.binaries
async def test_prometheus_and_alertmanager_drive_a_remediated_resolved_incident() -> None:
    binaries()  # fails in CI, skips elsewhere, when they are missing
    out = io.StringIO()
    demo = Demo(Console(file=out, width=200), timeout=90)
    result = await demo.run()
    shown = out.getvalue()
    assert result.resolved, shown
    assert result.verification == "passed", shown
    assert "Prometheus on http://127.0.0.1:" in shown
    kinds = [line.split()[1] for line in shown.splitlines() if line[:2].isdigit()]
    assert in_order(kinds, STORY), kinds
    assert kinds.count("alert.fired") == 1
    # Prometheus said the service was down, then up; the heal ran once.
    assert 'job="demo"} 0' in shown or 'up{job="demo"}: 1 series' in shown
    assert "healed 1 time(s)" in shown
    assert result.postmortem is not None
    assert "Step `heal` (http.request) succeeded and passed verification" in result.postmortem
    assert "Resolved with no human action" in result.postmortem


async def test_without_the_binaries_the_demo_replays_alertmanager() -> None:
    out = io.StringIO()
    result = await Demo(Console(file=out, width=200), use_binaries=False, timeout=60).run()
    shown = out.getvalue()
    assert result.resolved, shown
    assert result.verification == "passed", shown
    assert "replaying Alertmanager's webhooks" in shown
    kinds = [line.split()[1] for line in shown.splitlines() if line[:2].isdigit()]
    assert in_order(kinds, STORY), kinds


def test_the_demo_command_exits_zero_and_stops_what_it_started(tmp_path: Path) -> None:
    before = _children_named(("prometheus", "prometheus-alertmanager"))
    env = {**os.environ, "COLUMNS": "120"}
    args = [str(FIRELINE), "demo", "--timeout", "90"]
    if monitoring.find_binaries() is None:
        args.append("--replay")
    done = subprocess.run(
        args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=150, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "post-mortem draft" in done.stdout
    assert _children_named(("prometheus", "prometheus-alertmanager")) == before
    assert list(tmp_path.iterdir()) == []  # it wrote nothing where it was run


def _children_named(names: tuple[str, ...]) -> set[int]:
    """Ids of the running processes with these names."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm in names:
            found.add(int(entry.name))
    return found


pytestmark = pytest.mark.slow
