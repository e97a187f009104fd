"""A notification's acknowledge link through the real app: looking changes nothing, the
button acts once as the person, with their role checked; expired, altered, spent and
moot links are refused with a page that says why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI

from bot.app.settings import Settings
from bot.people.links import LinkAction
from tests.escalation.support import FakeClock
from tests.notify.support import ALICE, bearer, write_config
from tests.support import alert, payload, running_app, settle


async def open_incident(app: FastAPI, client: httpx.AsyncClient) -> int:
    hostile = {"summary": "<b>disk</b> & co"}
    body = payload([alert(labels={"severity": "warning"}, annotations=hostile)])
    assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)
    (incident,) = (await client.get("/api/incidents", headers=bearer(ALICE))).json()["items"]
    return int(incident["id"])


async def status_of(client: httpx.AsyncClient, incident_id: int) -> str:
    answer = await client.get(f"/api/incidents/{incident_id}", headers=bearer(ALICE))
    return str(answer.json()["status"])


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


async def test_an_acknowledge_link_works_once_from_a_phone(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    config = write_config(tmp_path / "f.yml", methods=[])
    clock = FakeClock()
    settings = make_settings(
        config=config,
        migrate_on_start=True,
        runbook_dirs=[tmp_path],
        link_secret="link-secret-for-tests",
        public_url="http://fireline.test",
    )
    async with running_app(settings, clock=clock) as (app, client):
        incident_id = await open_incident(app, client)
        links = app.state.runtime.links
        link = path_of(links.link(incident_id, "alice", LinkAction.ACKNOWLEDGE))

        page = await client.get(link)  # what a mail scanner or a preview does
        assert page.status_code == 200
        assert "Acknowledge incident #" in page.text
        assert "as <strong>alice</strong>" in page.text
        assert f'action="{link}"' in page.text
        title = (await client.get(f"/api/incidents/{incident_id}", headers=bearer(ALICE))).json()
        assert "<b>disk</b>" in title["title"]
        assert "<b>disk</b>" not in page.text
        assert "&lt;b&gt;disk&lt;/b&gt; &amp; co" in page.text
        assert await status_of(client, incident_id) == "open"

        done = await client.post(link)  # no session, no CSRF token: the link is enough
        assert done.status_code == 200, done.text
        assert f"Acknowledged incident #{incident_id} as alice" in done.text
        assert await status_of(client, incident_id) == "acknowledged"
        events = (
            await client.get(f"/api/incidents/{incident_id}/timeline", headers=bearer(ALICE))
        ).json()
        (acked,) = [e for e in events if e["kind"] == "incident.acknowledged"]
        assert acked["actor"] == "alice"
        assert acked["data"]["via"] == "link"

        again = await client.post(link)
        assert again.status_code == 410
        assert "already used" in again.text
        assert (await client.get(link)).status_code == 410

        # A fresh link to an incident already acknowledged: nothing to do, said with whom.
        moot = path_of(links.link(incident_id, "alice", LinkAction.ACKNOWLEDGE))
        refused = await client.post(moot)
        assert refused.status_code == 409
        assert "already acknowledged by alice" in refused.text

        viewer = path_of(links.link(incident_id, "bob", LinkAction.RESOLVE))
        assert (await client.post(viewer)).status_code == 403
        assert await status_of(client, incident_id) == "acknowledged"

        resolve = path_of(links.link(incident_id, "alice", LinkAction.RESOLVE))
        assert (await client.post(resolve)).status_code == 200
        assert await status_of(client, incident_id) == "resolved"

        stranger = path_of(links.link(incident_id, "mallory", LinkAction.ACKNOWLEDGE))
        assert (await client.post(stranger)).status_code == 403

        tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
        assert (await client.post(tampered)).status_code == 410

        expiring = path_of(links.link(incident_id, "alice", LinkAction.ACKNOWLEDGE))
        clock.advance(hours=25)
        expired = await client.get(expiring)
        assert expired.status_code == 410
        assert "expired" in expired.text.lower()
