"""Runbooks, alerts and waits for the automation tests through the real app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import col, select

from storage.tables import TimelineEvent
from tests.support import alert, payload

HEAL_RUNBOOK = """---
id: web-heal
title: Heal the web service
owners: ["@web"]
match:
  alertname: WebDown
params:
  heal_url: {{from: annotations.heal_url, pattern: "http://127\\\\.0\\\\.0\\\\.1:[0-9]{{1,5}}/heal"}}
policy:
  mode: {mode}
  limits: {{cooldown: {cooldown}, max_runs: 10 per 1h, stale_after: 1h}}
  circuit_breaker: {{consecutive_failures: 2}}
verify: {{alert_resolved: true, within: {within}, on_fail: {on_fail}}}
approvers: {approvers}
---
# Web service down

## Initial Assessment

Tell the channel what is about to happen.

```action {{"id": "announce", "kind": "notify"}}
uses: notify
with:
  text: Healing the web service.
```

## Resolution Steps

Ask the service to heal itself.

```action {{"id": "heal", "kind": "remediate", "safe": true, "timeout": "{heal_timeout}"{rollback}}}
uses: http.request
with:
  method: POST
  url: params.heal_url
  expect_status: [200]
```
{extra}
"""

ROLLBACK_STEP = """
Undo the heal by breaking the service again (a stand-in for a real rollback).

```action {"id": "undo", "kind": "rollback", "safe": true}
uses: http.request
with:
  method: POST
  url: http://127.0.0.1:{port}/break
```
"""


def write_runbook(
    directory: Path,
    *,
    mode: str = "auto",
    cooldown: str = "0s",
    within: str = "5m",
    on_fail: str = "escalate",
    heal_timeout: str = "10s",
    rollback_port: int | None = None,
    approvers: tuple[str, ...] = ("U-LEAD",),
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "web-heal.md"
    extra = ROLLBACK_STEP.replace("{port}", str(rollback_port)) if rollback_port else ""
    path.write_text(
        HEAL_RUNBOOK.format(
            mode=mode,
            cooldown=cooldown,
            within=within,
            on_fail=on_fail,
            heal_timeout=heal_timeout,
            rollback=', "rollback": "undo"' if rollback_port else "",
            extra=extra,
            approvers=json.dumps(list(approvers)),
        )
    )
    return path


def web_down(
    heal_url: str,
    *,
    fingerprint: str = "aaaa000000000001",
    status: str = "firing",
    starts_at: datetime | None = None,
    **labels: str,
) -> dict[str, Any]:
    return payload(
        [
            alert(
                "WebDown",
                fingerprint=fingerprint,
                status=status,
                starts_at=starts_at or STARTED,
                labels={"severity": "critical", **labels},
                annotations={"heal_url": heal_url, "summary": "web is down"},
            )
        ],
        group_labels={"alertname": "WebDown", "fp": fingerprint},
    )


STARTED = datetime.now(UTC).replace(microsecond=0)


def events(app: FastAPI, incident_id: int | None = None) -> list[TimelineEvent]:
    with app.state.runtime.db.session() as session:
        query = select(TimelineEvent).order_by(col(TimelineEvent.id))
        if incident_id is not None:
            query = query.where(TimelineEvent.incident_id == incident_id)
        return list(session.exec(query))


def kinds(app: FastAPI, incident_id: int | None = None) -> list[str]:
    return [e.kind for e in events(app, incident_id)]


async def wait_for(
    check: Callable[[], Any], *, within: float = 15.0, what: str = "condition"
) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def post_alert(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/webhooks/alertmanager", json=body)
    assert response.status_code == 200, response.text
