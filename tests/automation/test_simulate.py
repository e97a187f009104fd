"""``fireline simulate``: what would happen, printed, with nothing touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app.settings import Settings
from tests.support import alert, payload

FIRELINE = Path(sys.executable).with_name("fireline")


def simulate(
    tmp_path: Path, body: Any, *args: str, db: str | None = None
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "payload.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "FIRELINE_DATABASE_URL": db or f"sqlite:///{tmp_path / 'absent.db'}",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [str(FIRELINE), "simulate", str(path), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


DEMO = payload(
    [
        alert(
            "DemoServiceDown",
            labels={"job": "demo", "severity": "critical"},
            starts_at=datetime.now(UTC),
            annotations={"summary": "demo down", "heal_url": "http://127.0.0.1:18081/heal"},
        )
    ]
)


def test_simulate_prints_the_plan_and_touches_nothing(tmp_path: Path) -> None:
    done = simulate(tmp_path, DEMO, "--json")
    assert done.returncode == 0, done.stderr
    [preview] = json.loads(done.stdout)["alerts"]
    assert preview["severity"] == "SEV1"
    assert preview["runbook"] == "demo-service"
    assert preview["params"] == {"heal_url": "http://127.0.0.1:18081/heal"}
    gates = {s["step_id"]: (s["gate"], s["mutating"]) for s in preview["steps"]}
    assert gates == {"scrape": ("run", False), "heal": ("skip", True), "healthy": ("run", False)}
    heal = next(s for s in preview["steps"] if s["step_id"] == "heal")
    assert "promotion not known" in heal["reason"]
    assert [r["after"] for r in preview["escalation"]] == ["0s", "5m", "15m", "30m"]
    assert preview["slack"][0].startswith("card: [SEV1] demo down")
    assert not (tmp_path / "absent.db").exists()


async def test_a_promoted_runbook_shows_its_remediation_running(
    tmp_path: Path, make_settings: Callable[..., Settings], database_url: str
) -> None:
    from tests.support import running_app

    async with running_app(make_settings()) as (_, client):
        response = await client.post("/api/runbooks/demo-service/promote", json={"by": "U1"})
        assert response.status_code == 200
    done = simulate(tmp_path, DEMO, "--json", db=database_url)
    [preview] = json.loads(done.stdout)["alerts"]
    heal = next(s for s in preview["steps"] if s["step_id"] == "heal")
    assert heal["gate"] == "run"
    assert "the guards" in heal["reason"]
    # The same alert an hour old is stale: never changed without a person.
    old = json.loads(json.dumps(DEMO))
    old["alerts"][0]["startsAt"] = "2026-01-01T00:00:00Z"
    [preview] = json.loads(simulate(tmp_path, old, "--json", db=database_url).stdout)["alerts"]
    heal = next(s for s in preview["steps"] if s["step_id"] == "heal")
    assert heal["gate"] == "approval"
    assert "stale_after" in heal["reason"]


def test_require_runbook_fails_for_an_alert_nothing_covers(tmp_path: Path) -> None:
    body = payload([alert("SomethingNobodyWroteARunbookFor")])
    done = simulate(tmp_path, body, "--require-runbook")
    assert done.returncode == 1
    assert "no runbook for: SomethingNobodyWroteARunbookFor" in done.stderr
    assert "runbook: none" in done.stdout
    assert simulate(tmp_path, body).returncode == 0


def test_a_bad_payload_names_the_field(tmp_path: Path) -> None:
    body = dict(DEMO, alerts="many")  # any version is accepted; alerts must be a list
    done = simulate(tmp_path, body)
    assert done.returncode == 2
    assert "alerts" in done.stderr
    assert simulate(tmp_path, "{not json").returncode == 2
