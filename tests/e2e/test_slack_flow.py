"""End to end with Slack: real Prometheus and Alertmanager drive Fireline, and the Slack
stand-in records what reached the channel; then the scenario where nobody acknowledges
and the remediation waits for a signed Approve press."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from typing import Any

import httpx
import pytest
from rich.console import Console

from bot.app.demo.run import Demo
from tests.automation.stack import binaries
from tests.slack.standin import (
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackStandIn,
    button_press,
    signed,
    slack_standin,
)

pytestmark = [pytest.mark.slow, pytest.mark.binaries]


def slack(standin: SlackStandIn, **more: Any) -> dict[str, Any]:
    return {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": standin.url,
        "slack_channel": "CINC",
        "slack_major_severity": None,
        **more,
    }


def first(texts: list[str], needle: str) -> int:
    return next(i for i, t in enumerate(texts) if needle in t)


async def test_the_card_its_updates_and_the_thread_arrive_in_order() -> None:
    binaries()
    with slack_standin() as standin:
        demo = Demo(Console(file=io.StringIO(), width=200), timeout=90, settings=slack(standin))
        result = await demo.run()
    assert result.resolved
    assert result.verification == "passed"
    # A page's direct message travels in its own lane and may come before the card.
    posts = [p for p in standin.of("chat.postMessage") if p.get("channel") == "CINC"]
    card, thread = posts[0], posts[1:]
    assert "thread_ts" not in card
    assert card["blocks"][0]["text"]["text"] == "#1 The demo service is down"
    card_ts = {p.get("thread_ts") for p in thread}
    assert len(card_ts) == 1
    texts = [p["text"] for p in thread]
    # The thread tells the story in the order it happened.
    # (Triage records the alert and the runbook it chose in one transaction.)
    assert first(texts, "DemoServiceDown firing") < first(
        texts, "Step heal (http.request) succeeded"
    )
    assert first(texts, "Runbook demo-service") < first(texts, "Step heal (http.request) succeeded")
    assert first(texts, "Step heal (http.request) succeeded") < first(texts, "Verification passed")
    assert first(texts, "DemoServiceDown resolved") < first(texts, "every alert in the incident")
    assert len(texts) == len(set(texts))  # nothing twice
    updates = standin.of("chat.update")
    assert updates
    assert {u["ts"] for u in updates} == card_ts
    assert ":white_check_mark: *resolved*" in str(updates[-1]["blocks"])
    assert "`heal` succeeded" in str(updates[-1]["blocks"])


async def until(check: Any, within: float = 60) -> Any:
    for _ in range(int(within * 10)):
        if value := check():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


ESCALATION = """
escalation:
  policies:
    - name: demo
      levels:
        - targets: [{user: ULEVEL01}]
          delay: 2s
        - targets: [{user: ULEVEL02}]
          delay: 2s
        - targets: [{user: ULEVEL03}]
          delay: 1h
"""


async def test_nobody_acknowledges_so_escalation_climbs_and_approval_comes_from_slack() -> None:
    binaries()
    pressed: list[datetime] = []
    tasks: list[asyncio.Task[None]] = []

    with slack_standin() as standin:

        async def approve_when_level_3_paged() -> None:
            async with httpx.AsyncClient(base_url=demo.base, timeout=10) as client:
                await until(
                    lambda: any(
                        e["kind"] == "escalation.notified" and e["data"].get("level") == 3
                        for e in demo.events
                    )
                )
                approval = await until(
                    lambda: next(
                        (p for p in standin.of("chat.postMessage") if ":raised_hand:" in p["text"]),
                        None,
                    )
                )
                buttons = next(b for b in approval["blocks"] if b["type"] == "actions")
                value = buttons["elements"][0]["value"]
                # First someone the runbook does not list, then the approver.
                for user in ("UBYSTANDER", "UAPPROVER"):
                    body = button_press("approve", value, user=user)
                    answer = await client.post("/slack/events", content=body, headers=signed(body))
                    assert answer.status_code == 200
                    pressed.append(datetime.now().astimezone())

        async def on_event(event: dict[str, Any]) -> None:
            if event["kind"] == "step.awaiting_approval":
                tasks.append(asyncio.create_task(approve_when_level_3_paged()))

        demo = Demo(
            Console(file=io.StringIO(), width=200),
            timeout=90,
            settings=slack(standin, automation_mode="approve", approvers=["UAPPROVER"]),
            escalation=ESCALATION,
            on_event=on_event,
        )
        result = await demo.run()
        await asyncio.gather(*tasks)

    assert result.resolved
    assert result.verification == "passed"
    notified = {
        e["data"]["level"]: datetime.fromisoformat(e["at"])
        for e in demo.events
        if e["kind"] == "escalation.notified"
    }
    assert set(notified) == {1, 2, 3}
    # Each level fires when its delay is up (a tick or two late at most).
    assert 1.5 <= (notified[2] - notified[1]).total_seconds() <= 4.0
    assert 1.5 <= (notified[3] - notified[2]).total_seconds() <= 4.0
    kinds = [e["kind"] for e in demo.events]
    assert "incident.acknowledged" not in kinds
    assert kinds.index("step.awaiting_approval") < kinds.index("step.approved")
    approved = next(e for e in demo.events if e["kind"] == "step.approved")
    assert approved["actor"] == "UAPPROVER"
    refused = [e for e in demo.events if e["kind"] == "approval.refused"]
    assert [e["actor"] for e in refused] == ["UBYSTANDER"]
    assert demo.demo_state.heals == 1
    # Each level's person got a direct message with Acknowledge.
    assert [c["users"] for c in standin.of("conversations.open")] == [
        "ULEVEL01",
        "ULEVEL02",
        "ULEVEL03",
    ]
    [ephemeral] = standin.of("chat.postEphemeral")
    assert ephemeral["user"] == "UBYSTANDER"
