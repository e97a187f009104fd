"""``fireline simulate`` and the runner gate every step alike.

One corpus of runbooks, one alert each, goes through ``simulate`` and through the running
app with the same runbook directory and database; every step's gate is compared one by
one. The only difference allowed is the one the preview declares: it has no history, so
a guard (here a pause) that holds a step back is checked only when the step runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import select

from bot.app.demo.run import demo_service
from bot.app.settings import Settings
from bot.automation.cli import promotion_lookup
from bot.ingest.model import WebhookPayload
from bot.simulate.service import AlertPreview, simulate
from storage.tables import Incident
from tests.automation.support import post_alert, wait_for
from tests.support import alert, payload, running_app, settle

RUNBOOK = """---
id: "{id}"
title: Corpus runbook {id}
owners: ["@web"]
match:
  alertname: {alertname}
params:
  heal_url: {{from: annotations.heal_url, pattern: "http://127\\\\.0\\\\.0\\\\.1:[0-9]{{1,5}}/heal"}}
policy:
  mode: "{mode}"
  limits: {{cooldown: 0s, max_runs: 10 per 1h, stale_after: 1h}}
approvers: ["U-LEAD"]
---
# {id}

## Steps
{steps}
"""

STEP = """
{description}

```action {{"id": "{id}", "kind": "{kind}"{extra}}}
uses: http.request
with:
  method: {method}
  url: {url}
```
"""


def step(description: str, **fields: str) -> str:
    return STEP.format(description=description, **fields)


def look(step_id: str = "look") -> str:
    return step(
        "Read the service's metrics.",
        id=step_id,
        kind="diagnose",
        extra="",
        method="GET",
        url="{base}/metrics",
    )


def heal(step_id: str = "heal", *, kind: str = "remediate", safe: bool = True) -> str:
    return step(
        "Ask the service to heal itself.",
        id=step_id,
        kind=kind,
        extra=', "safe": true' if safe else "",
        method="POST",
        url="params.heal_url",
    )


def check(step_id: str = "check") -> str:
    return step(
        "The service answers ready again.",
        id=step_id,
        kind="verify",
        extra="",
        method="GET",
        url="{base}/ready",
    )


# runbook id -> (mode, promoted, steps, heal_url), and the gates both sides must give.
CORPUS: dict[str, tuple[str, bool, list[str], str]] = {
    "auto": ("auto", True, [look(), heal(), check()], "good"),
    "approve": ("approve", True, [look(), heal()], "good"),
    "dry-run": ("dry-run", True, [look(), heal()], "good"),
    "off": ("off", True, [look(), heal()], "good"),
    "suggest": ("auto", False, [look(), heal()], "good"),
    "paused": ("auto", True, [look(), heal()], "good"),
    # An auto runbook may not hold an unsafe remediate step; a diagnose step that
    # changes something and is not marked safe is the way one reaches the runner.
    "unsafe": ("auto", True, [look(), heal(kind="diagnose", safe=False)], "good"),
    "bad-params": ("auto", True, [look(), heal()], "http://192.0.2.1/heal"),
}
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "auto": [("look", "run"), ("heal", "run"), ("check", "run")],
    "approve": [("look", "run"), ("heal", "approval")],
    "dry-run": [("look", "run"), ("heal", "dry_run")],
    "off": [("look", "skip"), ("heal", "skip")],
    "suggest": [("look", "run"), ("heal", "skip")],
    "paused": [("look", "run"), ("heal", "skip")],
    "unsafe": [("look", "run"), ("heal", "approval")],
    "bad-params": [("refused", "refused")],
}
PAUSE_REASON = "corpus maintenance window"
GUARDS_LATER = "the guards (pauses, breaker, cooldown, rate, budget) are checked then"


def alertname(runbook_id: str) -> str:
    return "Corpus" + "".join(part.title() for part in runbook_id.split("-"))


def write_corpus(directory: Path, base: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for runbook_id, (mode, _, steps, _) in CORPUS.items():
        body = RUNBOOK.format(
            id=runbook_id,
            alertname=alertname(runbook_id),
            mode=mode,
            steps="".join(steps).replace("{base}", base),
        )
        (directory / f"{runbook_id}.md").write_text(body)


def corpus_alert(runbook_id: str, base: str, index: int, starts_at: datetime) -> dict[str, Any]:
    heal_url = CORPUS[runbook_id][3]
    fingerprint = f"c0{index:014d}"
    return payload(
        [
            alert(
                alertname(runbook_id),
                fingerprint=fingerprint,
                starts_at=starts_at,
                labels={"severity": "warning"},
                annotations={
                    "summary": f"corpus {runbook_id}",
                    "heal_url": f"{base}/heal" if heal_url == "good" else heal_url,
                },
            )
        ],
        group_labels={"alertname": alertname(runbook_id), "fp": fingerprint},
    )


def simulated_gates(preview: AlertPreview) -> list[tuple[str, str, str]]:
    if preview.param_errors:
        return [("refused", "refused", "; ".join(preview.param_errors))]
    return [(s.step_id, s.gate, s.reason) for s in preview.steps]


SERVICE_GATE = {
    "succeeded": "run",
    "failed": "run",
    "timed_out": "run",
    "awaiting_approval": "approval",
    "dry_run": "dry_run",
    "skipped": "skip",
}


def service_gates(run: dict[str, Any]) -> list[tuple[str, str, str]]:
    if run["status"] == "refused":
        return [("refused", "refused", "; ".join(run["param_errors"]))]
    return [(s["step_id"], SERVICE_GATE[s["state"]], s["reason"] or "") for s in run["steps"]]


def disagreements(
    simulated: list[tuple[str, str, str]], served: list[tuple[str, str, str]]
) -> list[str]:
    """Every step the two sides gate differently, bar a guard the preview defers to."""
    out = []
    if [s[0] for s in simulated] != [s[0] for s in served]:
        return [f"steps differ: {[s[0] for s in simulated]} vs {[s[0] for s in served]}"]
    for (step_id, preview_gate, preview_reason), (_, gate, reason) in zip(
        simulated, served, strict=True
    ):
        deferred_guard = (
            preview_gate == "run" and GUARDS_LATER in preview_reason and PAUSE_REASON in reason
        )
        if preview_gate != gate and not (gate == "skip" and deferred_guard):
            out.append(
                f"{step_id}: simulate {preview_gate} ({preview_reason}), ran {gate} ({reason})"
            )
    return out


def settled(run: dict[str, Any], runbook_id: str) -> bool:
    if run["status"] == "refused":
        return True
    wanted = len(EXPECTED[runbook_id])
    steps = run["steps"]
    return len(steps) == wanted and all(s["state"] in SERVICE_GATE for s in steps)


def incident_of(app: FastAPI, runbook_id: str) -> int | None:
    with app.state.runtime.db.session() as session:
        row = session.exec(select(Incident).where(Incident.runbook_id == runbook_id)).first()
        return row.id if row is not None else None


async def run_of(client: httpx.AsyncClient, incident_id: int) -> dict[str, Any] | None:
    response = await client.get(f"/api/incidents/{incident_id}/runs")
    assert response.status_code == 200, response.text
    runs: list[dict[str, Any]] = response.json()
    return runs[0] if runs else None


async def wait_async(check: Callable[[], Any], *, what: str, within: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_simulate_and_the_runner_gate_the_corpus_alike(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with demo_service() as (base, _):
        write_corpus(tmp_path / "runbooks", base)
        settings = make_settings(
            runbook_dirs=[tmp_path / "runbooks"],
            http_allow=["127.0.0.0/8"],
            automation_tick="100ms",
        )
        async with running_app(settings) as (app, client):
            runtime = app.state.runtime
            assert {r.id for r in runtime.runbooks.snapshot.runbooks} >= set(CORPUS)
            for runbook_id, (_, promoted, _, _) in CORPUS.items():
                if promoted:
                    response = await client.post(
                        f"/api/runbooks/{runbook_id}/promote", json={"by": "U-LEAD"}
                    )
                    assert response.status_code == 200, response.text
            paused = await client.post(
                "/api/automation/pause",
                json={"scope": "runbook", "target": "paused", "by": "U-IC", "reason": PAUSE_REASON},
            )
            assert paused.status_code == 201, paused.text

            starts_at = datetime.now(UTC).replace(microsecond=0)
            bodies = {
                runbook_id: corpus_alert(runbook_id, base, index, starts_at)
                for index, runbook_id in enumerate(CORPUS)
            }
            previews = {}
            for runbook_id, body in bodies.items():
                simulation = simulate(
                    WebhookPayload.model_validate(body),
                    rules=settings.triage.compiled(),
                    index=runtime.runbooks.index,
                    registry=runtime.runbooks.registry,
                    escalation=None,
                    global_mode=settings.automation_mode,
                    promoted=promotion_lookup(settings.database_url),
                    now=runtime.clock(),
                )
                [preview] = simulation.alerts
                assert preview.runbook == runbook_id
                previews[runbook_id] = simulated_gates(preview)

            served = {}
            for runbook_id, body in bodies.items():
                await post_alert(client, body)
                await settle(app)

                def opened(rid: str = runbook_id) -> int | None:
                    return incident_of(app, rid)

                incident_id = await wait_for(opened, what=f"{runbook_id} incident")

                async def decided(iid: int = incident_id, rid: str = runbook_id) -> Any:
                    run = await run_of(client, iid)
                    return run if run is not None and settled(run, rid) else None

                run = await wait_async(decided, what=f"the {runbook_id} run")
                served[runbook_id] = service_gates(run)

        problems = {
            runbook_id: disagreements(previews[runbook_id], served[runbook_id])
            for runbook_id in CORPUS
        }
        assert {k: v for k, v in problems.items() if v} == {}
        for runbook_id, expected in EXPECTED.items():
            assert [(s, g) for s, g, _ in served[runbook_id]] == expected, runbook_id
        # The one declared difference: the pause is known only to the runner.
        assert ("heal", "run") in [(s, g) for s, g, _ in previews["paused"]]
