"""The ``fireline`` commands for post-mortems, follow-ups and reports, run for real."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.settings import Settings
from tests.postmortem.script import T0, FrozenClock, scripted_incident
from tests.support import running_app

FIRELINE = Path(sys.executable).with_name("fireline")


def fireline(
    database_url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "FIRELINE_DATABASE_URL": database_url,
        "FIRELINE_DISPLAY_TIMEZONE": "Europe/Paris",
        "COLUMNS": "200",
        **(env or {}),
    }
    return subprocess.run(
        [str(FIRELINE), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
async def incident(make_settings: Callable[..., Settings], database_url: str) -> tuple[int, str]:
    clock = FrozenClock(T0)
    async with running_app(make_settings(display_timezone="Europe/Paris"), clock=clock) as (
        app,
        client,
    ):
        incident_id = await scripted_incident(app, client, clock)
        clock.at(60)
        draft = (await client.get(f"/api/incidents/{incident_id}/postmortem")).text
    return incident_id, draft


def test_postmortem_to_a_file_is_the_api_draft(
    incident: tuple[int, str], database_url: str, tmp_path: Path
) -> None:
    incident_id, draft = incident
    target = tmp_path / "pm.md"
    done = fireline(database_url, "postmortem", str(incident_id), "-o", str(target))
    assert done.returncode == 0, done.stderr
    written = target.read_text()
    # Same draft except for when it was written.
    assert written.splitlines()[3:] == draft.splitlines()[3:]
    assert "## Key times" in written
    assert "Europe/Paris" in written
    printed = fireline(database_url, "postmortem", str(incident_id))
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.splitlines()[3:] == draft.splitlines()[3:]


def test_postmortem_of_unknown_incident_fails(incident: tuple[int, str], database_url: str) -> None:
    done = fireline(database_url, "postmortem", "4242")
    assert done.returncode == 1
    assert "4242" in done.stderr


def test_followups_add_list_done(incident: tuple[int, str], database_url: str) -> None:
    incident_id, _ = incident
    added = fireline(
        database_url,
        "followups",
        "add",
        str(incident_id),
        "Alert on rollout failures",
        "--actor",
        "bob",
    )
    assert added.returncode == 0, added.stderr
    assert "follow-up #1" in added.stdout
    listed = fireline(database_url, "followups", "list")
    assert "Alert on rollout failures" in listed.stdout
    assert fireline(database_url, "followups", "done", "1").returncode == 0
    assert "Alert on rollout failures" not in fireline(database_url, "followups", "list").stdout
    assert (
        "Alert on rollout failures" in fireline(database_url, "followups", "list", "--all").stdout
    )
    shown = fireline(database_url, "incidents", "show", str(incident_id))
    assert "followup.done" in shown.stdout


def test_followups_with_a_due_date_and_a_link(incident: tuple[int, str], database_url: str) -> None:
    incident_id, _ = incident
    late = ("--due", "2020-01-01", "--link", "https://tracker.example/OPS-1")
    for text, extra in (("Rotate the logs", late), ("Grow the disk", ("--due", "30d"))):
        added = fireline(database_url, "followups", "add", str(incident_id), text, *extra)
        assert added.returncode == 0, added.stderr
    overdue = fireline(database_url, "followups", "list", "--overdue").stdout
    assert "Rotate the logs https://tracker.example/OPS-1" in overdue
    assert "open, overdue" in overdue
    assert "2020-01-01" in overdue
    assert "Grow the disk" not in overdue
    assert "Grow the disk" in fireline(database_url, "followups", "list").stdout
    bad = fireline(database_url, "followups", "add", str(incident_id), "x", "--due", "someday")
    assert bad.returncode == 1
    assert "neither a time" in bad.stderr


def test_report(incident: tuple[int, str], database_url: str, tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    for name, reviewed in [("checkout-crashloop", today - timedelta(days=120)), ("idle", None)]:
        line = f"last_reviewed: {reviewed.isoformat()}\n" if reviewed else ""
        (tmp_path / f"{name}.md").write_text(
            f"---\nid: {name}\ntitle: {name}\nmatch: {{alertname: {name}}}\n{line}---\n"
        )
    env = {"FIRELINE_RUNBOOK_DIRS": str(tmp_path)}
    done = fireline(database_url, "report", "--since", "2026-03-01", env=env)
    assert done.returncode == 0, done.stderr
    assert "Incidents opened from 2026-03-01 00:00:00 UTC to now: 1" in done.stdout
    assert (
        "Automation: 1 of 1 finished runs succeeded, success 100% (target 60%: met)" in done.stdout
    )
    assert (
        "Runbook checkout-crashloop: 1 runs, success 100% (target 85%: met), verified 100%, "
        in done.stdout
    )
    stale = f"; last reviewed {(today - timedelta(days=120)).isoformat()} (overdue)\n"
    assert stale in done.stdout
    assert "Runbook idle: no runs; never reviewed (overdue)" in done.stdout
    fresh = fireline(
        database_url,
        "report",
        "--since",
        "2026-03-01",
        env={**env, "FIRELINE_RUNBOOK_REVIEW_AGE": "200d"},
    )
    assert f"last reviewed {(today - timedelta(days=120)).isoformat()}\n" in fresh.stdout
    bad = fireline(database_url, "report", "--since", "yesterday")
    assert bad.returncode == 2
