"""Refusals answered by the app's one FirelineError handler, through the real app."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import FastAPI

from bot.app.settings import Settings
from bot.incidents import service as incidents
from bot.routing import call_service
from tests.support import alert, payload, running_app, settle


async def _one_incident(app: FastAPI, client: httpx.AsyncClient) -> int:
    body = payload([alert("DiskFull", fingerprint="1111111111111111")])
    assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)
    items = (await client.get("/api/incidents")).json()["items"]
    assert len(items) == 1
    return int(items[0]["id"])


async def test_refusals_answer_with_their_status(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings()) as (app, client):
        missing = await client.get("/api/incidents/9999")
        assert (missing.status_code, missing.json()) == (
            404,
            {"detail": "incident 9999 does not exist"},
        )
        assert (await client.post("/api/incidents/9999/acknowledge")).status_code == 404

        incident_id = await _one_incident(app, client)
        resolved = await client.post(f"/api/incidents/{incident_id}/resolve", json={})
        assert resolved.status_code == 200, resolved.text
        conflict = await client.post(f"/api/incidents/{incident_id}/acknowledge")
        assert (conflict.status_code, conflict.json()) == (
            409,
            {"detail": "the incident is resolved; there is nothing to acknowledge"},
        )

        since = await client.get("/api/reports/summary", params={"since": "2026-11-01T00:00:00"})
        assert (since.status_code, since.json()) == (
            422,
            {"detail": "since needs a time zone, such as 2026-11-01T00:00:00Z"},
        )


async def test_declaring_with_a_bad_severity_is_422(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    app_under_test: FastAPI

    async with running_app(settings) as (app, client):
        app_under_test = app

        @app_under_test.post("/declare-for-test")
        async def declare(severity: str) -> dict[str, int | None]:
            runtime = app_under_test.state.runtime
            incident = await call_service(
                incidents.declare,
                runtime.db,
                title="Checkout is down",
                severity=severity,
                actor="alice",
                hooks=None,
                clock=runtime.clock,
            )
            return {"id": incident.id}

        bad = await client.post("/declare-for-test", params={"severity": "SEV9"})
        assert (bad.status_code, bad.json()) == (
            422,
            {"detail": "severity is SEV1, SEV2, SEV3 or SEV4, not 'SEV9'"},
        )
        good = await client.post("/declare-for-test", params={"severity": "SEV2"})
        assert good.status_code == 200, good.text
        assert (await client.get(f"/api/incidents/{good.json()['id']}")).status_code == 200


async def test_a_bare_value_error_from_a_route_is_a_500(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings()) as (app, _):

        @app.get("/broken-for-test")
        async def broken() -> None:
            raise ValueError("a bug, not a refusal")

        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://fireline") as client:
            response = await client.get("/broken-for-test")
        assert response.status_code == 500
        assert "a bug, not a refusal" not in response.text
