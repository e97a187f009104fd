"""Named API tokens through the real app: the token is the actor, its role decides."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from bot.app.settings import Settings
from bot.events import EventKind
from tests.automation.support import events
from tests.support import alert, payload, running_app, settle

RESPONDER = "token-of-alice"
VIEWER = "token-of-bob"

PEOPLE: dict[str, Any] = {
    "directory": [
        {"id": "alice", "name": "Alice", "slack": "UALICE"},
        {"id": "bob", "name": "Bob", "slack": "UBOB"},
    ],
    "tokens": [
        {
            "name": "alice-laptop",
            "sha256": hashlib.sha256(RESPONDER.encode()).hexdigest(),
            "person": "alice",
            "role": "responder",
        },
        {
            "name": "bob-dashboard",
            "sha256": hashlib.sha256(VIEWER.encode()).hexdigest(),
            "person": "bob",
            "role": "viewer",
        },
    ],
}


def as_(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def one_incident(app: FastAPI, client: httpx.AsyncClient) -> int:
    body = payload([alert("DiskFull", fingerprint="2222222222222222")])
    assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)
    items = (await client.get("/api/incidents", headers=as_(VIEWER))).json()["items"]
    return int(items[0]["id"])


async def test_a_viewer_is_refused_and_a_responder_is_the_actor(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (app, client):
        incident_id = await one_incident(app, client)
        ack = f"/api/incidents/{incident_id}/acknowledge"

        assert (await client.post(ack)).status_code == 401
        assert (await client.post(ack, headers=as_("guessed"))).status_code == 401

        refused = await client.post(ack, headers=as_(VIEWER), json={"actor": "alice"})
        assert refused.status_code == 403
        assert refused.json() == {"detail": "bob is a viewer; acknowledge needs responder"}
        [row] = [e for e in events(app, incident_id) if e.kind == EventKind.ACCESS_REFUSED]
        assert (row.actor, row.data) == (
            "bob",
            {"action": "acknowledge", "role": "viewer", "by": "bob"},
        )
        detail = (await client.get(f"/api/incidents/{incident_id}", headers=as_(VIEWER))).json()
        assert detail["status"] == "open"

        done = await client.post(ack, headers=as_(RESPONDER), json={"actor": "mallory"})
        assert done.status_code == 200, done.text
        assert done.json()["acknowledged_by"] == "alice"
        note = await client.post(
            f"/api/incidents/{incident_id}/notes",
            headers=as_(RESPONDER),
            json={"text": "disk cleaned", "actor": "mallory"},
        )
        assert (note.status_code, note.json()["actor"]) == (201, "alice")


async def test_pausing_and_resuming_automation_follow_the_table(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (_app, client):
        pause = await client.post(
            "/api/automation/pause", headers=as_(RESPONDER), json={"reason": "noisy"}
        )
        assert (pause.status_code, pause.json()["paused_by"]) == (201, "alice")
        resume = await client.post("/api/automation/resume", headers=as_(RESPONDER), json={})
        assert resume.status_code == 403
        viewer = await client.post(
            "/api/automation/pause", headers=as_(VIEWER), json={"reason": "x"}
        )
        assert viewer.status_code == 403


async def test_without_people_config_the_body_names_the_actor(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings()) as (app, client):
        body = payload([alert("DiskFull", fingerprint="3333333333333333")])
        assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
        await settle(app)
        [item] = (await client.get("/api/incidents")).json()["items"]
        done = await client.post(f"/api/incidents/{item['id']}/acknowledge", json={"actor": "U123"})
        assert (done.status_code, done.json()["acknowledged_by"]) == (200, "U123")


async def test_the_shared_token_still_works_beside_named_tokens(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(people=PEOPLE, api_token="shared")) as (app, client):
        incident_id = await one_incident(app, client)
        done = await client.post(
            f"/api/incidents/{incident_id}/resolve",
            headers=as_("shared"),
            json={"actor": "U999", "reason": "fixed"},
        )
        assert (done.status_code, done.json()["resolved_by"]) == (200, "U999")
