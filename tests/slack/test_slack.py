"""Slack through its HTTP boundary: signed requests into the bolt app, Web API calls
recorded by a local stand-in."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app.demo.run import demo_service
from bot.app.settings import Settings
from bot.chat import service as chat_service
from tests.automation.support import (
    events,
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
    interaction,
    signed,
    slack_standin,
    slash,
)
from tests.support import alert, payload, running_app


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with slack_standin() as s:
        yield s


@pytest.fixture
def slack_settings(
    make_settings: Callable[..., Settings], tmp_path: Path, standin: SlackStandIn
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
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


async def send(client: httpx.AsyncClient, body: str, **kwargs: Any) -> httpx.Response:
    return await client.post("/slack/events", content=body, headers=signed(body, **kwargs))


def posted(standin: SlackStandIn, channel: str | None = None) -> list[dict[str, Any]]:
    return [m for m in standin.of("chat.postMessage") if channel is None or m["channel"] == channel]


def texts(standin: SlackStandIn) -> list[str]:
    return [m["text"] for m in posted(standin)]


async def test_the_card_its_thread_and_an_approval(
    slack_settings: Callable[..., Settings], standin: SlackStandIn
) -> None:
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
            card_ts = standin.cards()[0]["ts"]
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


async def test_requests_slack_did_not_sign_are_rejected(
    slack_settings: Callable[..., Settings], standin: SlackStandIn
) -> None:
    async with running_app(slack_settings()) as (_, client):
        body = slash("help", user="U1")
        unsigned = await client.post(
            "/slack/events",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert unsigned.status_code == 401
        wrong = await send(client, body, secret="not-the-secret")
        assert wrong.status_code == 401
        stale = await send(client, body, at=int(time.time()) - 6 * 60)
        assert stale.status_code == 401
        fine = await send(client, body)
        assert fine.status_code == 200
        assert "declare <title>" in fine.text


async def test_the_slash_command_drives_an_incident(
    slack_settings: Callable[..., Settings], standin: SlackStandIn
) -> None:
    async with running_app(slack_settings()) as (app, client):
        declared = await send(client, slash("declare Checkout is slow sev2", user="UIC0001"))
        assert declared.status_code == 200
        assert declared.text == "Declared incident #1: Checkout is slow"
        await wait_for(lambda: posted(standin, "CINC"), what="the card")
        assert posted(standin, "CINC")[0]["blocks"][0]["text"]["text"] == "#1 Checkout is slow"

        outside = await send(client, slash("ack", user="UONCALL1"))
        assert "which incident?" in outside.text
        assert "/fireline ack #12" in outside.text
        assert (await send(client, slash("ack #1", user="UONCALL1"))).text == "Acknowledged #1."
        commander = await send(client, slash("commander <@UIC0001|ic> #1", user="UONCALL1"))
        assert commander.text == "<@UIC0001> is the commander of #1."
        note = await send(client, slash("note #1 rolled back the canary", user="UONCALL1"))
        assert note.text == "Noted on #1."
        follow = await send(client, slash("followup #1 alert on p99 latency", user="UIC0001"))
        assert follow.text.startswith("Follow-up 1 added to #1")
        status = await send(client, slash("status #1", user="UIC0001"))
        assert "#1 [SEV2] Checkout is slow: acknowledged" in status.text
        assert "commander UIC0001" in status.text
        unknown = await send(client, slash("reboot everything", user="UIC0001"))
        assert "unknown command 'reboot'" in unknown.text
        missing = await send(client, slash("resolve #99", user="UIC0001"))
        assert "incident 99 does not exist" in missing.text
        paused = await send(client, slash("pause deploy freeze", user="UIC0001"))
        assert "Automation paused" in paused.text
        assert (await client.get("/api/automation")).json()["pauses"][0][
            "reason"
        ] == "deploy freeze"
        resumed = await send(client, slash("resume", user="UIC0001"))
        assert "1 pause lifted" in resumed.text
        resolved = await send(client, slash("resolve #1 canary rolled back", user="UIC0001"))
        assert resolved.text == "Resolved #1."
        postmortem = await send(client, slash("postmortem #1", user="UIC0001"))
        assert "on its way to the incident's thread" in postmortem.text
        [completed] = await wait_for(
            lambda: standin.of("files.completeUploadExternal"), what="the shared draft"
        )
        assert completed["channel_id"] == "CINC"
        from bot.chat import service as chat_service

        card_row = chat_service.card_of(app.state.runtime.db, 1)
        assert card_row is not None
        assert completed["thread_ts"] == card_row.ts
        [content] = standin.uploads.values()
        assert content.decode().startswith("# Post-mortem: #1 Checkout is slow")

        story = kinds(app, 1)
        for kind in (
            "incident.opened",
            "incident.acknowledged",
            "commander.assigned",
            "note.added",
            "followup.added",
            "incident.resolved",
        ):
            assert kind in story
        await wait_for(
            lambda: any("resolved" in u["text"] for u in standin.of("chat.update")),
            what="the resolved card",
        )
        await wait_for(
            lambda: any("Resolved by UIC0001" in m["text"] for m in posted(standin, "CINC")),
            what="the last thread message",
        )
        thread = [m["text"] for m in posted(standin, "CINC")[1:]]
        assert any("rolled back the canary" in t for t in thread)
        assert any("UIC0001 is the incident commander" in t for t in thread)


async def test_a_major_incident_gets_a_channel_of_its_own(
    slack_settings: Callable[..., Settings], standin: SlackStandIn, tmp_path: Path
) -> None:
    config = tmp_path / "fireline.yaml"
    config.write_text(
        "escalation:\n  policies:\n    - name: p\n      levels:\n"
        "        - targets: [{user: UONCALL1}]\n          delay: 1h\n"
    )
    settings = slack_settings(slack_major_severity="SEV1", config=config)
    async with running_app(settings) as (app, client):
        await send(client, slash("declare Payments are down SEV1", user="UIC0001"))
        await wait_for(lambda: standin.of("pins.add"), what="the pinned card")
        [created] = standin.of("conversations.create")
        assert created["name"] == "inc-1-payments-are-down"
        card = posted(standin, "CINCIDENT1")[0]
        assert card["blocks"][0]["text"]["text"] == "#1 Payments are down"
        from bot.chat import service as chat

        card_row = chat.card_of(app.state.runtime.db, 1)
        assert card_row is not None
        assert (card_row.channel, card_row.own_channel) == ("CINCIDENT1", True)
        assert standin.of("pins.add") == [{"channel": "CINCIDENT1", "timestamp": card_row.ts}]
        # The channel the card would have gone to is told, in a message of its own lane.
        await wait_for(lambda: posted(standin, "CINC"), what="the notice in CINC")
        notice = posted(standin, "CINC")[0]
        assert "<#CINCIDENT1>" in notice["text"]
        # Whoever is paged, and the commander, join the channel.
        await wait_for(lambda: standin.of("conversations.invite"), what="the paged responder")
        # In the incident's own channel the incident is implicit.
        answer = await send(client, slash("ack", user="UONCALL1", channel="CINCIDENT1"))
        assert answer.text == "Acknowledged #1."
        await send(client, slash("commander <@UIC0001>", user="UONCALL1", channel="CINCIDENT1"))
        await wait_for(
            lambda: any(i["users"] == "UIC0001" for i in standin.of("conversations.invite")),
            what="the commander",
        )
        invited = standin.of("conversations.invite")
        assert {i["channel"] for i in invited} == {"CINCIDENT1"}
        assert {i["users"] for i in invited} == {"UONCALL1", "UIC0001"}

        shortcut = {
            "type": "message_action",
            "callback_id": "add_to_timeline",
            "team": {"id": "T1"},
            "user": {"id": "UIC0001"},
            "channel": {"id": "CINCIDENT1"},
            "message": {
                "type": "message",
                "user": "UDEV0001",
                "ts": "1700000100.000200",
                "text": "I see 500s from the payments API since the deploy",
            },
            "response_url": "https://hooks.slack.invalid/unused",
            "trigger_id": "t",
        }
        response = await send(client, interaction(shortcut))
        assert response.status_code == 200
        added = await wait_for(
            lambda: [e for e in events(app, 1) if e.kind == "chat.message_added"], what="added"
        )
        assert added[0].data["author"] == "UDEV0001"
        assert added[0].at.timestamp() == 1700000100.0002


async def test_declaring_through_the_modal(
    slack_settings: Callable[..., Settings], standin: SlackStandIn
) -> None:
    async with running_app(slack_settings()) as (_app, client):
        opened = await send(client, slash("declare", user="UIC0001"))
        assert opened.status_code == 200
        [view] = standin.of("views.open")
        assert view["view"]["callback_id"] == "declare_incident"
        submission = {
            "type": "view_submission",
            "team": {"id": "T1"},
            "user": {"id": "UIC0001"},
            "view": {
                "id": "V1",
                "type": "modal",
                "app_id": "A1",
                "team_id": "T1",
                "callback_id": "declare_incident",
                "state": {
                    "values": {
                        "title": {
                            "title": {"type": "plain_text_input", "value": "Search is empty"}
                        },
                        "severity": {
                            "severity": {
                                "type": "static_select",
                                "selected_option": {"value": "SEV2"},
                            }
                        },
                    }
                },
            },
        }
        response = await send(client, interaction(submission))
        assert response.status_code == 200
        incident = (await client.get("/api/incidents/1")).json()
        assert (incident["title"], incident["severity"]) == ("Search is empty", "SEV2")


async def test_escalation_mentions_in_the_thread_and_pages_each_person(
    slack_settings: Callable[..., Settings], standin: SlackStandIn, tmp_path: Path
) -> None:
    config = tmp_path / "fireline.yaml"
    config.write_text(
        "escalation:\n  policies:\n    - name: p\n      levels:\n"
        "        - targets: [{user: UONCALL1}, {group: SSRE0001}]\n          delay: 1h\n"
    )
    async with running_app(slack_settings(config=config)) as (app, client):
        await send(client, slash("declare Queue backlog sev3", user="UIC0001"))
        await wait_for(lambda: standin.of("conversations.open"), what="the page")
        [opened] = standin.of("conversations.open")
        assert opened["users"] == "UONCALL1"
        dm = await wait_for(lambda: posted(standin, "DUONCALL1"), what="the direct message")
        assert "You are paged (level 1) for incident #1" in dm[0]["text"]
        button, resolve = next(b for b in dm[0]["blocks"] if b["type"] == "actions")["elements"]
        assert (button["action_id"], button["value"]) == ("acknowledge", "1")
        assert (resolve["action_id"], resolve["value"]) == ("resolve", "1")
        # The page and the thread are lanes of their own: either may arrive first.
        mentions = await wait_for(
            lambda: [m for m in posted(standin, "CINC") if ":loudspeaker:" in m["text"]],
            what="the mention in the thread",
        )
        mention = mentions[0]
        assert "<@UONCALL1>" in mention["text"]
        assert "<!subteam^SSRE0001>" in mention["text"]
        # The button in the direct message acknowledges.
        await send(client, button_press("acknowledge", "1", user="UONCALL1", channel="DUONCALL1"))
        await wait_for(lambda: "incident.acknowledged" in kinds(app, 1), what="the ack")


async def test_a_slack_outage_delays_messages_but_loses_none(
    slack_settings: Callable[..., Settings], standin: SlackStandIn
) -> None:
    async with running_app(slack_settings()) as (_app, client):
        await send(client, slash("declare Disk filling sev3", user="UIC0001"))
        await wait_for(lambda: posted(standin, "CINC"), what="the card")
        standin.down = True
        for number in range(5):
            await send(client, slash(f"note #1 reading {number}", user="UIC0001"))
        # Two card changes while Slack is down become one update that says so.
        await send(client, slash("ack #1", user="UONCALL1"))
        await send(client, slash("commander <@UIC0001> #1", user="UONCALL1"))
        await wait_for(lambda: standin.refused >= 2, what="Fireline to meet the outage")
        db = _app.state.runtime.db

        def folded() -> bool:
            return any(
                m.kind == "card.update" and m.status == "pending" and m.suppressed >= 1
                for m in chat_service.messages(db, 1)
            )

        # Slack comes back only once both card changes wait as one folded update.
        await wait_for(folded, what="the two card changes folded while Slack is down")
        standin.down = False
        await wait_for(
            lambda: sum("reading" in m["text"] for m in posted(standin, "CINC")) == 5,
            within=30,
            what="every note after the outage",
        )
        notes = [m["text"] for m in posted(standin, "CINC") if "reading" in m["text"]]
        assert notes == [f":memo: reading {n}" for n in range(5)]  # in order, none twice
        # One update carries every change made while Slack was down (at least the two
        # above; the escalation may add its own), and says how many it stands for.
        await wait_for(
            lambda: any(
                re.search(r"[1-9]\d* updates suppressed", str(u["blocks"]))
                for u in standin.of("chat.update")
            ),
            within=30,
            what="the folded card update",
        )

        # A 429 is honoured: nothing more is sent until Retry-After has passed.
        standin.rate_limited, standin.retry_after = 1, 2
        await send(client, slash("note #1 after the rate limit", user="UIC0001"))
        started = time.monotonic()
        await wait_for(
            lambda: any("after the rate limit" in m["text"] for m in posted(standin, "CINC")),
            within=15,
            what="the note after the 429",
        )
        assert time.monotonic() - started >= 1.5


async def test_a_permanent_error_is_dropped_and_later_messages_still_go(
    slack_settings: Callable[..., Settings], standin: SlackStandIn
) -> None:
    async with running_app(slack_settings()) as (app, client):
        await send(client, slash("declare Cache cold sev4", user="UIC0001"))
        await wait_for(lambda: posted(standin, "CINC"), what="the card")
        standin.errors["chat.postMessage"] = "msg_too_long"
        await send(client, slash("note #1 first", user="UIC0001"))
        await send(client, slash("note #1 second", user="UIC0001"))
        await wait_for(
            lambda: any("second" in m["text"] for m in posted(standin, "CINC")), what="second"
        )
        from bot.chat import service as chat

        statuses = [(m.kind, m.status) for m in chat.messages(app.state.runtime.db, 1)]
        assert ("thread", "failed") in statuses


async def test_without_slack_settings_fireline_runs_and_says_so(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    async with running_app(make_settings()) as (app, client):
        assert app.state.runtime.chat is None
        assert (await client.post("/slack/events", content="x")).status_code == 404
    assert "Slack is not configured" in caplog.text


async def test_the_silence_button_silences_in_alertmanager_until_resolved(
    slack_settings: Callable[..., Settings], standin: SlackStandIn, tmp_path: Path
) -> None:
    from tests.automation import stack
    from tests.support import alert, payload

    with stack.alertmanager(tmp_path, stack.SILENT_ALERTMANAGER) as am:
        settings = slack_settings(alertmanager_url=am.url)
        async with running_app(settings) as (app, client):
            body = payload([alert("DiskFull", labels={"instance": "db-1", "severity": "warning"})])
            await post_alert(client, body)
            card = await wait_for(lambda: posted(standin, "CINC"), what="the card")
            buttons = next(b for b in card[0]["blocks"] if b["type"] == "actions")["elements"]
            assert "silence" in [b["action_id"] for b in buttons]
            await send(client, button_press("silence", "1", user="UONCALL1"))
            await wait_for(lambda: "incident.silenced" in kinds(app, 1), what="the silence")
            async with httpx.AsyncClient() as http:
                [silence] = (await http.get(f"{am.url}/api/v2/silences")).json()
                assert silence["status"]["state"] == "active"
                matchers = {m["name"]: m["value"] for m in silence["matchers"]}
                assert matchers == {
                    "alertname": "DiskFull",
                    "instance": "db-1",
                    "severity": "warning",
                }
                await wait_for(
                    lambda: any(
                        ":no_bell: silenced" in str(u["blocks"]) for u in standin.of("chat.update")
                    ),
                    what="the card showing the silence",
                )
                await send(client, button_press("resolve", "1", user="UONCALL1"))

                async def expired() -> bool:
                    [after] = (await http.get(f"{am.url}/api/v2/silences")).json()
                    return bool(after["status"]["state"] == "expired")

                deadline = time.monotonic() + 15
                while not await expired():
                    assert time.monotonic() < deadline, "the silence outlived the incident"
                    await asyncio.sleep(0.1)


async def test_cards_are_routed_by_service_and_severity(
    slack_settings: Callable[..., Settings], standin: SlackStandIn, tmp_path: Path
) -> None:
    from tests.support import alert, payload

    config = tmp_path / "fireline.yaml"
    config.write_text(
        "chat:\n  routes:\n"
        "    - {service: payments, channel: CPAYMENTS}\n"
        "    - {severity: SEV4, channel: CLOWPRIO}\n"
    )
    async with running_app(slack_settings(config=config)) as (_, client):
        for number, labels in enumerate(
            [
                {"service": "payments", "severity": "critical"},
                {"service": "search", "severity": "info"},
                {"service": "search", "severity": "critical"},
            ],
            start=1,
        ):
            body = payload(
                [alert(f"Alert{number}", fingerprint=f"{number:016x}", labels=labels)],
                group_labels={"n": str(number)},
            )
            await post_alert(client, body)
        await wait_for(
            lambda: len([p for p in posted(standin) if "thread_ts" not in p]) == 3,
            what="three cards",
        )
    cards = {
        p["blocks"][0]["text"]["text"].split()[0]: p["channel"]
        for p in posted(standin)
        if "thread_ts" not in p
    }
    assert cards == {"#1": "CPAYMENTS", "#2": "CLOWPRIO", "#3": "CINC"}


async def test_a_rule_that_puts_slack_later_holds_the_direct_message_until_then(
    slack_settings: Callable[..., Settings], standin: SlackStandIn, tmp_path: Path
) -> None:
    from tests.escalation.support import FakeClock
    from tests.support import alert, payload

    config = tmp_path / "fireline.yaml"
    config.write_text(
        "people:\n  directory:\n"
        "    - id: alice\n      slack: UALICE001\n      role: responder\n"
        "      contact_methods: [{name: chat, kind: slack}]\n"
        "      notification_rules: {high: [{method: chat, after: 2m}]}\n"
        "escalation:\n  tick: 100ms\n  policies:\n    - name: default\n      levels:\n"
        "        - targets: [{person: alice}]\n          delay: 1h\n"
    )
    clock = FakeClock()
    async with running_app(slack_settings(config=config), clock=clock) as (app, client):
        # No runbook matches DiskFull, so no refusal escalates it again: one page, one DM.
        await post_alert(client, payload([alert("DiskFull", labels={"severity": "critical"})]))
        await wait_for(lambda: "escalation.notified" in kinds(app, 1), what="the page")
        await wait_for(lambda: posted(standin, "CINC"), what="the card")
        runtime = app.state.runtime

        def held() -> list[tuple[str, datetime]]:
            from storage.queries_outbox import messages_of

            with runtime.db.session() as session:
                rows = messages_of(session, 1)
            return [
                (r.status, r.next_attempt_at.replace(tzinfo=UTC))
                for r in rows
                if r.payload.get("user") == "UALICE001"
            ]

        # Her direct message is queued with the page, due at her rule's step.
        paged_at = clock.now
        [(status, due)] = await wait_for(held, what="the held direct message")
        assert (status, due) == ("pending", paged_at + timedelta(minutes=2))
        assert standin.of("conversations.open") == []
        clock.advance(minutes=2)
        runtime.outbox.poke()
        dm = await wait_for(lambda: posted(standin, "DUALICE001"), what="the direct message")
        assert "You are paged (level 1) for incident #1" in dm[0]["text"]


async def test_a_deploy_before_the_alert_is_on_the_card_and_in_the_thread(
    slack_settings: Callable[..., Settings], standin: SlackStandIn
) -> None:
    from tests.support import alert, payload

    starts = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    async with running_app(slack_settings()) as (app, client):
        change = {
            "service": "checkout",
            "version": "v1.4.2",
            "by": "<!channel> dana",  # text from a CI job is data, never a mention
            "at": (starts - timedelta(minutes=12)).isoformat(),
        }
        assert (await client.post("/api/changes", json=change)).status_code == 201
        body = payload(
            [alert(starts_at=starts, labels={"service": "checkout", "severity": "critical"})]
        )
        await post_alert(client, body)
        cards = await wait_for(
            lambda: [m for m in posted(standin, "CINC") if "What changed" in str(m["blocks"])],
            what="the card",
        )
        shown = str(cards[0]["blocks"])
        assert "Deploy checkout v1.4.2 by &lt;!channel&gt; dana, 12 min before the alert" in shown
        line = await wait_for(
            lambda: [m for m in posted(standin, "CINC") if ":package:" in m["text"]],
            what="the thread line",
        )
        assert "<!channel>" not in line[0]["text"]
        assert "Deploy checkout v1.4.2" in line[0]["text"]
        assert "change.correlated" in kinds(app, 1)


async def test_a_followup_owner_is_reminded_before_and_after_its_due_date_once_each(
    slack_settings: Callable[..., Settings], standin: SlackStandIn, tmp_path: Path
) -> None:
    from tests.escalation.support import FakeClock
    from tests.support import alert, payload

    config = tmp_path / "fireline.yaml"
    config.write_text(
        "people:\n  directory:\n    - {id: alice, slack: UALICE001, role: responder}\n"
    )
    clock = FakeClock()
    settings = slack_settings(config=config, followup_reminder_tick="50ms")
    async with running_app(settings, clock=clock) as (app, client):
        await post_alert(client, payload([alert(labels={"severity": "warning"})]))
        await wait_for(lambda: posted(standin, "CINC"), what="the card")
        due = clock.now + timedelta(days=1)
        for owner, text in (("alice", "Add a <!channel> alert on queue depth"), ("@team", "x")):
            added = await client.post(
                "/api/incidents/1/followups",
                json={"text": text, "owner": owner, "due": due.isoformat()},
            )
            assert added.status_code in (200, 201), added.text
        first = await wait_for(lambda: posted(standin, "DUALICE001"), what="the due-soon DM")
        assert first[0]["text"].startswith(":spiral_calendar_pad: Due in 1 day: follow-up #1")
        assert "<!channel>" not in first[0]["text"]  # the text is data
        clock.advance(days=2)
        overdue = await wait_for(
            lambda: len(posted(standin, "DUALICE001")) == 2 and posted(standin, "DUALICE001"),
            what="the overdue DM",
        )
        assert "Overdue by 1 day: follow-up #1" in overdue[1]["text"]
        clock.advance(hours=5)  # the same overdue period: nothing new
        runtime = app.state.runtime
        assert runtime.reminders.run_once() == 0
        assert (await client.post("/api/followups/1/done", json={})).status_code == 200
        clock.advance(days=4)
        assert runtime.reminders.run_once() == 0
        assert len(posted(standin, "DUALICE001")) == 2
        # "@team" is no one Slack can message directly: no reminder, no error.
        assert {o["users"] for o in standin.of("conversations.open")} == {"UALICE001"}


async def test_a_channel_far_behind_lists_new_incidents_in_one_digest(
    slack_settings: Callable[..., Settings], standin: SlackStandIn
) -> None:
    settings = slack_settings(slack_rate=1, slack_burst=1, slack_digest_after="3s")
    incidents = range(1, 7)
    async with running_app(settings) as (app, client):
        db = app.state.runtime.db
        standin.down = True  # nothing leaves, so the channel's backlog only grows
        for n in incidents:
            body = payload(
                [
                    alert(
                        f"Storm{n}",
                        fingerprint=f"{n:016x}",
                        annotations={"summary": f"<!channel> disk {n} full"},
                    )
                ]
            )
            await post_alert(client, body)
        cards = await wait_for(
            lambda: (c := [chat_service.card_of(db, n) for n in incidents]) and all(c) and c,
            what="every incident's place in the channel",
        )
        digested = [c.incident_id for c in cards if c.digest]
        carded = [c.incident_id for c in cards if not c.digest]
        # The first get cards; once a card would be more than 3 s late, the rest wait in
        # one digest instead.
        assert carded
        assert digested
        assert max(carded) < min(digested)
        assert not any(m.kind != "dm" for n in digested for m in chat_service.messages(db, n)), (
            "a digested incident queues no card and no thread"
        )
        # A carded incident's news while the channel is behind is held in the digest too:
        # no thread post of its own, and its card is marked for a redraw.
        first = carded[0]
        waiting_before = len(chat_service.messages(db, first))
        grown = [alert(f"Storm{first}", fingerprint=f"{first:016x}")]
        grown.append(alert(f"Storm{first}", fingerprint="feed" * 4, labels={"instance": "b"}))
        await post_alert(client, payload(grown))
        await wait_for(
            lambda: (card := chat_service.card_of(db, first)) is not None and card.stale,
            what="the carded incident's card held for a redraw",
        )
        assert len(chat_service.messages(db, first)) == waiting_before
        standin.down = False

        def listed() -> list[int]:
            digests = [m for m in posted(standin, "CINC") if "Storm:" in m["text"]]
            return [int(n) for m in digests for n in re.findall(r"#(\d+) \[", str(m["blocks"]))]

        # Each digested incident in a digest once (one that failed while Slack was down
        # is sent again as it was; later incidents joined a new one), and the carded one
        # among those that changed meanwhile.
        # Within one backoff (30 s at most) of Slack's return, and the channel's pace.
        await wait_for(
            lambda: (
                sorted(n for n in listed() if n not in carded) == digested and first in listed()
            ),
            within=60,
            what="the digests",
        )
        digest = str([m["blocks"] for m in posted(standin, "CINC") if "Storm:" in m["text"]])
        assert "disk 4 full" in digest
        assert "<!channel>" not in digest  # alert text is text, never a mention
        await wait_for(
            lambda: (
                {
                    int(m["metadata"]["event_payload"]["incident_id"])
                    for m in posted(standin, "CINC")
                    if (m.get("metadata") or {}).get("event_type") == "fireline_card"
                }
                == set(carded)
            ),
            within=60,
            what="the cards of the incidents opened before the channel fell behind",
        )

        # Once the channel has caught up, the held card is redrawn with what it missed.
        def redrawn() -> bool:
            card = chat_service.card_of(db, first)
            assert card is not None
            updates = [u for u in standin.of("chat.update") if u["ts"] == card.ts]
            return bool(updates) and not card.stale

        await wait_for(redrawn, within=60, what="the held card's redraw")
