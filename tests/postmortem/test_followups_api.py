"""Follow-ups through the API: create, list open ones across incidents, mark done."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import FastAPI

from bot.app.settings import Settings
from tests.postmortem.script import T0, FrozenClock, at
from tests.support import alert, payload, running_app, settle


async def _two_incidents(app: FastAPI, client: httpx.AsyncClient) -> list[int]:
    for name, fingerprint in (("DiskFull", "1111111111111111"), ("HighLoad", "2222222222222222")):
        body = payload([alert(name, fingerprint=fingerprint, starts_at=at(-1))])
        assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)
    items = (await client.get("/api/incidents")).json()["items"]
    return sorted(item["id"] for item in items)


async def test_followups_lifecycle(make_settings: Callable[..., Settings]) -> None:
    clock = FrozenClock(T0)
    async with running_app(make_settings(), clock=clock) as (app, client):
        first, second = await _two_incidents(app, client)
        clock.at(5)
        made = []
        for incident_id, text in (
            (first, "Grow the disk"),
            (second, "Cap the batch size"),
            (first, "Alert earlier"),
        ):
            response = await client.post(
                f"/api/incidents/{incident_id}/followups",
                json={"text": text, "actor": "alice", "owner": "ops"},
            )
            assert response.status_code == 201, response.text
            made.append(response.json())
        assert made[0]["status"] == "open"
        assert made[0]["created_at"].startswith("2026-03-29T00:35:00")

        clock.at(6)
        done = await client.post(f"/api/followups/{made[0]['id']}/done", json={"actor": "bob"})
        assert done.status_code == 200
        assert (done.json()["status"], done.json()["done_by"]) == ("done", "bob")
        again = await client.post(f"/api/followups/{made[0]['id']}/done", json={"actor": "eve"})
        assert again.json()["done_by"] == "bob"

        still_open = (await client.get("/api/followups", params={"status": "open"})).json()
        assert [(f["incident_id"], f["text"]) for f in still_open] == [
            (second, "Cap the batch size"),
            (first, "Alert earlier"),
        ]
        assert len((await client.get("/api/followups")).json()) == 3

        timeline = (await client.get(f"/api/incidents/{first}/timeline")).json()
        kinds = [(e["kind"], e["data"].get("followup_id")) for e in timeline]
        assert ("followup.added", made[0]["id"]) in kinds
        assert ("followup.done", made[0]["id"]) in kinds
        assert kinds.count(("followup.done", made[0]["id"])) == 1

        draft = (await client.get(f"/api/incidents/{first}/postmortem")).text
        assert f"| {made[0]['id']} | Grow the disk | ops | done |" in draft
        assert f"| {made[2]['id']} | Alert earlier | ops | open |" in draft
        assert "Cap the batch size" not in draft


async def test_followup_errors(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings()) as (app, client):
        missing = await client.post("/api/incidents/77/followups", json={"text": "x"})
        assert missing.status_code == 404
        assert (await client.post("/api/followups/77/done")).status_code == 404
        first, _ = await _two_incidents(app, client)
        blank = await client.post(f"/api/incidents/{first}/followups", json={"text": "   "})
        assert blank.status_code == 422
        bad = await client.get("/api/followups", params={"status": "maybe"})
        assert bad.status_code == 422


async def test_due_dates_links_and_overdue(make_settings: Callable[..., Settings]) -> None:
    clock = FrozenClock(T0)
    async with running_app(make_settings(), clock=clock) as (app, client):
        first, _ = await _two_incidents(app, client)
        url = f"/api/incidents/{first}/followups"
        default = (await client.post(url, json={"text": "Grow the disk"})).json()
        assert default["due_at"].startswith("2026-04-12T00:30:00")
        soon = await client.post(
            url,
            json={
                "text": "Rotate logs",
                "due": "2026-03-30T00:00:00Z",
                "link": "https://tracker.example/OPS-12",
            },
        )
        assert soon.status_code == 201, soon.text
        assert (soon.json()["link"], soon.json()["overdue"]) == (
            "https://tracker.example/OPS-12",
            False,
        )
        for bad in ({"due": "2026-03-30T00:00:00"}, {"link": "javascript:alert(1)"}):
            refused = await client.post(url, json={"text": "x", **bad})
            assert refused.status_code == 422, bad

        clock.at(60 * 24 * 2)
        overdue = (await client.get("/api/followups", params={"status": "overdue"})).json()
        assert [(f["text"], f["overdue"]) for f in overdue] == [("Rotate logs", True)]
        draft = (await client.get(f"/api/incidents/{first}/postmortem")).text
        assert (
            f"| {soon.json()['id']} | Rotate logs (`https://tracker.example/OPS-12`) | — "
            "| open, overdue | 2026-03-30 |"
        ) in draft

        await client.post(f"/api/followups/{soon.json()['id']}/done", json={"actor": "bob"})
        assert (await client.get("/api/followups", params={"status": "overdue"})).json() == []
