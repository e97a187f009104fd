"""A page reaches the person by their own rules through the real app, with Slack down (not
configured): ntfy at once, email a minute later, SMS at three minutes unless someone
acknowledged; a failed method brings the next one forward at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from bot.app.settings import Settings
from tests.escalation.httpserver import Recorded, http_server
from tests.escalation.support import FakeClock
from tests.notify.smtp import Mailbox, smtp_server
from tests.notify.support import ALICE, bearer, write_config
from tests.support import alert, payload, running_app, settle

METHODS = [
    {"name": "push", "kind": "ntfy", "to": "alice-pages"},
    {"name": "mail", "kind": "email"},
    {"name": "sms", "kind": "sms"},
]
RULES = {
    "high": [
        {"method": "push"},
        {"method": "mail", "after": "1m"},
        {"method": "sms", "after": "3m"},
    ]
}


async def eventually(check: Callable[[], Any], *, what: str, within: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while not (value := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def timeline(client: httpx.AsyncClient, incident_id: int) -> list[dict[str, Any]]:
    answer = await client.get(f"/api/incidents/{incident_id}/timeline", headers=bearer(ALICE))
    return list(answer.json())


def pages(server: Recorded) -> list[dict[str, Any]]:
    """The requests that carried a page (not a contact method's test message)."""
    return [r for r in server.requests if "incident #" in str(r["json"] or r["form"])]


def settled(app: FastAPI, destination: str) -> bool:
    """No row of the destination is waiting or in flight (so moving the clock on cannot
    look like an expired lease)."""
    from storage.queries_outbox import count_waiting

    with app.state.runtime.db.session() as session:
        return count_waiting(session, destination) == 0


def settings_for(
    make_settings: Callable[..., Settings],
    config: Path,
    box: Mailbox,
    ntfy: Recorded,
    twilio: Recorded,
) -> Settings:
    return make_settings(
        config=config,
        migrate_on_start=True,
        runbook_dirs=[config.parent],
        smtp_host=box.host,
        smtp_port=box.port,
        smtp_starttls=False,
        ntfy_url=ntfy.url,
        twilio_url=twilio.url,
        twilio_account_sid="AC123",
        twilio_auth_token="twilio-secret",
        twilio_from="+15005550006",
        link_secret="link-secret-for-tests",
        public_url="http://fireline.test",
    )


async def page_alice(app: FastAPI, client: httpx.AsyncClient) -> int:
    body = payload([alert(labels={"severity": "critical", "service": "checkout"})])
    assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)
    (incident,) = (await client.get("/api/incidents", headers=bearer(ALICE))).json()["items"]
    return int(incident["id"])


async def run(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    ntfy_statuses: list[int],
    story: Callable[
        [FastAPI, httpx.AsyncClient, FakeClock, Mailbox, Recorded, Recorded], Awaitable[None]
    ],
) -> None:
    config = write_config(tmp_path / "fireline.yml", methods=METHODS, rules=RULES)
    clock = FakeClock()
    with smtp_server() as box, http_server() as ntfy, http_server() as twilio:
        settings = settings_for(make_settings, config, box, ntfy, twilio)
        async with running_app(settings, clock=clock) as (app, client):
            # The three test messages of the config's new methods go out first.
            await eventually(
                lambda: ntfy.requests and box.messages and twilio.requests,
                what="the verification messages",
            )
            ntfy.statuses.extend(ntfy_statuses)
            await story(app, client, clock, box, ntfy, twilio)


async def test_slack_down_email_reaches_her_within_the_rules_delay_and_ack_stops_the_rest(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async def story(
        app: FastAPI,
        client: httpx.AsyncClient,
        clock: FakeClock,
        box: Mailbox,
        ntfy: Recorded,
        twilio: Recorded,
    ) -> None:
        incident_id = await page_alice(app, client)
        (push,) = await eventually(lambda: pages(ntfy), what="the push")
        assert push["json"]["topic"] == "alice-pages"
        assert push["json"]["actions"][0]["url"].startswith("http://fireline.test/a/")
        assert len(box.to("alice@example.com")) == 1  # the test message only: not yet due
        await eventually(lambda: settled(app, "notify:ntfy"), what="the push to be settled")

        clock.advance(seconds=61)
        app.state.runtime.outbox.poke()
        mails = await eventually(lambda: box.to("alice@example.com")[1:], what="the email")
        assert mails[0]["Subject"].startswith("[SEV1] HighErrorRate")
        text = mails[0].get_body(("plain",)).get_content()
        (link,) = [w for w in text.split() if w.startswith("http://fireline.test/a/")][:1]
        path = link.removeprefix("http://fireline.test")
        # Followed from the phone: the page asks, the button acknowledges, as alice.
        assert "Acknowledge incident #" in (await client.get(path)).text
        ack = await client.post(path)
        assert ack.status_code == 200, ack.text
        assert f"Acknowledged incident #{incident_id} as alice" in ack.text
        clock.advance(minutes=3)
        app.state.runtime.outbox.poke()

        def cancelled() -> bool:
            with app.state.runtime.db.session() as session:
                from storage.queries_outbox import messages_of

                rows = messages_of(session, incident_id)
            return any(r.destination == "notify:sms" and r.status == "cancelled" for r in rows)

        await eventually(cancelled, what="the SMS step to be cancelled")
        assert pages(twilio) == []
        events = await timeline(client, incident_id)
        sent = [e["data"]["method"] for e in events if e["kind"] == "notification.sent"]
        assert sent == ["push", "mail"]
        (notified,) = [e for e in events if e["kind"] == "escalation.notified"]
        assert [r["method"] for r in notified["data"]["reached"]] == ["push", "mail", "sms"]
        metrics = (await client.get("/metrics")).text
        assert 'fireline_notifications_total{kind="sms",status="cancelled"} 1.0' in metrics
        assert 'fireline_notifications_total{kind="email",status="sent"} 1.0' in metrics

    await run(make_settings, tmp_path, [], story)


async def test_a_failed_method_brings_the_next_forward_at_once(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async def story(
        app: FastAPI,
        client: httpx.AsyncClient,
        clock: FakeClock,
        box: Mailbox,
        ntfy: Recorded,
        twilio: Recorded,
    ) -> None:
        incident_id = await page_alice(app, client)
        # ntfy refuses the push for good (400): the email goes now, not in a minute.
        mails = await eventually(lambda: box.to("alice@example.com")[1:], what="the email")
        assert mails[0]["Subject"].startswith("[SEV1] HighErrorRate")
        events = (
            await eventually(lambda: None, what="never")
            if False
            else await timeline(client, incident_id)
        )
        failed = [e for e in events if e["kind"] == "notification.failed"]
        assert [e["data"]["method"] for e in failed] == ["push"]
        assert "ntfy answered 400" in failed[0]["data"]["error"]
        assert pages(twilio) == []  # the SMS keeps its own time

    await run(make_settings, tmp_path, [400], story)
