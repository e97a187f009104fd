"""Alert times from a broken clock are clamped, noted, and never make a duration negative."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from bot.app.settings import Settings
from tests.postmortem.script import FrozenClock
from tests.postmortem.test_metrics import samples
from tests.support import alert, payload, running_app, settle

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


async def _post(app: FastAPI, client: httpx.AsyncClient, body: dict[str, object]) -> None:
    assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)


async def test_a_start_in_year_9999_is_clamped_to_when_it_arrived(
    make_settings: Callable[..., Settings],
) -> None:
    clock = FrozenClock(T0)
    async with running_app(make_settings(), clock=clock) as (app, client):
        firing = payload([alert("DiskFull", starts_at=FAR_FUTURE)])
        await _post(app, client, firing)
        clock.now = T0 + timedelta(minutes=1)
        await _post(app, client, firing)  # Alertmanager repeats the group: the same episode

        detail = (await client.get("/api/incidents/1")).json()
        assert datetime.fromisoformat(detail["started_at"]) == T0
        assert len(detail["alerts"]) == 1
        assert detail["alerts"][0]["status"] == "firing"
        timeline = (await client.get("/api/incidents/1/timeline")).json()
        [note] = [e for e in timeline if e["kind"] == "alert.time_clamped"]
        assert note["data"]["fields"] == ["startsAt"]
        assert note["data"]["sent"]["startsAt"].startswith("9999-12-31")
        assert "impossible time" in note["text"]
        assert not any("superseded" in e["text"] for e in timeline)

        clock.now = T0 + timedelta(minutes=30)
        resolved = payload(
            [alert("DiskFull", status="resolved", starts_at=FAR_FUTURE, ends_at=FAR_FUTURE)]
        )
        await _post(app, client, resolved)
        detail = (await client.get("/api/incidents/1")).json()
        assert detail["status"] == "resolved"

        draft = (await client.get("/api/incidents/1/postmortem?format=json")).json()
        times = draft["key_times"]
        assert times["time_to_detect"] == 0
        assert times["time_to_resolve"] == 30 * 60
        text = (await client.get("/api/incidents/1/postmortem")).text
        assert "-29" not in text
        got = samples((await client.get("/metrics")).text)
        assert got[("fireline_time_to_resolve_seconds_sum", ())] == 30 * 60


async def test_a_start_before_2000_is_clamped_and_a_sane_one_is_kept(
    make_settings: Callable[..., Settings],
) -> None:
    clock = FrozenClock(T0)
    async with running_app(make_settings(), clock=clock) as (app, client):
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        sane = T0 - timedelta(minutes=3)
        await _post(app, client, payload([alert("Zero", fingerprint="1" * 16, starts_at=epoch)]))
        await _post(app, client, payload([alert("Fine", fingerprint="2" * 16, starts_at=sane)]))
        items = {i["title"]: i for i in (await client.get("/api/incidents")).json()["items"]}
        assert datetime.fromisoformat(items["Zero"]["started_at"]) == T0
        assert datetime.fromisoformat(items["Fine"]["started_at"]) == sane
        fine = (await client.get(f"/api/incidents/{items['Fine']['id']}/timeline")).json()
        assert not any(e["kind"] == "alert.time_clamped" for e in fine)
