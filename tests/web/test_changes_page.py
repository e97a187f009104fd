"""The changes page through the real app, signed in: changes newest first with the
incidents they were attached to, filtered by service, hostile text shown as text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app.settings import Settings
from tests.support import alert, payload, running_app, settle
from tests.web.support import COMMANDER, PEOPLE, VIEWER, sign_in

STARTS = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


async def test_changes_are_listed_with_their_incidents(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(people=PEOPLE, runbook_dirs=[tmp_path])
    async with running_app(settings) as (app, client):
        bearer = {"Authorization": f"Bearer {COMMANDER}"}
        for service, version, minutes in (
            ("checkout", "v1.4.2", 12),
            ("search", "<script>alert(1)</script>", 30),
        ):
            body = {
                "service": service,
                "version": version,
                "summary": "bump",
                "link": "https://ci.example/runs/7",
                "at": (STARTS - timedelta(minutes=minutes)).isoformat(),
            }
            answer = await client.post("/api/changes", json=body, headers=bearer)
            assert answer.status_code == 201, answer.text
        hook = payload([alert(starts_at=STARTS, labels={"service": "checkout"})])
        assert (await client.post("/webhooks/alertmanager", json=hook)).status_code == 200
        await settle(app)

        await sign_in(client, VIEWER)
        page = await client.get("/changes")
        assert page.status_code == 200, page.text
        html = page.text
        assert html.index("v1.4.2") < html.index("&lt;script&gt;")
        assert "<script>alert(1)</script>" not in html
        assert '<a href="/incidents/1">#1</a>' in html
        assert '<a href="https://ci.example/runs/7" rel="noopener noreferrer">bump</a>' in html
        only = (await client.get("/changes", params={"service": "search"})).text
        assert "v1.4.2" not in only
        assert "&lt;script&gt;" in only
        assert 'href="/changes"' in html  # in the navigation
