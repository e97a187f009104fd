"""A person sets the severity or the commander through the API: the decision table decides."""

from __future__ import annotations

from collections.abc import Callable

from bot.app.settings import Settings
from bot.events import EventKind
from tests.automation.support import events
from tests.support import alert, payload, running_app, settle
from tests.web.support import COMMANDER, PEOPLE, RESPONDER


def as_(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_severity_and_commander_need_a_commander(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (app, client):
        body = payload([alert("DiskFull", fingerprint="3333333333333333")])
        assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
        await settle(app)
        [item] = (await client.get("/api/incidents", headers=as_(COMMANDER))).json()["items"]
        incident_id = int(item["id"])
        severity = f"/api/incidents/{incident_id}/severity"
        commander = f"/api/incidents/{incident_id}/commander"

        refused = await client.post(severity, headers=as_(RESPONDER), json={"severity": "SEV1"})
        assert refused.status_code == 403
        assert refused.json() == {"detail": "alice is a responder; change_severity needs commander"}
        bad = await client.post(severity, headers=as_(COMMANDER), json={"severity": "SEV9"})
        assert bad.status_code == 422

        done = await client.post(
            severity, headers=as_(COMMANDER), json={"severity": "SEV1", "actor": "mallory"}
        )
        assert done.status_code == 200, done.text
        assert done.json()["severity"] == "SEV1"
        led = await client.post(commander, headers=as_(COMMANDER), json={"user": "alice"})
        assert led.status_code == 200, led.text
        assert led.json()["commander"] == "alice"

        timeline = events(app, incident_id)
        [changed] = [
            e for e in timeline if e.kind == EventKind.SEVERITY_CHANGED and e.actor != "fireline"
        ]
        assert (changed.actor, changed.data["to"]) == ("carol", "SEV1")
        [assigned] = [e for e in timeline if e.kind == EventKind.COMMANDER_ASSIGNED]
        assert (assigned.actor, assigned.data) == ("carol", {"user": "alice"})
        refusals = [e for e in timeline if e.kind == EventKind.ACCESS_REFUSED]
        assert [e.actor for e in refusals] == ["alice"]
