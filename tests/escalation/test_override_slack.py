"""``/fireline override list|add|remove`` through Slack's signed HTTP boundary, with the
same role checks as the API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from bot.app.settings import Settings
from tests.slack.standin import BOT_TOKEN, SIGNING_SECRET, signed, slack_standin, slash
from tests.support import running_app

CONFIG = """\
schedules:
  - name: primary
    layers:
      - members: [U1]
        length: daily
        start: 2020-01-01
people:
  directory:
    - {id: carol, slack: UCAROL, role: commander}
    - {id: bob, slack: UBOB, role: viewer}
"""


async def send(client: httpx.AsyncClient, text: str, user: str) -> httpx.Response:
    body = slash(text, user=user)
    return await client.post("/slack/events", content=body, headers=signed(body))


async def test_overrides_from_slack(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    config = tmp_path / "fireline.yml"
    config.write_text(CONFIG)
    with slack_standin() as standin:
        settings = make_settings(
            config=config,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=standin.url,
            slack_channel="CINC",
        )
        async with running_app(settings) as (_app, client):
            refused = await send(client, "override add primary <@UBOB> 4h", "UBOB")
            assert "Not done" in refused.text
            added = await send(client, "override add primary <@UBOB|bob> 4h", "UCAROL")
            assert added.text.startswith("Override #1: <@UBOB> on call in primary until ")
            listed = await send(client, "override list primary", "UBOB")  # viewers may look
            assert listed.text.startswith("#1 <@UBOB> ")
            assert "(by UCAROL)" in listed.text
            removed = await send(client, "override remove #1", "UCAROL")
            assert removed.text == "Override #1 removed (<@UBOB> in primary)."
            empty = await send(client, "override list primary", "UCAROL")
            assert empty.text == "No overrides of primary to come."
            confused = await send(client, "override swap it", "UCAROL")
            assert "try `override list <schedule>`" in confused.text
