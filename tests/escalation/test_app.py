"""Escalation through the running service: triage, the scheduler job, the routes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app.settings import Settings
from tests.escalation.httpserver import http_server
from tests.support import alert, payload, running_app, settle

CONFIG = """\
schedules:
  - name: primary
    zone: Europe/Berlin
    layers:
      - members: [U1]
        length: daily
        start: 2020-01-01
escalation:
  tick: 200ms
  policies:
    - name: default
      levels:
        - targets: [{{schedule: primary}}, {{webhook: hook}}]
          delay: 1h
        - targets: [{{user: USENIOR}}]
          delay: 1h
  webhooks:
    hook: {{url: "{url}/hook", attempts: 3}}
"""


async def wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.02)


async def notified(client: Any, incident_id: int, count: int) -> list[dict[str, Any]]:
    for _ in range(200):
        timeline = (await client.get(f"/api/incidents/{incident_id}/timeline")).json()
        events = [e for e in timeline if e["kind"] == "escalation.notified"]
        if len(events) >= count:
            return events
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} escalation.notified events, got {len(events)}")


async def test_escalation_end_to_end(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with http_server([500]) as server:
        config = tmp_path / "fireline.yml"
        config.write_text(CONFIG.format(url=server.url))
        # No runbooks: a shipped runbook matching the alert would escalate on its own when
        # it refuses the alert's parameters, racing the escalations this test drives.
        runbooks = tmp_path / "runbooks"
        runbooks.mkdir()
        settings = make_settings(config=config, runbook_dirs=[runbooks])
        async with running_app(settings) as (app, client):
            body = payload([alert(labels={"severity": "warning"})])
            assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
            await settle(app)
            (incident,) = (await client.get("/api/incidents")).json()["items"]
            incident_id = incident["id"]

            (first,) = await notified(client, incident_id, 1)
            assert first["data"]["level"] == 1
            assert first["data"]["users"] == ["U1"]
            assert first["data"]["destinations"] == ["webhook:hook"]
            await wait_until(lambda: len(server.requests) >= 2)  # a 500, then retried
            refused, delivered = server.requests[:2]
            assert delivered["json"]["incident_id"] == incident_id
            key = delivered["headers"]["Idempotency-Key"]
            assert refused["headers"]["Idempotency-Key"] == key  # the same page, retried
            assert delivered["json"]["idempotency_key"] == key

            ack = await client.post(f"/api/incidents/{incident_id}/acknowledge", json={})
            assert ack.json()["status"] == "acknowledged"
            unack = await client.post(
                f"/api/incidents/{incident_id}/unacknowledge", json={"actor": "ann"}
            )
            assert unack.status_code == 200
            assert unack.json()["status"] == "open"
            second = (await notified(client, incident_id, 2))[-1]
            assert (second["data"]["level"], second["data"]["reason"]) == (
                1,
                "un-acknowledged by ann",
            )

            up = await client.post(f"/api/incidents/{incident_id}/escalate", json={"actor": "bo"})
            assert up.status_code == 200
            third = (await notified(client, incident_id, 3))[-1]
            assert (third["data"]["level"], third["data"]["users"]) == (2, ["USENIOR"])

            resolved = await client.post(f"/api/incidents/{incident_id}/resolve", json={})
            assert resolved.json()["status"] == "resolved"
            again = await client.post(f"/api/incidents/{incident_id}/escalate", json={})
            assert again.status_code == 409
            assert (await client.post("/api/incidents/999/escalate", json={})).status_code == 404


async def test_oncall_and_overrides(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    config = tmp_path / "fireline.yml"
    config.write_text(CONFIG.format(url="http://127.0.0.1:9"))
    async with running_app(make_settings(config=config)) as (_app, client):
        (answer,) = (await client.get("/api/oncall")).json()
        assert (answer["schedule"], answer["user"], answer["source"]) == (
            "primary",
            "U1",
            "layer 1",
        )
        now = datetime.now(UTC)
        created = await client.post(
            "/api/schedules/primary/overrides",
            json={
                "user": "UOVR",
                "start": (now - timedelta(minutes=1)).isoformat(),
                "end": (now + timedelta(hours=1)).isoformat(),
                "actor": "ann",
            },
        )
        assert created.status_code == 201
        assert created.json()["created_by"] == "ann"
        (answer,) = (await client.get("/api/oncall", params={"schedule": "primary"})).json()
        assert (answer["user"], answer["source"]) == ("UOVR", "override")
        later = (now + timedelta(hours=2)).isoformat()
        (answer,) = (await client.get("/api/oncall", params={"at": later})).json()
        assert answer["user"] == "U1"
        assert (await client.get("/api/oncall", params={"schedule": "nope"})).status_code == 404
        bad = await client.post(
            "/api/schedules/primary/overrides",
            json={"user": "U", "start": now.isoformat(), "end": now.isoformat()},
        )
        assert bad.status_code == 422
        missing = await client.post(
            "/api/schedules/nope/overrides",
            json={
                "user": "U",
                "start": now.isoformat(),
                "end": (now + timedelta(hours=1)).isoformat(),
            },
        )
        assert missing.status_code == 404


SEVERITY_CONFIG = """\
escalation:
  tick: 200ms
  policies:
    - name: urgent
      severities: [SEV1]
      levels:
        - targets: [{user: UCOMMANDER}]
          delay: 1h
    - name: default
      levels:
        - targets: [{user: UONCALL}]
          delay: 1h
        - targets: [{user: USENIOR}]
          delay: 1h
"""


async def test_a_severity_raise_moves_escalation_to_the_new_policy(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    config = tmp_path / "fireline.yml"
    config.write_text(SEVERITY_CONFIG)
    async with running_app(make_settings(config=config)) as (app, client):
        first = alert("Slow", fingerprint="a" * 16, labels={"severity": "warning"})
        assert (await client.post("/webhooks/alertmanager", json=payload([first]))).is_success
        await settle(app)
        (incident,) = (await client.get("/api/incidents")).json()["items"]
        (paged,) = await notified(client, incident["id"], 1)
        assert (paged["data"]["policy"], paged["data"]["users"]) == ("default", ["UONCALL"])

        worse = alert("Down", fingerprint="b" * 16, labels={"severity": "critical"})
        body = payload([first, worse])
        assert (await client.post("/webhooks/alertmanager", json=body)).is_success
        await settle(app)
        second = (await notified(client, incident["id"], 2))[-1]
        assert (second["data"]["policy"], second["data"]["users"]) == ("urgent", ["UCOMMANDER"])
        timeline = (await client.get(f"/api/incidents/{incident['id']}/timeline")).json()
        started = [e for e in timeline if e["kind"] == "escalation.started"]
        assert started[-1]["data"] == {
            "policy": "urgent",
            "level": 1,
            "reason": "severity raised to SEV1",
        }


async def test_a_shift_swap_is_two_overrides_written_together(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    config = tmp_path / "fireline.yml"
    config.write_text(
        CONFIG.format(url="http://127.0.0.1:9").replace("members: [U1]", "members: [U1, U2]")
    )
    async with running_app(make_settings(config=config)) as (_app, client):
        shifts = (await client.get("/api/schedules/primary/shifts", params={"days": 3})).json()
        mine = next(s for s in shifts if s["user"] == "U1")
        theirs = next(s for s in shifts if s["user"] == "U2")
        body = {
            "first": "U1",
            "first_at": mine["start"],
            "second": "U2",
            "second_at": theirs["start"],
            "actor": "ann",
        }
        wrong = await client.post("/api/schedules/primary/swaps", json={**body, "first": "U2"})
        assert wrong.status_code == 422
        assert "is U1's shift in primary, not U2's" in wrong.json()["detail"]
        made = await client.post("/api/schedules/primary/swaps", json=body)
        assert made.status_code == 201, made.text
        # Whole shifts: the current one began before "now", where the listing starts it.
        covers = {(o["user"], o["end"]) for o in made.json()}
        assert covers == {("U2", mine["end"]), ("U1", theirs["end"])}
        after = (await client.get("/api/oncall", params={"at": theirs["start"]})).json()
        assert after[0]["user"] == "U1"
        stored = (await client.get("/api/schedules/primary/overrides")).json()
        assert len(stored) == 2
        assert {o["created_by"] for o in stored} == {"ann"}
