"""Slack through its HTTP boundary: signed requests into the bolt app, Web API calls
recorded by a local stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from tests.automation.support import (
    demo_service,
    kinds,
    post_alert,
    wait_for,
    web_down,
    write_runbook,
)
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


@pytest.fixture
def standin():
    with slack_standin() as s:
        yield s


@pytest.fixture
def slack_settings(make_settings, tmp_path, standin):
    def make(**overrides: Any):
        runbook = overrides.pop("runbook", None)
        values: dict[str, Any] = {
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": standin.url,
            "slack_channel": "CINC",
            "slack_major_severity": None,
            "http_allow": ["127.0.0.0/8"],
            "automation_tick": "100ms",
        }
        if runbook is not None:
            write_runbook(tmp_path / "runbooks", **runbook)
            values["runbook_dirs"] = [tmp_path / "runbooks"]
        values.update(overrides)
        return make_settings(**values)

    return make


async def send(client, body: str, **kwargs: Any):
    return await client.post("/slack/events", content=body, headers=signed(body, **kwargs))


def posted(standin: SlackStandIn, channel: str | None = None) -> list[dict[str, Any]]:
    return [m for m in standin.of("chat.postMessage") if channel is None or m["channel"] == channel]


def texts(standin: SlackStandIn) -> list[str]:
    return [m["text"] for m in posted(standin)]


async def test_the_card_its_thread_and_an_approval(slack_settings, standin):
    with demo_service() as (url, demo):
        settings = slack_settings(runbook={"mode": "approve"})
        async with running_app(settings) as (app, client):
            await client.post("/api/runbooks/web-heal/promote", json={"by": "U-LEAD"})
            await post_alert(client, web_down(f"{url}/heal"))
            await wait_for(
                lambda: any(":raised_hand:" in t for t in texts(standin)), what="approval"
            )
            card, *thread = posted(standin)
            assert card["channel"] == "CINC"
            assert "thread_ts" not in card
            assert card["blocks"][0]["text"]["text"] == "#1 web is down"
            actions = next(b for b in card["blocks"] if b["type"] == "actions")
            assert [e["action_id"] for e in actions["elements"]] == [
                "acknowledge",
                "escalate",
                "resolve",
            ]
            card_ts = "1700000000.000001"
            assert all(m["thread_ts"] == card_ts for m in thread)
            approval = next(m for m in thread if ":raised_hand:" in m["text"])
            buttons = next(b for b in approval["blocks"] if b["type"] == "actions")["elements"]
            assert [b["action_id"] for b in buttons] == ["approve", "reject"]
            value = buttons[0]["value"]
            assert "url: http" in approval["blocks"][1]["text"]["text"]

            # Someone who is not an approver is told so, privately; nothing runs.
            response = await send(client, button_press("approve", value, user="U-STRANGER"))
            assert response.status_code == 200
            await wait_for(lambda: standin.of("chat.postEphemeral"), what="the refusal")
            [refusal] = standin.of("chat.postEphemeral")
            assert refusal["user"] == "U-STRANGER"
            assert "not among this runbook's approvers" in refusal["text"]
            assert demo.heals == 0

            response = await send(client, button_press("approve", value, user="U-LEAD"))
            assert response.status_code == 200
            await wait_for(lambda: demo.heals == 1, what="the heal")
            await wait_for(
                lambda: any("Step heal (http.request) succeeded" in t for t in texts(standin)),
                what="the step's result in the thread",
            )
            await wait_for(
                lambda: any(
                    "`heal` succeeded" in str(u["blocks"]) for u in standin.of("chat.update")
                ),
                what="the card showing the step",
            )

            response = await send(client, button_press("acknowledge", "1", user="UONCALL1"))
            assert response.status_code == 200
            await wait_for(lambda: "incident.acknowledged" in kinds(app, 1), what="the ack")
            await wait_for(
                lambda: "acknowledged* by <@UONCALL1>" in str(standin.of("chat.update")[-1]),
                what="the card updated in place",
            )
            last = standin.of("chat.update")[-1]
            assert last["ts"] == card_ts
            assert "acknowledge" not in str(
                next(b for b in last["blocks"] if b["type"] == "actions")
            )


async def test_requests_slack_did_not_sign_are_rejected(slack_settings, standin):
    async with running_app(slack_settings()) as (app, client):
        body = slash("help", user="U1")
        unsigned = await client.post(
            "/slack/events",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert unsigned.status_code == 401
        wrong = await send(client, body, secret="not-the-secret")
        assert wrong.status_code == 401
        stale = await send(client, body, at=int(__import__("time").time()) - 6 * 60)
        assert stale.status_code == 401
        fine = await send(client, body)
        assert fine.status_code == 200
        assert "declare <title>" in fine.text
