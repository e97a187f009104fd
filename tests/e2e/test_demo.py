"""End to end, as a new user sees it: ``fireline demo`` with the real Prometheus and
Alertmanager (required in CI), and its replay mode without them."""

from __future__ import annotations

import io
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from rich.markdown import Markdown

from bot.app.demo import monitoring
from bot.app.demo.run import Demo, draft_panel, without_commands
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
    # The draft it showed suggests no command that needs the database it deleted.
    assert result.postmortem is not None
    assert "fireline followups add" in result.postmortem
    assert "fireline followups add" not in shown
    assert "fireline demo --keep-serving" in shown
    assert "the console was at http://127.0.0.1:" in shown
    assert f"/incidents/{result.incident_id};" in shown
    narrow = Console(file=io.StringIO(), width=80)
    narrow.print(draft_panel(result.postmortem))
    assert "…" not in narrow.file.getvalue()  # type: ignore[attr-defined]


TABLE = """
| alert | step | outcome |
| --- | --- | --- |
| DemoServiceDownAndOutForTheCount | heal-the-demo-service-now | succeeded-and-verified-twice |
| DemoHighErrorRateOnEveryEndpoint | diagnose-prometheus-scrape | succeeded-and-verified-twice |
"""


def test_the_draft_folds_table_cells_at_80_columns_instead_of_cutting_them() -> None:
    cut = Console(file=io.StringIO(), width=80)
    cut.print(Markdown(TABLE))
    assert "…" in cut.file.getvalue()  # type: ignore[attr-defined]  # rich's default
    folded = Console(file=io.StringIO(), width=80)
    folded.print(draft_panel(TABLE))
    shown = folded.file.getvalue()  # type: ignore[attr-defined]
    assert "…" not in shown
    assert max(len(line) for line in shown.splitlines()) <= 80
    # Folded, not dropped: every letter of every cell is still there.
    assert Counter(c for c in shown if c.isalnum()) == Counter(
        c for c in TABLE + "post-mortem draft" if c.isalnum()
    )


def test_without_keep_serving_the_draft_points_at_keep_serving() -> None:
    draft = 'None yet: add them with `fireline followups add 3 "TEXT"`.'
    assert without_commands(draft) == (
        "None yet: add them with `fireline demo --keep-serving` and the command it prints."
    )


class Running:
    """``fireline demo`` as a subprocess, its output read line by line as it comes."""

    def __init__(self, args: list[str], tmp_path: Path) -> None:
        self.tmpdir = tmp_path / "tmp"
        self.tmpdir.mkdir()
        env = {**os.environ, "COLUMNS": "200", "TMPDIR": str(self.tmpdir)}
        self.process = subprocess.Popen(
            [str(FIRELINE), "demo", *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self.lines.put(line)

    def wait_for(self, text: str, within: float = 120) -> str:
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return line
        self.process.kill()
        self.process.wait(10)
        self.reader.join(10)
        raise AssertionError(f"no {text!r} in: {''.join(self.seen)[-3000:]}")

    def children(self) -> set[int]:
        return {pid for pid, parent in _parents().items() if parent == self.process.pid}

    def wait(self, within: float = 120) -> int:
        code = self.process.wait(within)
        self.reader.join(10)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.wait(60)


def _parents() -> dict[int, int]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_demo_command_exits_zero_and_stops_what_it_started(tmp_path: Path) -> None:
    """Its own Prometheus and Alertmanager, found as its children while the story runs,
    are gone when it exits (others' may come and go on a shared machine)."""
    binaries = monitoring.find_binaries() is not None
    demo = Running(["--timeout", "90"] if binaries else ["--replay", "--timeout", "90"], tmp_path)
    demo.wait_for("the demo service is broken")
    started = demo.children()
    if binaries:
        assert len(started) == 2, started
    demo.wait_for("post-mortem draft")
    assert demo.wait() == 0, "".join(demo.seen)[-3000:]
    assert not [pid for pid in started if _alive(pid)]
    assert list(demo.tmpdir.iterdir()) == []
    assert list(tmp_path.iterdir()) == [demo.tmpdir]  # it wrote nothing where it was run


def test_sigterm_in_the_middle_of_the_story_cleans_up_as_ctrl_c_does(tmp_path: Path) -> None:
    binaries = monitoring.find_binaries() is not None
    demo = Running(["--timeout", "90"] if binaries else ["--replay", "--timeout", "90"], tmp_path)
    demo.wait_for("the demo service is broken")
    started = demo.children()
    if binaries:
        assert len(started) == 2, started  # Prometheus and Alertmanager
    assert len(list(demo.tmpdir.iterdir())) == 1  # its working folder
    code = demo.terminate()
    assert code != 0  # the story did not finish
    assert list(demo.tmpdir.iterdir()) == []
    assert not [pid for pid in started if _alive(pid)]
    assert list(tmp_path.iterdir()) == [demo.tmpdir]


def test_keep_serving_says_where_its_database_is_and_sigterm_removes_it(tmp_path: Path) -> None:
    demo = Running(["--replay", "--keep-serving", "--timeout", "90"], tmp_path)
    console = demo.wait_for("open the console: ").split("open the console: ", 1)[1].strip()
    hint = demo.wait_for("try: FIRELINE_DATABASE_URL=")
    demo.wait_for("serving until Ctrl-C or SIGTERM")
    page = httpx.get(console, timeout=30)
    assert page.status_code == 200
    assert "<h1" in page.text
    assignment, *command = shlex.split(hint.split("try: ", 1)[1])
    name, url = assignment.split("=", 1)
    assert command[:3] == ["fireline", "followups", "add"]
    database = Path(url.removeprefix("sqlite:///"))
    assert database.is_file()
    assert database.is_relative_to(demo.tmpdir)
    added = subprocess.run(
        [str(FIRELINE), *command[1:]],
        env={**os.environ, name: url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    assert "added to incident" in added.stdout
    assert demo.terminate() == 0
    assert list(demo.tmpdir.iterdir()) == []


pytestmark = pytest.mark.slow
