"""Roles in Slack: buttons and commands refused privately, approvers given as user groups."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app.demo.run import demo_service
from bot.app.settings import Settings
from bot.events import EventKind
from tests.automation.support import events, kinds, post_alert, wait_for, web_down, write_runbook
from tests.slack.standin import (
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackStandIn,
    button_press,
    signed,
    slack_standin,
    slash,
)
from tests.support import running_app

PEOPLE: dict[str, Any] = {
    "directory": [
        {"id": "vic", "name": "Vic", "slack": "UVIEWER", "role": "viewer"},
        {"id": "rae", "name": "Rae", "slack": "URESP", "role": "responder"},
    ],
    "groups": [{"slack_group": "SONCALL", "role": "responder"}],
}


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with slack_standin() as s:
        yield s


@pytest.fixture
def slack_settings(
    make_settings: Callable[..., Settings], tmp_path: Path, standin: SlackStandIn
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": standin.url,
            "slack_channel": "CINC",
            "slack_major_severity": None,
            "http_allow": ["127.0.0.0/8"],
            "automation_tick": "100ms",
            "people": PEOPLE,
        }
        values.update(overrides)
        return make_settings(**values)

    return make


async def send(client: httpx.AsyncClient, body: str) -> httpx.Response:
    response = await client.post("/slack/events", content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    return response


async def test_a_button_press_without_the_role_is_refused_privately(
    slack_settings: Callable[..., Settings], standin: SlackStandIn
) -> None:
    standin.usergroups["SONCALL"] = ["UONCALL"]
    async with running_app(slack_settings()) as (app, client):
        await send(client, slash("declare SEV2 checkout is down", user="URESP"))
        await wait_for(lambda: standin.cards(), what="the card")

        await send(client, button_press("acknowledge", "1", user="UVIEWER"))
        await wait_for(lambda: standin.of("chat.postEphemeral"), what="the refusal")
        [refusal] = standin.of("chat.postEphemeral")
        assert refusal["user"] == "UVIEWER"
        assert "viewer; acknowledge needs responder" in refusal["text"]
        refused = [e for e in events(app, 1) if e.kind == EventKind.ACCESS_REFUSED]
        assert [(e.actor, e.data["action"]) for e in refused] == [("UVIEWER", "acknowledge")]
        assert EventKind.INCIDENT_ACKNOWLEDGED not in kinds(app, 1)

        # A stranger in the on-call user group is a responder; members are cached.
        await send(client, button_press("acknowledge", "1", user="UONCALL"))
        await wait_for(lambda: EventKind.INCIDENT_ACKNOWLEDGED in kinds(app, 1), what="ack")
        assert standin.of("usergroups.users.list") == [{"usergroup": "SONCALL"}]


async def test_a_slash_command_without_the_role_answers_why(
    slack_settings: Callable[..., Settings], standin: SlackStandIn
) -> None:
    async with running_app(slack_settings()) as (_app, client):
        response = await send(client, slash("pause deploy going wrong", user="UNOBODY"))
        assert "viewer; pause_automation needs responder" in response.text
        response = await send(client, slash("resume", user="URESP"))
        assert "responder; resume_automation needs commander" in response.text
        response = await send(client, slash("pause deploy going wrong", user="URESP"))
        assert "Automation paused" in response.text


async def test_an_approver_given_as_a_user_group_approves(
    slack_settings: Callable[..., Settings], standin: SlackStandIn, tmp_path: Path
) -> None:
    path = write_runbook(tmp_path / "runbooks", mode="approve")
    path.write_text(path.read_text().replace('["U-LEAD"]', '["SLEADS"]'))
    standin.usergroups["SLEADS"] = ["ULEAD2"]
    people = {**PEOPLE, "groups": [{"slack_group": "SLEADS", "role": "responder"}]}
    settings = slack_settings(runbook_dirs=[tmp_path / "runbooks"], people=people)
    with demo_service() as (url, demo):
        async with running_app(settings) as (app, client):
            await client.post("/api/runbooks/web-heal/promote", json={"by": "admin"})
            await post_alert(client, web_down(f"{url}/heal"))
            approval = await wait_for(
                lambda: next(
                    (m for m in standin.of("chat.postMessage") if ":raised_hand:" in m["text"]),
                    None,
                ),
                what="the approval request",
            )
            buttons = next(b for b in approval["blocks"] if b["type"] == "actions")["elements"]
            value = buttons[0]["value"]

            # A viewer may not approve at all; a responder outside the group is no approver.
            await send(client, button_press("approve", value, user="UVIEWER"))
            await wait_for(lambda: standin.of("chat.postEphemeral"), what="a refusal")
            await send(client, button_press("approve", value, user="URESP"))
            await wait_for(lambda: len(standin.of("chat.postEphemeral")) == 2, what="two")
            refusals = standin.of("chat.postEphemeral")
            assert "viewer; approve_step needs responder" in refusals[0]["text"]
            assert "not among this runbook's approvers" in refusals[1]["text"]
            refused = [e.data for e in events(app, 1) if e.kind == EventKind.ACCESS_REFUSED]
            assert refused == [{"action": "approve_step", "role": "viewer", "by": "UVIEWER"}]

            await send(client, button_press("approve", value, user="ULEAD2"))
            await wait_for(lambda: demo.heals == 1, what="the heal")
            approved = next(e for e in events(app) if e.kind == EventKind.STEP_APPROVED)
            assert approved.actor == "ULEAD2"
