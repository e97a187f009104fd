"""Replying "ack" by SMS, through the real app: a Twilio-signed reply from a person's phone
acknowledges their latest page once; a bad signature, an unknown number or a replayed
message does nothing; the TwiML answer escapes alert text."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI

from bot.app.settings import Settings
from bot.notify.replies import normalise_phone, parse_reply, twilio_signature
from bot.people.links import LinkAction
from tests.notify.support import ALICE, bearer, write_config
from tests.support import alert, payload, running_app, settle

TOKEN = "twilio-secret"
URL = "http://fireline.test/webhooks/sms"


def signed(form: dict[str, str], token: str = TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": twilio_signature(token, URL, form)}


async def reply(client: httpx.AsyncClient, text: str, sid: str, **kw: str) -> httpx.Response:
    form = {"From": kw.get("sender", "+49 151 12345678"), "Body": text, "MessageSid": sid}
    headers = signed(form, kw.get("token", TOKEN))
    return await client.post("/webhooks/sms", data=form, headers=headers)


async def paged_incident(app: FastAPI, client: httpx.AsyncClient) -> int:
    hostile = {"summary": "disk <full> & @channel"}
    body = payload([alert(labels={"severity": "critical"}, annotations=hostile)])
    assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)
    (incident,) = (await client.get("/api/incidents", headers=bearer(ALICE))).json()["items"]
    return int(incident["id"])


async def status(client: httpx.AsyncClient, incident_id: int) -> str:
    answer = await client.get(f"/api/incidents/{incident_id}", headers=bearer(ALICE))
    return str(answer.json()["status"])


async def test_an_sms_reply_acknowledges_the_latest_page_once(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    config = write_config(tmp_path / "f.yml", methods=[])
    settings = make_settings(
        config=config,
        migrate_on_start=True,
        runbook_dirs=[tmp_path],
        twilio_auth_token=TOKEN,
        public_url="http://fireline.test",
    )
    async with running_app(settings) as (app, client):
        incident_id = await paged_incident(app, client)
        for _ in range(100):  # the page is what "ack" without a number refers to
            events = (
                await client.get(f"/api/incidents/{incident_id}/timeline", headers=bearer(ALICE))
            ).json()
            if any(e["kind"] == "escalation.notified" for e in events):
                break
            await asyncio.sleep(0.05)

        forged = await reply(client, "ack", "SM1", token="wrong")
        assert forged.status_code == 403
        stranger = await reply(client, "ack", "SM2", sender="+15550000000")
        assert stranger.status_code == 403
        assert await status(client, incident_id) == "open"

        confused = await reply(client, "what is this", "SM3")
        assert 'Reply "ack"' in confused.text

        done = await reply(client, "Ack", "SM4")
        assert done.status_code == 200
        assert done.headers["content-type"].startswith("application/xml")
        assert f"Acknowledged #{incident_id}: " in done.text
        assert "disk &lt;full&gt; &amp; @channel" in done.text
        assert "<full>" not in done.text
        assert await status(client, incident_id) == "acknowledged"
        events = (
            await client.get(f"/api/incidents/{incident_id}/timeline", headers=bearer(ALICE))
        ).json()
        (acked,) = [e for e in events if e["kind"] == "incident.acknowledged"]
        assert acked["actor"] == "alice"
        assert acked["data"]["via"] == "sms"

        await client.post(
            f"/api/incidents/{incident_id}/unacknowledge", json={}, headers=bearer(ALICE)
        )
        replayed = await reply(client, "Ack", "SM4")  # the provider sends SM4 again
        assert "Already done" in replayed.text
        assert await status(client, incident_id) == "open"

        resolved = await reply(client, f"resolve {incident_id}", "SM5")
        assert "Resolved #" in resolved.text
        assert await status(client, incident_id) == "resolved"


def test_replies_and_numbers_are_read_as_people_write_them() -> None:
    assert parse_reply(" ACK ") is not None
    assert parse_reply("ack 42") == parse_reply("ack #42")
    reply = parse_reply("resolve 42.")
    assert reply is not None
    assert (reply.action, reply.incident_id) == (LinkAction.RESOLVE, 42)
    assert parse_reply("ack all the things") is None
    assert normalise_phone("+49 (151) 1234-5678") == "+4915112345678"
