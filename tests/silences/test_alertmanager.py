"""Acknowledged means silenced, against the real Alertmanager binary: every path that
acknowledges (the API here; Slack, the console and links write the same event) silences
the incident's alerts; un-acknowledging and resolving lift them; an alert joining the
acknowledged incident is silenced too; switched off, acknowledging silences nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bot.app.settings import Settings
from storage.queries_outbox import messages_of
from tests.automation import stack
from tests.support import alert, payload, running_app, settle

pytestmark = pytest.mark.binaries


async def eventually(check: Callable[[], Any], *, what: str, within: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while not (value := await check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
    return value


async def active(url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        silences = (await http.get(f"{url}/api/v2/silences")).json()
    return [s for s in silences if s["status"]["state"] == "active"]


def matched(silence: dict[str, Any]) -> dict[str, str]:
    return {m["name"]: m["value"] for m in silence["matchers"]}


async def post(app: FastAPI, client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)


DISK = alert("DiskFull", fingerprint="a" * 16, labels={"instance": "db-1", "severity": "warning"})
DISK2 = alert("DiskFull", fingerprint="b" * 16, labels={"instance": "db-2", "severity": "warning"})


async def test_every_acknowledgement_silences_until_lifted(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with stack.alertmanager(tmp_path, stack.SILENT_ALERTMANAGER) as am:
        settings = make_settings(
            alertmanager_url=am.url,
            migrate_on_start=True,
            runbook_dirs=[tmp_path],
        )
        async with running_app(settings) as (app, client):
            await post(app, client, payload([DISK], group_labels={"alertname": "DiskFull"}))
            (incident,) = (await client.get("/api/incidents")).json()["items"]
            one = incident["id"]

            await client.post(f"/api/incidents/{one}/acknowledge", json={"actor": "ann"})
            (silence,) = await eventually(lambda: active(am.url), what="the silence")
            assert matched(silence) == {
                "alertname": "DiskFull",
                "instance": "db-1",
                "severity": "warning",
            }
            assert silence["comment"] == f"fireline incident #{one}: acknowledged by ann"

            # A second alert joins the acknowledged incident: it is silenced too, once.
            await post(app, client, payload([DISK, DISK2], group_labels={"alertname": "DiskFull"}))

            async def both() -> list[dict[str, Any]] | None:
                found = await active(am.url)
                return found if len(found) == 2 else None

            found = await eventually(both, what="the second alert's silence")
            assert sorted(matched(s)["instance"] for s in found) == ["db-1", "db-2"]

            await client.post(f"/api/incidents/{one}/unacknowledge", json={"actor": "ann"})

            async def none() -> bool:
                return not await active(am.url)

            await eventually(none, what="un-acknowledging to lift the silences")

            # Acknowledged again, then resolving lifts it.
            await client.post(f"/api/incidents/{one}/acknowledge", json={"actor": "bo"})
            await eventually(both, what="the silences of the second acknowledgement")
            await client.post(f"/api/incidents/{one}/resolve", json={"actor": "bo"})
            await eventually(none, what="resolving to lift the silences")

            async def lifted_twice() -> list[str] | None:
                # Alertmanager shows the silence expired before the sender records it.
                events = (await client.get(f"/api/incidents/{one}/timeline")).json()
                kinds = [str(e["kind"]) for e in events]
                return kinds if kinds.count("incident.unsilenced") >= 2 else None

            kinds = await eventually(lifted_twice, what="both liftings on the timeline")
            assert kinds.count("incident.silenced") >= 2
            assert kinds.count("incident.unsilenced") == 2


async def test_switched_off_acknowledging_silences_nothing(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with stack.alertmanager(tmp_path, stack.SILENT_ALERTMANAGER) as am:
        settings = make_settings(
            alertmanager_url=am.url,
            migrate_on_start=True,
            runbook_dirs=[tmp_path],
            silence_on_ack=False,
        )
        async with running_app(settings) as (app, client):
            await post(app, client, payload([DISK]))
            await client.post("/api/incidents/1/acknowledge", json={"actor": "ann"})
            await client.post("/api/incidents/1/resolve", json={"actor": "ann"})

            async def expiry_sent() -> bool:
                with app.state.runtime.db.session() as session:
                    rows = messages_of(session, 1)
                return [(r.destination, r.kind, r.status) for r in rows] == [
                    ("alertmanager", "silence.expire", "sent")
                ]

            await eventually(expiry_sent, what="the expiry, and nothing else, to go out")
            assert await active(am.url) == []
            events = (await client.get("/api/incidents/1/timeline")).json()
            assert "incident.silenced" not in [e["kind"] for e in events]
