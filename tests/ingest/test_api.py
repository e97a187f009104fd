"""The incidents API through the real app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI

from bot.app.settings import Settings
from tests.support import alert, payload, running_app, settle

API = {"Authorization": "Bearer api-token"}


async def open_incidents(client: httpx.AsyncClient, app: FastAPI, count: int) -> None:
    for i in range(count):
        body = payload(
            [
                alert(
                    f"Alert{i}",
                    fingerprint=f"{i:016x}",
                    labels={"severity": "critical" if i % 2 else "warning"},
                )
            ]
        )
        assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)


async def test_api_requires_its_token(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings(api_token="api-token")) as (_, client):
        assert (await client.get("/api/incidents")).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await client.get("/api/incidents", headers=wrong)).status_code == 401
        assert (await client.get("/api/incidents", headers=API)).status_code == 200
        assert (await client.get("/healthz")).status_code == 200


async def test_list_filters_and_pages(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings(api_token="api-token")) as (app, client):
        await open_incidents(client, app, 5)
        page = (await client.get("/api/incidents?limit=2&offset=0", headers=API)).json()
        assert page["total"] == 5
        assert [i["title"] for i in page["items"]] == ["Alert4", "Alert3"]
        sev1 = (await client.get("/api/incidents?severity=SEV1", headers=API)).json()
        assert sev1["total"] == 2
        assert {i["severity"] for i in sev1["items"]} == {"SEV1"}
        bad = await client.get("/api/incidents?status=closed", headers=API)
        assert bad.status_code == 422


async def test_acknowledge_note_resolve_record_the_actor(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(api_token="api-token")) as (app, client):
        await open_incidents(client, app, 1)
        url = "/api/incidents/1"
        ack = await client.post(f"{url}/acknowledge", json={"actor": "alice"}, headers=API)
        assert ack.status_code == 200
        assert ack.json()["status"] == "acknowledged"
        assert ack.json()["acknowledged_by"] == "alice"
        note = await client.post(
            f"{url}/notes", json={"actor": "bob", "text": "DB failover"}, headers=API
        )
        assert note.status_code == 201
        resolved = await client.post(
            f"{url}/resolve", json={"actor": "carol", "reason": "fixed"}, headers=API
        )
        assert resolved.json()["status"] == "resolved"
        again = await client.post(f"{url}/acknowledge", json={"actor": "alice"}, headers=API)
        assert again.status_code == 409
        events = (await client.get(f"{url}/timeline", headers=API)).json()
        by_kind = {e["kind"]: e for e in events}
        assert by_kind["incident.acknowledged"]["actor"] == "alice"
        assert by_kind["note.added"]["text"] == "DB failover"
        assert by_kind["incident.resolved"]["actor"] == "carol"
        detail = (await client.get(url, headers=API)).json()
        assert detail["alerts"][0]["labels"]["alertname"] == "Alert0"
        assert (await client.get("/api/incidents/99", headers=API)).status_code == 404
        assert (await client.post("/api/incidents/99/resolve", headers=API)).status_code == 404


async def test_readyz_reports_a_missing_migration(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with running_app(make_settings()) as (_, client):
        assert (await client.get("/readyz")).json()["status"] == "ok"
    empty = make_settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    async with running_app(empty) as (_, client):
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert "fireline db upgrade" in response.json()["detail"]


async def test_openapi_documents_the_webhook_and_the_api(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings()) as (_, client):
        schema = (await client.get("/openapi.json")).json()
        webhook = schema["paths"]["/webhooks/alertmanager"]["post"]
        ref = webhook["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        payload_schema = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        assert {"version", "groupKey", "alerts"} <= set(payload_schema["properties"])
        assert set(webhook["responses"]) == {"200", "401", "413", "422", "503"}
        assert "/api/incidents" in schema["paths"]
        assert (await client.get("/docs")).status_code == 200
        # The webhook answers POST only.
        assert (await client.get("/webhooks/alertmanager")).status_code == 405
