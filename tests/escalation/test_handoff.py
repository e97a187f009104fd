"""Hand-off with the whole lifecycle through the real app: PagerDuty and Opsgenie hear the
page, the acknowledgement and the resolution under one key per incident; a generic
webhook hears every lifecycle event, signed so a receiver can verify it and drop replays."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.app.settings import Settings
from bot.escalation.handoff import dedup_key, signature, verify
from tests.escalation.httpserver import Recorded, http_server
from tests.support import alert, payload, running_app, settle

CONFIG = """\
escalation:
  tick: 100ms
  policies:
    - name: default
      levels:
        - targets: [{{webhook: pd}}, {{webhook: og}}]
          delay: 1h
  webhooks:
    pd: {{url: "{url}/pd", kind: pagerduty, routing_key_secret: pd_key}}
    og: {{url: "{url}/og", kind: opsgenie, routing_key_secret: og_key}}
    hook: {{url: "{url}/hook", lifecycle: true, signing_secret: hook_key}}
"""


async def requests_to(server: Recorded, prefix: str, count: int) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        found = [r for r in server.requests if r["path"].startswith(prefix)]
        if len(found) >= count:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{prefix}: {len(found)} requests, wanted {count}")
        await asyncio.sleep(0.05)


async def test_pagers_follow_the_incident_and_the_generic_hook_hears_everything(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with http_server() as server:
        config = tmp_path / "fireline.yml"
        config.write_text(CONFIG.format(url=server.url))
        settings = make_settings(
            config=config,
            migrate_on_start=True,
            runbook_dirs=[tmp_path],
            secrets={"pd_key": "ROUTING", "og_key": "GENIE", "hook_key": "SIGNING"},
        )
        async with running_app(settings) as (app, client):
            body = payload([alert(labels={"severity": "critical"})])
            assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
            await settle(app)
            (incident,) = (await client.get("/api/incidents")).json()["items"]
            key = dedup_key(incident["id"])
            (trigger,) = await requests_to(server, "/pd", 1)
            assert trigger["json"]["event_action"] == "trigger"
            assert trigger["json"]["dedup_key"] == key
            (create,) = await requests_to(server, "/og", 1)
            assert create["path"] == "/og/v2/alerts"
            assert create["json"]["alias"] == key
            assert create["json"]["priority"] == "P1"
            assert create["headers"]["Authorization"] == "GenieKey GENIE"

            await client.post(f"/api/incidents/{incident['id']}/acknowledge", json={"actor": "ann"})
            pd = await requests_to(server, "/pd", 2)
            assert pd[1]["json"] == {
                "routing_key": "ROUTING",
                "event_action": "acknowledge",
                "dedup_key": key,
            }
            og = await requests_to(server, "/og", 2)
            assert og[1]["path"] == f"/og/v2/alerts/{key}/acknowledge?identifierType=alias"
            assert og[1]["json"]["user"] == "ann"

            await client.post(f"/api/incidents/{incident['id']}/resolve", json={"actor": "ann"})
            pd = await requests_to(server, "/pd", 3)
            assert pd[2]["json"]["event_action"] == "resolve"
            assert pd[2]["json"]["dedup_key"] == key
            og = await requests_to(server, "/og", 3)
            assert og[2]["path"] == f"/og/v2/alerts/{key}/close?identifierType=alias"

            hook = await requests_to(server, "/hook", 4)
            events = [r["json"]["event"] for r in hook]
            assert events == [
                "incident.opened",
                "incident.escalated",
                "incident.acknowledged",
                "incident.resolved",
            ]
            for request in hook:
                headers = request["headers"]
                stamp, given = (
                    headers["X-Fireline-Request-Timestamp"],
                    headers["X-Fireline-Signature"],
                )
                assert verify("SIGNING", stamp, request["raw"], given, now=time.time())
                assert not verify("WRONG", stamp, request["raw"], given, now=time.time())
                assert not verify("SIGNING", stamp, request["raw"] + b" ", given, now=time.time())
                assert not verify("SIGNING", stamp, request["raw"], given, now=time.time() + 600)
                assert request["json"]["version"] == 1
                assert request["json"]["incident"]["id"] == incident["id"]
            assert hook[2]["json"]["actor"] == "ann"
            assert len({r["json"]["id"] for r in hook}) == 4  # one id per delivery


def test_the_signature_is_hmac_sha256_of_version_timestamp_and_body() -> None:
    import hashlib
    import hmac

    raw = json.dumps({"event": "incident.opened"}).encode()
    expected = hmac.new(b"s", b"v1:1700000000:" + raw, hashlib.sha256).hexdigest()
    assert signature("s", 1700000000, raw) == f"v1={expected}"
    assert not verify("s", "not-a-number", raw, f"v1={expected}", now=1700000000)
