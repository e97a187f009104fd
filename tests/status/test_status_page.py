"""The public status page through the real app, on SQLite and PostgreSQL: state from open
incidents, public updates only, HTML, JSON and Atom, and who may write an update."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
from fastapi import FastAPI

from bot.app.settings import Settings
from bot.events import EventKind
from tests.automation.support import events
from tests.support import alert, payload, running_app, settle

ATOM = "{http://www.w3.org/2005/Atom}"
T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
MARKER = "INTERNAL-7f3a"
STATUS: dict[str, Any] = {
    "title": "Acme status",
    "components": [
        {"name": "Checkout", "description": "Paying for orders", "services": ["checkout"]},
        {"name": "Search", "services": ["search"]},
    ],
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def fire(
    app: FastAPI,
    client: httpx.AsyncClient,
    *,
    severity: str,
    fingerprint: str = "aaaaaaaaaaaaaaaa",
    service: str = "checkout",
) -> int:
    """An alert whose labels, annotations and summary all carry the marker."""
    body = payload(
        [
            alert(
                "CheckoutErrors",
                fingerprint=fingerprint,
                starts_at=T0 - timedelta(minutes=2),
                labels={"severity": severity, "service": service, "team": MARKER},
                annotations={
                    "summary": f"{MARKER} <script>alert(1)</script> errors",
                    "description": f"{MARKER} internal detail",
                },
            )
        ]
    )
    assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)
    items = (await client.get("/api/incidents")).json()["items"]
    return max(int(item["id"]) for item in items)


def parse_atom(body: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(body)  # noqa: S314 - our own feed, under test


def component_states(page: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["state"] for c in page["components"]}


async def public(client: httpx.AsyncClient) -> tuple[str, dict[str, Any], bytes]:
    html = await client.get("/status")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in html.headers["content-security-policy"]
    assert 'href="/static/status.css"' in html.text
    assert (await client.get("/static/status.css")).status_code == 200
    feed = await client.get("/status.json")
    atom = await client.get("/status.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    return html.text, feed.json(), atom.content


async def test_a_component_follows_its_incident_and_only_public_text_shows(
    make_settings: Callable[..., Settings],
) -> None:
    clock = Clock(T0)
    async with running_app(make_settings(status=STATUS), clock=clock) as (app, client):
        incident_id = await fire(app, client, severity="error")
        html, feed, _ = await public(client)
        assert component_states(feed) == {"Checkout": "degraded", "Search": "operational"}
        assert feed["status"] == "degraded"
        assert 'data-state="degraded"' in html
        [listed] = feed["incidents"]
        assert (listed["id"], listed["heading"], listed["updates"]) == (
            incident_id,
            "Incident affecting Checkout",
            [],
        )

        clock.now = T0 + timedelta(minutes=5)
        text = "Payments fail for some cards.\n<script>alert('x')</script> We are on it."
        posted = await client.post(
            f"/api/incidents/{incident_id}/status",
            json={"phase": "identified", "text": text, "components": ["Checkout"], "actor": "cm"},
        )
        assert posted.status_code == 201, posted.text
        assert (posted.json()["author"], posted.json()["phase"]) == ("cm", "identified")

        html, feed, atom = await public(client)
        assert "<script>alert('x')</script>" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; We are on it." in html
        [listed] = feed["incidents"]
        assert [(u["phase"], u["text"]) for u in listed["updates"]] == [("identified", text)]
        assert "author" not in listed["updates"][0]  # who wrote it stays internal
        root = parse_atom(atom)
        assert root.tag == f"{ATOM}feed"
        [entry] = root.findall(f"{ATOM}entry")
        assert entry.findtext(f"{ATOM}content") == text
        assert entry.findtext(f"{ATOM}title") == "Incident affecting Checkout: Identified"
        assert entry.findtext(f"{ATOM}updated") == "2026-12-05T12:05:00Z"
        entry_id = entry.findtext(f"{ATOM}id")
        for body in (html, str(feed), atom.decode()):
            assert MARKER not in body
            assert "CheckoutErrors" not in body

        timeline = (await client.get(f"/api/incidents/{incident_id}/timeline")).json()
        [row] = [e for e in timeline if e["kind"] == EventKind.STATUS_UPDATE_POSTED]
        assert (row["actor"], row["data"]["phase"], row["data"]["components"]) == (
            "cm",
            "identified",
            ["Checkout"],
        )

        clock.now = T0 + timedelta(minutes=20)
        resolved = await client.post(f"/api/incidents/{incident_id}/resolve", json={})
        assert resolved.status_code == 200, resolved.text
        html, feed, atom = await public(client)
        assert component_states(feed) == {"Checkout": "operational", "Search": "operational"}
        assert feed["incidents"] == []
        assert 'data-state="degraded"' not in html
        [checkout, _] = feed["components"]
        assert len(checkout["history"]) == 90
        assert checkout["history"][-1] == {"date": "2026-12-05", "state": "degraded"}
        assert {d["state"] for d in checkout["history"][:-1]} == {"operational"}
        assert html.count('class="day state-') == 2 * 90
        [entry] = parse_atom(atom).findall(f"{ATOM}entry")
        assert entry.findtext(f"{ATOM}id") == entry_id

        listed_api = (await client.get("/api/status/updates")).json()
        assert [(u["incident_id"], u["author"]) for u in listed_api] == [(incident_id, "cm")]


async def test_below_the_threshold_the_component_stays_operational(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(status=STATUS), clock=Clock(T0)) as (app, client):
        await fire(app, client, severity="warning")
        _, feed, _ = await public(client)
        assert component_states(feed) == {"Checkout": "operational", "Search": "operational"}
        assert (feed["status"], feed["incidents"]) == ("operational", [])


async def test_titles_show_only_when_configured(make_settings: Callable[..., Settings]) -> None:
    shown = {**STATUS, "show_titles": True}
    async with running_app(make_settings(status=shown), clock=Clock(T0)) as (app, client):
        await fire(app, client, severity="critical")
        html, feed, _ = await public(client)
        assert component_states(feed)["Checkout"] == "major_outage"
        title = f"{MARKER} &lt;script&gt;alert(1)&lt;/script&gt; errors"
        assert f"<h2>{title}</h2>" in html
        assert "internal detail" not in html


async def test_updates_are_refused_what_does_not_fit(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(status=STATUS), clock=Clock(T0)) as (app, client):
        incident_id = await fire(app, client, severity="error")
        route = f"/api/incidents/{incident_id}/status"
        wrong: list[tuple[dict[str, Any], int]] = [
            ({"phase": "panicking", "text": "x"}, 422),
            ({"phase": "monitoring", "text": ""}, 422),
            ({"phase": "monitoring", "text": "   "}, 422),
            ({"phase": "monitoring", "text": "x", "components": ["Billing"]}, 422),
        ]
        for body, status in wrong:
            answer = await client.post(route, json=body)
            assert answer.status_code == status, (body, answer.text)
        missing = await client.post("/api/incidents/999/status", json={"phase": "monitoring"})
        assert missing.status_code == 422
        gone = await client.post(
            "/api/incidents/999/status", json={"phase": "monitoring", "text": "x"}
        )
        assert gone.status_code == 404
        assert (await client.get("/api/status/updates")).json() == []


COMMANDER, RESPONDER = "token-of-carol", "token-of-alice"
PEOPLE: dict[str, Any] = {
    "directory": [{"id": "alice"}, {"id": "carol"}],
    "tokens": [
        {
            "name": "alice-laptop",
            "sha256": hashlib.sha256(RESPONDER.encode()).hexdigest(),
            "person": "alice",
            "role": "responder",
        },
        {
            "name": "carol-laptop",
            "sha256": hashlib.sha256(COMMANDER.encode()).hexdigest(),
            "person": "carol",
            "role": "commander",
        },
    ],
}


async def test_the_commander_communicates(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(status=STATUS, people=PEOPLE)
    async with running_app(settings, clock=Clock(T0)) as (app, client):
        body = payload([alert("DiskFull", labels={"severity": "error", "service": "search"})])
        assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
        await settle(app)
        items = await client.get("/api/incidents", headers={"authorization": f"Bearer {RESPONDER}"})
        incident_id = items.json()["items"][0]["id"]
        route = f"/api/incidents/{incident_id}/status"
        update = {"phase": "investigating", "text": "Searches are slow.", "actor": "mallory"}

        assert (await client.post(route, json=update)).status_code == 401
        refused = await client.post(
            route, json=update, headers={"authorization": f"Bearer {RESPONDER}"}
        )
        assert refused.status_code == 403
        assert refused.json() == {"detail": "alice is a responder; post_status needs commander"}
        assert [
            e.actor for e in events(app, incident_id) if e.kind == EventKind.ACCESS_REFUSED
        ] == ["alice"]
        _, feed, _ = await public(client)
        assert feed["incidents"][0]["updates"] == []

        done = await client.post(
            route, json=update, headers={"authorization": f"Bearer {COMMANDER}"}
        )
        assert (done.status_code, done.json()["author"]) == (201, "carol")
        _, feed, _ = await public(client)
        assert [u["text"] for u in feed["incidents"][0]["updates"]] == ["Searches are slow."]
