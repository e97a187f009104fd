"""Maintenance windows through the running service: an alert under a window is recorded
but pages nobody; ending the window pages for what still fires."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.app.settings import Settings
from storage.tables_escalation import EscalationTimer
from storage.tables_outbox import OutboxMessage
from tests.escalation.httpserver import http_server
from tests.support import alert, payload, running_app, settle

CONFIG = """\
escalation:
  tick: 100ms
  policies:
    - name: default
      levels:
        - targets: [{{webhook: hook}}]
          delay: 1h
  webhooks:
    hook: {{url: "{url}/hook", attempts: 3}}
maintenance:
  - name: freeze
    match: {{env: staging}}
    ends_at: 2099-01-01T00:00:00Z
    reason: staging is rebuilt
    created_by: ops
"""


async def wait_for(condition: Callable[[], Any], within: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while not (found := condition()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.02)
    return found


async def kinds(client: Any, incident_id: int) -> list[str]:
    timeline = (await client.get(f"/api/incidents/{incident_id}/timeline")).json()
    return [e["kind"] for e in timeline]


async def test_a_window_holds_pages_until_it_is_ended(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with http_server() as server:
        config = tmp_path / "fireline.yml"
        config.write_text(CONFIG.format(url=server.url))
        runbooks = tmp_path / "runbooks"
        runbooks.mkdir()
        settings = make_settings(config=config, runbook_dirs=[runbooks], maintenance_tick="100ms")
        async with running_app(settings) as (app, client):
            db = app.state.runtime.db
            created = await client.post(
                "/api/maintenance",
                json={
                    "matchers": ['team="db"'],
                    "duration": "1h",
                    "reason": "schema upgrade",
                    "actor": "ann",
                },
            )
            assert created.status_code == 201, created.text
            window = created.json()
            assert (window["active"], window["source"], window["matchers"]) == (
                True,
                "api",
                ['team="db"'],
            )

            body = payload([alert("DbDown", labels={"team": "db", "severity": "warning"})])
            assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
            await settle(app)
            (held,) = (await client.get("/api/incidents")).json()["items"]
            timeline = (await client.get(f"/api/incidents/{held['id']}/timeline")).json()
            (event,) = [e for e in timeline if e["kind"] == "maintenance.held"]
            assert event["text"] == (
                f"Incident held by maintenance window {window['id']}: schema upgrade, by ann, "
                f"until {window['ends_at'].replace('Z', '+00:00')}"
            )
            assert "incident.opened" in [e["kind"] for e in timeline]
            with db.session() as session:
                assert session.get(EscalationTimer, held["id"]) is None
                assert list(session.exec(select(OutboxMessage))) == []

            # An alert the window does not cover pages at once: the hold is the window's.
            other = payload(
                [alert("WebDown", fingerprint="feedfacefeedface", labels={"team": "web"})]
            )
            assert (await client.post("/webhooks/alertmanager", json=other)).status_code == 200
            await settle(app)
            await wait_for(lambda: len(server.requests) == 1)
            assert server.requests[0]["json"]["incident_id"] != held["id"]

            ended = await client.delete(f"/api/maintenance/{window['id']}?actor=ann")
            assert ended.status_code == 200, ended.text
            assert ended.json()["ended_by"] == "ann"
            await wait_for(lambda: len(server.requests) == 2)
            assert server.requests[1]["json"]["incident_id"] == held["id"]
            after = await kinds(client, held["id"])
            assert "maintenance.released" in after
            assert "escalation.notified" in after
            again = await client.delete(f"/api/maintenance/{window['id']}")
            assert again.status_code == 409
            assert (await client.delete("/api/maintenance/999")).status_code == 404


async def test_config_windows_are_listed_and_hold(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    config = tmp_path / "fireline.yml"
    config.write_text(CONFIG.format(url="http://127.0.0.1:9"))
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    async with running_app(make_settings(config=config, runbook_dirs=[runbooks])) as (app, client):
        (listed,) = (await client.get("/api/maintenance")).json()
        assert (listed["id"], listed["source"], listed["created_by"]) == (
            "config:freeze",
            "config",
            "ops",
        )
        body = payload([alert("StagingDown", labels={"env": "staging"})])
        assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
        await settle(app)
        (incident,) = (await client.get("/api/incidents")).json()["items"]
        timeline = (await client.get(f"/api/incidents/{incident['id']}/timeline")).json()
        (held,) = [e for e in timeline if e["kind"] == "maintenance.held"]
        assert held["data"]["window"] == "config:freeze"
        assert held["data"]["held"] == "escalation"


async def test_bad_windows_are_refused_with_the_reason(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings()) as (_app, client):
        cases = [
            (
                {
                    "matchers": ['team="db"'],
                    "starts_at": "2099-01-01T10:00:00Z",
                    "ends_at": "2099-01-01T09:00:00Z",
                    "reason": "r",
                },
                "ends (2099-01-01T09:00:00+00:00) before it starts",
            ),
            ({"matchers": ["team~db"], "duration": "1h", "reason": "r"}, "is not a matcher"),
            ({"duration": "1h", "reason": "r"}, "needs a service or at least one matcher"),
            ({"matchers": ['team="db"'], "reason": "r"}, "either ends_at or a duration"),
        ]
        for body, message in cases:
            answer = await client.post("/api/maintenance", json=body)
            assert answer.status_code == 422, body
            assert message in answer.json()["detail"], answer.json()
        assert (await client.get("/api/maintenance")).json() == []
