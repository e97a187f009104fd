"""The on-call page through the real app, signed in: who is on call, the hand-offs, an
override added and removed by a commander, refused to a viewer, the calendar links."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from bot.app.settings import Settings
from tests.support import running_app
from tests.web.support import COMMANDER, PEOPLE, VIEWER, csrf_of, sign_in

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
SCHEDULES: list[dict[str, Any]] = [
    {
        "name": "primary",
        "layers": [{"members": ["alice", "bob"], "length": "7d", "start": "2026-11-30"}],
    }
]


async def test_overrides_on_the_page(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        people=PEOPLE, schedules=SCHEDULES, calendar_secret=SecretStr("s3cret")
    )
    async with running_app(settings, clock=lambda: NOW) as (_app, client):
        await sign_in(client, COMMANDER)
        page = await client.get("/oncall")
        assert page.status_code == 200, page.text
        assert "Now: <strong>alice</strong>" in page.text
        assert "2026-12-07 09:00:00 UTC" in page.text
        added = await client.post(
            "/oncall/primary/overrides",
            data={
                "csrf": csrf_of(page.text),
                "user": "<i>dee</i>",
                "start": "2026-12-06T09:00Z",
                "end": "2026-12-06T18:00Z",
            },
        )
        assert added.status_code == 303
        page = await client.get("/oncall")
        assert "Override for &lt;i&gt;dee&lt;/i&gt; added" in page.text
        [remove] = re.findall(r'action="(/oncall/primary/overrides/\d+/remove)"', page.text)
        feed = re.search(r'href="(/calendar/schedules/primary\.ics\?key=[0-9a-f]+)"', page.text)
        assert feed is not None
        ics = await client.get(feed.group(1))
        assert ics.status_code == 200
        assert "&lt;i&gt;dee" not in ics.text
        assert "<i>dee</i>" in ics.text
        bad = await client.post(
            "/oncall/primary/overrides",
            data={"csrf": csrf_of(page.text), "user": "x", "start": "tuesday", "end": "x"},
        )
        assert bad.status_code == 303
        assert "start:" in (await client.get("/oncall")).text

        await client.post("/logout", data={"csrf": csrf_of(page.text)})
        await sign_in(client, VIEWER)
        page = await client.get("/oncall")
        assert "Add override" not in page.text
        refused = await client.post(remove, data={"csrf": csrf_of(page.text)})
        assert refused.status_code == 303
        page = await client.get("/oncall")
        assert "bob is a viewer; edit_schedules needs commander" in page.text
        assert "&lt;i&gt;dee&lt;/i&gt;" in page.text

        await client.post("/logout", data={"csrf": csrf_of(page.text)})
        await sign_in(client, COMMANDER)
        page = await client.get("/oncall")
        assert (await client.post(remove, data={"csrf": csrf_of(page.text)})).status_code == 303
        page = await client.get("/oncall")
        assert "removed" in page.text
        assert "None stored." in page.text
