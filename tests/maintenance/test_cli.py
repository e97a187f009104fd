"""``fireline maintenance start|list|end`` against a migrated database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.app.cli import app

CONFIG = """\
maintenance:
  - name: freeze
    service: payments
    ends_at: 2099-01-01T00:00:00Z
    reason: year-end freeze
"""


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> CliRun:
    config = tmp_path / "fireline.yml"
    config.write_text(CONFIG)
    monkeypatch.setenv("FIRELINE_CONFIG", str(config))
    monkeypatch.setenv("FIRELINE_DATABASE_URL", database_url)
    return CliRun()


class CliRun:
    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(app, ["maintenance", *args])


def test_start_list_and_end(run: CliRun) -> None:
    started = run(
        "start", "--match", 'team="db"', "--for", "2h", "--reason", "upgrade", "--by", "ann"
    )
    assert started.exit_code == 0, started.output
    assert "maintenance window 1 until" in started.stdout
    assert 'team="db"' in started.stdout

    listed = run("list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert set(rows) == {"1", "config:freeze"}
    assert (rows["1"]["created_by"], rows["1"]["reason"], rows["1"]["active"]) == (
        "ann",
        "upgrade",
        True,
    )
    assert rows["config:freeze"]["covers"] == "service payments"

    ended = run("end", "1", "--by", "ann")
    assert ended.exit_code == 0, ended.output
    assert [r["id"] for r in json.loads(run("list", "--json").stdout)] == ["config:freeze"]
    again = run("end", "1")
    assert again.exit_code == 1
    assert "already over" in again.output


def test_bad_windows_are_refused(run: CliRun) -> None:
    backwards = run(
        "start",
        "--match",
        "team=db",
        "--from",
        "2099-01-02T00:00:00+00:00",
        "--until",
        "2099-01-01T00:00:00+00:00",
        "--reason",
        "r",
    )
    assert backwards.exit_code == 2
    assert "before it starts" in backwards.output
    bad = run("start", "--match", "team~db", "--for", "1h", "--reason", "r")
    assert bad.exit_code == 2
    assert "is not a matcher" in bad.output
