"""``/fireline maintenance`` through Slack's signed HTTP boundary."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from bot.app.settings import Settings
from tests.slack.standin import BOT_TOKEN, SIGNING_SECRET, signed, slack_standin, slash
from tests.support import running_app


async def send(client: httpx.AsyncClient, text: str) -> httpx.Response:
    body = slash(text, user="UOPS0001")
    return await client.post("/slack/events", content=body, headers=signed(body))


async def test_start_and_end_a_window_from_slack(make_settings: Callable[..., Settings]) -> None:
    with slack_standin() as standin:
        settings = make_settings(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=standin.url,
            slack_channel="CINC",
        )
        async with running_app(settings) as (_app, client):
            started = await send(client, 'maintenance 2h team="db" env=prod <b>upgrade</b> & co')
            assert started.status_code == 200
            assert started.text.startswith("Maintenance window 1 until ")
            assert 'team="db", env="prod" (&lt;b&gt;upgrade&lt;/b&gt; &amp; co)' in started.text
            (window,) = (await client.get("/api/maintenance")).json()
            assert (window["created_by"], window["reason"]) == ("UOPS0001", "<b>upgrade</b> & co")

            bad = await send(client, "maintenance 2h team~db upgrade")
            assert "no matcher" in bad.text
            backwards = await send(client, 'maintenance soon team="db" upgrade')
            assert "not a duration" in backwards.text

            ended = await send(client, "maintenance end 1")
            assert ended.text == "Maintenance window 1 ended; what it held is re-evaluated."
            assert (await client.get("/api/maintenance")).json() == []
            again = await send(client, "maintenance end #1")  # a new request, not a replay
            assert "already over" in again.text
