"""The post-mortem draft of a scripted incident, compared with a file kept in the repo.

Set FIRELINE_UPDATE_GOLDEN=1 to rewrite the file after a deliberate change.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.app.settings import Settings
from tests.postmortem.script import T0, FrozenClock, at, scripted_incident
from tests.support import running_app

GOLDEN = Path(__file__).with_name("golden") / "scripted_incident.md"


async def test_draft_matches_the_golden_file(make_settings: Callable[..., Settings]) -> None:
    clock = FrozenClock(T0)
    settings = make_settings(display_timezone="Europe/Paris")
    async with running_app(settings, clock=clock) as (app, client):
        incident_id = await scripted_incident(app, client, clock)
        response = await client.post(
            f"/api/incidents/{incident_id}/followups",
            json={
                "text": "Add a canary stage to checkout deploys",
                "actor": "alice",
                "owner": "team-checkout",
            },
        )
        assert response.status_code == 201
        clock.at(50)
        done = await client.post(
            f"/api/incidents/{incident_id}/followups",
            json={"text": "Page level 2 sooner at night", "actor": "bob"},
        )
        assert (
            await client.post(f"/api/followups/{done.json()['id']}/done", json={"actor": "bob"})
        ).status_code == 200
        clock.at(60)
        response = await client.get(f"/api/incidents/{incident_id}/postmortem")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    if os.environ.get("FIRELINE_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(response.text)
    assert response.text == GOLDEN.read_text()


async def test_json_carries_the_key_times(make_settings: Callable[..., Settings]) -> None:
    clock = FrozenClock(T0)
    async with running_app(make_settings(), clock=clock) as (app, client):
        incident_id = await scripted_incident(app, client, clock)
        data = (await client.get(f"/api/incidents/{incident_id}/postmortem?format=json")).json()
    times = {
        k: datetime.fromisoformat(v) if isinstance(v, str) and v[:1].isdigit() else v
        for k, v in data["key_times"].items()
    }
    assert times["impact_start"] == at(-4)
    assert times["detected"] == at(0)
    assert times["acknowledged"] == at(9)
    assert times["acknowledged_by"] == "bob"
    assert times["mitigated"] == at(7)
    assert times["resolved"] == at(43)
    assert times["time_to_detect"] == 240
    assert times["time_to_acknowledge"] == 540
    assert times["time_to_mitigate"] == 660
    assert times["time_to_resolve"] == 47 * 60
    assert data["escalations_before_ack"] == 2
    assert (
        "Escalated twice before acknowledgement (acknowledged 9m after detection)."
        in (data["went_badly"])
    )
    undo = next(s for s in data["automation"]["steps"] if s["step_id"] == "undo")
    assert undo["approved_by"] == "carol"
    assert undo["verification"] == "passed"
    assert undo["params"] == {"namespace": "shop", "deployment": "checkout-api"}


async def test_unknown_incident_is_404(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings()) as (_app, client):
        assert (await client.get("/api/incidents/999/postmortem")).status_code == 404
        assert (await client.get("/api/incidents/999/postmortem?format=json")).status_code == 404
