"""GET /api/reports/runbooks: the runbook library with promotion, problems, coverage of the
configured alert rules and effectiveness, through the real app."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.app.settings import Settings
from storage.db import Database
from tests.postmortem.script import FrozenClock
from tests.postmortem.test_reports import _event, _incident, _step, m
from tests.support import running_app

FIXTURES = Path(__file__).parents[1] / "runbooks" / "fixtures"
RULES = FIXTURES / "rules" / "rules.yml"


def library_dir(tmp_path: Path) -> Path:
    """The coverage fixtures, ``crash`` asking for auto mode, and one file that fails."""
    root = tmp_path / "runbooks"
    shutil.copytree(FIXTURES / "coverage", root)
    crash = root / "crash.md"
    crash.write_text(
        crash.read_text().replace(
            "title: Crash loops\n", "title: Crash loops\npolicy: {mode: auto}\n"
        )
    )
    (root / "broken.md").write_text("---\nid: broken\ntitle: Broken\nmatch: {}\n---\n# Broken\n")
    return root


def seed_runs(db: Database) -> None:
    with db.write() as s:
        a = _incident(
            s, severity="SEV1", service="shop", started=-2, opened=0, status="resolved", resolved=20
        )
        _event(s, a, 0, "incident.opened", "alertmanager")
        _event(s, a, 1, "runbook.selected", runbook_id="crash")
        _step(s, a, 3, "r1", "succeeded")
        b = _incident(
            s,
            severity="SEV2",
            service="shop",
            started=60,
            opened=60,
            status="resolved",
            resolved=90,
        )
        _event(s, b, 60, "incident.opened", "alertmanager")
        _step(s, b, 62, "r2", "failed", runbook_id="crash")


def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in rows}


async def test_library_report(
    make_settings: Callable[..., Settings], db: Database, tmp_path: Path
) -> None:
    seed_runs(db)
    settings = make_settings(runbook_dirs=[library_dir(tmp_path)], alert_rule_files=[RULES])
    async with running_app(settings) as (_app, client):
        before = await client.get("/api/reports/runbooks", params={"since": m(-60).isoformat()})
        promote = await client.post("/api/runbooks/crash/promote", json={"by": "alice"})
        after = await client.get("/api/reports/runbooks", params={"since": m(-60).isoformat()})
        later = await client.get("/api/reports/runbooks", params={"since": m(30).isoformat()})
    assert before.status_code == 200, before.text
    assert promote.status_code == 200, promote.text
    rows = by_id(before.json()["runbooks"])
    assert sorted(rows) == ["crash", "demo", "orphan", "team"]
    crash = rows["crash"]
    assert crash["match"] == ['alertname="KubePodCrashLooping"']
    assert (crash["mode"], crash["promoted"], crash["runs_as"]) == ("auto", False, "suggest")
    assert crash["runs_as_reason"] == "this runbook version is not promoted yet"
    assert crash["rules"] == ["KubePodCrashLooping", "PagedByName"]
    effect = crash["effectiveness"]
    assert (effect["runs"], effect["succeeded"], effect["success_rate"]) == (2, 1, 0.5)
    assert effect["time_to_mitigate"] == {"count": 1, "p50": 300.0, "p90": 300.0}
    assert rows["orphan"]["effectiveness"] is None
    assert rows["orphan"]["rules"] == []

    promoted = by_id(after.json()["runbooks"])["crash"]
    assert (promoted["promoted"], promoted["runs_as"]) == (True, "auto")
    assert by_id(later.json()["runbooks"])["crash"]["effectiveness"]["runs"] == 1

    report = before.json()
    assert [f["file"] for f in report["failures"]] == [str(tmp_path / "runbooks" / "broken.md")]
    assert report["failures"][0]["problems"]
    assert report["failures"][0]["keeping"] is None
    cover = report["coverage"]
    assert cover["configured"] is True
    assert cover["unused"] == ["orphan"]
    statuses = {r["alert"]: r["status"] for r in cover["rules"]}
    assert statuses["KubeHpaMaxedOut"] == "uncovered"
    assert statuses["TeamAlert"] == "conditional"
    assert cover["percent"] == round(100 * 3 / 6, 1)


async def test_without_rule_files_coverage_is_not_configured(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(runbook_dirs=[library_dir(tmp_path)])
    async with running_app(settings) as (_app, client):
        response = await client.get("/api/reports/runbooks")
        naive = await client.get("/api/reports/runbooks", params={"since": "2026-10-01T00:00:00"})
    assert response.status_code == 200, response.text
    assert response.json()["coverage"] == {
        "configured": False,
        "percent": None,
        "rules": [],
        "unused": [],
        "problems": [],
    }
    assert naive.status_code == 422


def reviewed_library(tmp_path: Path) -> Path:
    """The library of ``library_dir``: ``crash`` last reviewed long ago, ``demo`` lately."""
    root = library_dir(tmp_path)
    for name, reviewed in [("crash", "2026-05-01"), ("demo", "2026-09-20")]:
        path = root / f"{name}.md"
        path.write_text(
            path.read_text().replace("\n---\n", f"\nlast_reviewed: {reviewed}\n---\n", 1)
        )
    return root


async def test_library_report_holds_targets_and_reviews(
    make_settings: Callable[..., Settings], db: Database, tmp_path: Path
) -> None:
    seed_runs(db)
    settings = make_settings(runbook_dirs=[reviewed_library(tmp_path)])
    async with running_app(settings, clock=FrozenClock(m(120))) as (_app, client):
        response = await client.get("/api/reports/runbooks")
    assert response.status_code == 200, response.text
    report = response.json()
    rows = by_id(report["runbooks"])
    assert rows["crash"]["review"] == {
        "last_reviewed": "2026-05-01",
        "status": "overdue",
        "due": "2026-07-30",
        "age_days": 153,
        "overdue": True,
    }
    assert rows["demo"]["review"]["status"] == "current"
    assert rows["demo"]["review"]["overdue"] is False
    assert rows["orphan"]["review"]["status"] == "missing"
    assert rows["orphan"]["review"]["overdue"] is True
    effect = rows["crash"]["effectiveness"]
    assert (effect["success_rate"], effect["target"], effect["meets_target"]) == (0.5, 0.85, False)
    assert report["automation"] == {
        "runs": 2,
        "succeeded": 1,
        "success_rate": 0.5,
        "target": 0.6,
        "meets_target": False,
    }
    assert report["review_age_days"] == 90
