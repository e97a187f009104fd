"""A resolved incident whose runbook did not do its job leaves a follow-up for the
runbook's owners, once; one whose runbook worked leaves none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bot.app.settings import Settings
from bot.postmortem.decide import RunbookOutcome, runbook_followup
from tests.automation.support import wait_for
from tests.support import alert, payload, running_app, settle


def test_the_followup_names_what_the_runbook_did_not_do() -> None:
    none = RunbookOutcome(None, "DiskFull", step_failed=False, verification_failed=False)
    assert runbook_followup(none, []) == (
        "Write a runbook for DiskFull: no runbook matched this incident"
    )
    failed = RunbookOutcome("disk", "DiskFull", step_failed=True, verification_failed=True)
    assert runbook_followup(failed, ["@storage"]) == (
        "Update runbook disk: a step failed in this incident (owners: @storage)"
    )
    unverified = RunbookOutcome("disk", "DiskFull", step_failed=False, verification_failed=True)
    assert runbook_followup(unverified, []) == "Update runbook disk: its verification failed"
    fine = RunbookOutcome("disk", "DiskFull", step_failed=False, verification_failed=False)
    assert runbook_followup(fine, ["@storage"]) is None


def open_followups(app: Any) -> list[Any]:
    from bot.postmortem.followups import list_followups

    return list_followups(app.state.runtime.db, status="open")


async def resolve_once(app: Any, client: httpx.AsyncClient, fingerprint: str) -> int:
    body = payload(
        [alert("DiskFull", fingerprint=fingerprint, labels={"severity": "warning"})],
        group_labels={"alertname": "DiskFull", "fp": fingerprint},
    )
    assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)
    items = (await client.get("/api/incidents")).json()["items"]
    incident_id = int(max(i["id"] for i in items))
    resolved = await client.post(f"/api/incidents/{incident_id}/resolve", json={})
    assert resolved.status_code == 200, resolved.text
    return incident_id


async def test_no_runbook_matched_leaves_one_followup(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with running_app(make_settings(runbook_dirs=[tmp_path])) as (app, client):
        first = await resolve_once(app, client, "d15c000000000001")
        [item] = await wait_for(lambda: open_followups(app), what="the runbook follow-up")
        assert (item.incident_id, item.created_by, item.owner) == (first, "fireline", None)
        assert item.text == "Write a runbook for DiskFull: no runbook matched this incident"
        assert item.due_at is not None
        timeline = (await client.get(f"/api/incidents/{first}/timeline")).json()
        assert "followup.added" in [e["kind"] for e in timeline]
        # Another incident gets its own; the first keeps exactly one.
        second = await resolve_once(app, client, "d15c000000000002")
        found = await wait_for(
            lambda: len(open_followups(app)) == 2 and open_followups(app),
            what="the second follow-up",
        )
        assert sorted(f.incident_id for f in found) == [first, second]


async def test_a_failed_step_leaves_the_runbook_owners_a_followup(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    from tests.automation.support import kinds, web_down, write_runbook
    from tests.escalation.httpserver import http_server

    runbooks = tmp_path / "runbooks"
    write_runbook(runbooks)
    with http_server([500] * 10) as broken:
        settings = make_settings(
            runbook_dirs=[runbooks], http_allow=["127.0.0.0/8"], automation_tick="100ms"
        )
        async with running_app(settings) as (app, client):
            await client.post("/api/runbooks/web-heal/promote", json={"by": "U-LEAD"})
            assert (
                await client.post("/webhooks/alertmanager", json=web_down(f"{broken.url}/heal"))
            ).status_code == 200
            await wait_for(lambda: "step.failed" in kinds(app, 1), what="the failed heal")
            assert (await client.post("/api/incidents/1/resolve", json={})).status_code == 200
            [item] = await wait_for(lambda: open_followups(app), what="the follow-up")
            assert item.text == (
                "Update runbook web-heal: a step failed in this incident (owners: @web)"
            )
            assert item.owner == "@web"
