"""The commander is the incident's column, set with its timeline event, and shown by the API."""

from __future__ import annotations

from collections.abc import Callable

from bot.app.settings import Settings
from bot.escalation.service import commander_of
from bot.incidents import service as incidents
from storage import queries
from tests.support import running_app

API = {"Authorization": "Bearer api-token"}


async def test_the_latest_assigned_commander_is_stored_read_and_shown(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(api_token="api-token")) as (app, client):
        db = app.state.runtime.db
        incident = incidents.declare(
            db, title="Queue stuck", severity="SEV2", actor="U1", hooks=None
        )
        assert incident.id is not None
        before = (await client.get(f"/api/incidents/{incident.id}", headers=API)).json()
        assert before["commander"] is None

        incidents.assign_commander(db, incident.id, user="UALICE", actor="U1")
        incidents.assign_commander(db, incident.id, user="UBOB", actor="U1")

        with db.session() as session:
            assert commander_of(session, incident.id) == "UBOB"
            events = queries.events_of_kind(session, incident.id, "commander.assigned")
            assert [e.data["user"] for e in events] == ["UALICE", "UBOB"]
        shown = (await client.get(f"/api/incidents/{incident.id}", headers=API)).json()
        assert shown["commander"] == "UBOB"
        listed = (await client.get("/api/incidents", headers=API)).json()["items"]
        assert [i["commander"] for i in listed] == ["UBOB"]
