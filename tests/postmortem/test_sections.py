"""The post-mortem's human sections through the real app: saved with their author, every
version kept, shown in the draft in place of the placeholder, refused to a viewer."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import FastAPI

from bot.app.settings import Settings
from tests.postmortem.script import T0, FrozenClock, at
from tests.support import alert, payload, running_app, settle
from tests.web.support import PEOPLE, RESPONDER, VIEWER


def as_(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _incident(app: FastAPI, client: httpx.AsyncClient) -> int:
    body = payload([alert("DiskFull", fingerprint="1111111111111111", starts_at=at(-1))])
    assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)
    items = (await client.get("/api/incidents", headers=as_(VIEWER))).json()["items"]
    return int(items[0]["id"])


async def test_a_section_is_saved_with_its_author_and_history(
    make_settings: Callable[..., Settings],
) -> None:
    clock = FrozenClock(T0)
    async with running_app(make_settings(people=PEOPLE), clock=clock) as (app, client):
        incident_id = await _incident(app, client)
        url = f"/api/incidents/{incident_id}/postmortem/sections"

        listed = (await client.get(url, headers=as_(VIEWER))).json()
        assert [s["section"] for s in listed] == [
            "summary",
            "impact",
            "went_well",
            "went_badly",
            "root_cause",
            "lessons",
        ]
        assert all(s["text"] is None and s["history"] == [] for s in listed)

        clock.at(10)
        first = await client.put(
            f"{url}/root_cause",
            headers=as_(RESPONDER),
            json={"text": "The log volume filled.\n\n# no heading <script>x</script>"},
        )
        assert first.status_code == 200, first.text
        assert (first.json()["author"], len(first.json()["history"])) == ("alice", 1)

        clock.at(20)
        second = await client.put(
            f"{url}/root_cause",
            headers=as_(RESPONDER),
            json={"text": "Log rotation was off.\n1. since the upgrade", "actor": "mallory"},
        )
        body = second.json()
        assert (body["text"], body["author"]) == (
            "Log rotation was off.\n1. since the upgrade",
            "alice",
        )
        assert [v["version"] for v in body["history"]] == [1, 2]
        assert body["history"][0]["text"].startswith("The log volume filled.")

        unchanged = await client.put(
            f"{url}/root_cause",
            headers=as_(RESPONDER),
            json={"text": "Log rotation was off.\n1. since the upgrade"},
        )
        assert len(unchanged.json()["history"]) == 2

        refused = await client.put(
            f"{url}/lessons", headers=as_(VIEWER), json={"text": "rotate logs"}
        )
        assert refused.status_code == 403
        assert refused.json() == {"detail": "bob is a viewer; edit_postmortem needs responder"}
        unknown = await client.put(f"{url}/gossip", headers=as_(RESPONDER), json={"text": "x"})
        assert unknown.status_code == 404
        missing = await client.put(
            "/api/incidents/999/postmortem/sections/lessons",
            headers=as_(RESPONDER),
            json={"text": "x"},
        )
        assert missing.status_code == 404

        timeline = (
            await client.get(f"/api/incidents/{incident_id}/timeline", headers=as_(VIEWER))
        ).json()
        saved = [e for e in timeline if e["kind"] == "postmortem.section_saved"]
        assert [(e["actor"], e["data"]) for e in saved] == [
            ("alice", {"section": "root_cause", "version": 1}),
            ("alice", {"section": "root_cause", "version": 2}),
        ]

        draft = (
            await client.get(f"/api/incidents/{incident_id}/postmortem", headers=as_(VIEWER))
        ).text
        root_cause = draft.split("## Root cause\n\n", 1)[1].split("\n## ", 1)[0]
        assert root_cause == (
            "Log rotation was off.\n1\\. since the upgrade\n\n"
            "*Written by alice, 2026-03-29 00:50:00 UTC.*\n"
        )
        assert "*(to write: what made this happen" not in draft
        assert "## Lessons\n\n*(to write)*" in draft

        data = (
            await client.get(
                f"/api/incidents/{incident_id}/postmortem",
                params={"format": "json"},
                headers=as_(VIEWER),
            )
        ).json()
        assert data["sections"]["root_cause"]["version"] == 2
        assert set(data["sections"]) == {"root_cause"}


async def test_person_text_stays_text_in_the_draft(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings()) as (app, client):
        incident_id = await _incident(app, client)
        url = f"/api/incidents/{incident_id}/postmortem/sections"
        text = "# Big\n- item <script>alert(1)</script> *bold*\n\n> quoted"
        saved = await client.put(f"{url}/went_well", json={"text": text, "actor": "carol"})
        assert saved.status_code == 200
        draft = (await client.get(f"/api/incidents/{incident_id}/postmortem")).text
        went_well = draft.split("## What went well\n\n", 1)[1].split("\n## ", 1)[0]
        assert "\\# Big\n\\- item \\<script\\>alert(1)\\</script\\> \\*bold\\*" in went_well
        assert "\\> quoted" in went_well
        assert "- *(to write)*" not in went_well

        emptied = await client.put(f"{url}/went_well", json={"text": "", "actor": "carol"})
        assert (emptied.json()["text"], len(emptied.json()["history"])) == (None, 2)
        draft = (await client.get(f"/api/incidents/{incident_id}/postmortem")).text
        assert "- *(to write)*" in draft.split("## What went well", 1)[1].split("\n## ", 1)[0]
