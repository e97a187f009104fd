"""``/fireline status [#id] <phase> <text>`` through Slack's signed request path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bot.app.settings import Settings
from bot.events import EventKind
from tests.automation.support import events
from tests.slack.standin import (
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackStandIn,
    signed,
    slack_standin,
    slash,
)
from tests.support import running_app

PEOPLE: dict[str, Any] = {
    "directory": [
        {"id": "carol", "slack": "UCAROL", "role": "commander"},
        {"id": "alice", "slack": "UALICE", "role": "responder"},
    ],
}
STATUS: dict[str, Any] = {"components": [{"name": "Checkout", "services": ["checkout"]}]}


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with slack_standin() as s:
        yield s


async def send(client: httpx.AsyncClient, body: str) -> httpx.Response:
    return await client.post("/slack/events", content=body, headers=signed(body))


async def test_the_commander_posts_a_public_update_from_slack(
    make_settings: Callable[..., Settings], standin: SlackStandIn
) -> None:
    settings = make_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=standin.url,
        slack_channel="CINC",
        slack_major_severity=None,
        people=PEOPLE,
        status=STATUS,
    )
    async with running_app(settings) as (app, client):
        declared = await send(client, slash("declare Checkout is slow sev2", user="UCAROL"))
        assert declared.text == "Declared incident #1: Checkout is slow"

        refused = await send(client, slash("status #1 identified A bad deploy", user="UALICE"))
        assert refused.text.startswith("Not done: UALICE is a responder; post_status needs")
        shown = await send(client, slash("status #1", user="UALICE"))
        assert "#1 [SEV2] Checkout is slow: open" in shown.text

        text = "Identified a bad deploy <b>rolling back</b>"
        posted = await send(client, slash(f"status #1 identified {text}", user="UCAROL"))
        assert posted.text == "Posted to the status page for #1 (identified)."
        [row] = [e for e in events(app, 1) if e.kind == EventKind.STATUS_UPDATE_POSTED]
        assert (row.actor, row.data["phase"]) == ("UCAROL", "identified")

        feed = (await client.get("/status.json")).json()
        [incident] = feed["incidents"]
        assert [(u["phase"], u["text"]) for u in incident["updates"]] == [("identified", text)]
        html = (await client.get("/status")).text
        assert "&lt;b&gt;rolling back&lt;/b&gt;" in html
