"""Changes through the running service: recorded by the API, GitHub and Argo CD, attached
to the incidents they may have caused, in the timeline and the post-mortem, and used by
a runbook that undoes a deploy only when one preceded the alert."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.app.settings import Settings
from tests.automation.support import wait_for
from tests.escalation.httpserver import http_server
from tests.notify.support import ALICE, BOB, token
from tests.support import alert, payload, running_app, settle

STARTS = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
SECRET = "github-webhook-secret"


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def checkout_down(*, fingerprint: str = "c0ffee0000000001", starts: datetime = STARTS) -> Any:
    return payload(
        [
            alert(
                "CheckoutErrors",
                fingerprint=fingerprint,
                starts_at=starts,
                labels={"service": "checkout", "severity": "critical", "env": "prod"},
            )
        ],
        group_labels={"alertname": "CheckoutErrors", "fp": fingerprint},
    )


async def open_incident(app: Any, client: httpx.AsyncClient, body: Any) -> int:
    assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)
    items = (await client.get("/api/incidents")).json()["items"]
    return int(max(i["id"] for i in items))


async def timeline(client: httpx.AsyncClient, incident_id: int) -> list[dict[str, Any]]:
    return list((await client.get(f"/api/incidents/{incident_id}/timeline")).json())


async def test_a_deploy_before_the_alert_is_on_the_timeline_and_in_the_postmortem(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with running_app(make_settings(runbook_dirs=[tmp_path])) as (app, client):
        old = {"service": "checkout", "version": "v1.4.1", "environment": "prod",
               "at": iso(STARTS - timedelta(days=1))}  # fmt: skip
        assert (await client.post("/api/changes", json=old)).status_code == 201
        deploy = {
            "service": "checkout",
            "version": "v1.4.2",
            "environment": "prod",
            "by": "dana",
            "link": "https://ci.example/runs/7",
            "at": iso(STARTS - timedelta(minutes=12)),
            "id": "pipeline-7",
        }
        created = await client.post("/api/changes", json=deploy)
        assert created.status_code == 201, created.text
        # The previous version is the service's deploy before this one.
        assert created.json()["previous_version"] == "v1.4.1"
        again = await client.post("/api/changes", json=deploy)
        assert (again.status_code, again.json()["id"]) == (200, created.json()["id"])
        # Neither another service nor another environment is taken for the cause.
        for other in ({"service": "search"}, {"service": "checkout", "environment": "staging"}):
            body = {**other, "version": "x", "at": iso(STARTS - timedelta(minutes=3))}
            assert (await client.post("/api/changes", json=body)).status_code == 201

        incident_id = await open_incident(app, client, checkout_down())
        events = await timeline(client, incident_id)
        (correlated,) = [e for e in events if e["kind"] == "change.correlated"]
        assert correlated["text"] == (
            "Deploy checkout v1.4.2 to prod by dana, 12 min before the alert"
        )
        assert correlated["data"]["previous_version"] == "v1.4.1"
        # The timeline puts it where it happened: before the alert.
        assert events.index(correlated) < [e["kind"] for e in events].index("alert.fired")

        draft = (await client.get(f"/api/incidents/{incident_id}/postmortem")).text
        assert "Deploy checkout v1.4.2 to prod by dana, 12 min before the alert" in draft
        (key,) = [line for line in draft.splitlines() if "Last change before impact" in line]
        assert "Deploy checkout v1.4.2" in key
        assert "| 12m before impact began |" in key

        listed = (await client.get("/api/changes", params={"service": "checkout"})).json()
        assert [c["version"] for c in listed] == ["x", "v1.4.2", "v1.4.1"]


async def test_a_change_reported_after_the_page_is_attached_to_the_open_incident(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with running_app(make_settings(runbook_dirs=[tmp_path])) as (app, client):
        incident_id = await open_incident(app, client, checkout_down())
        late = {"service": "checkout", "kind": "flag", "summary": "new-cart on",
                "by": "eve", "at": iso(STARTS - timedelta(minutes=2))}  # fmt: skip
        answer = await client.post("/api/changes", json=late)
        assert answer.status_code == 201, answer.text
        assert answer.json()["incidents"] == [incident_id]
        texts = [e["text"] for e in await timeline(client, incident_id)]
        assert "Flag checkout by eve, 2 min before the alert" in texts
        # A change after the alert started is no cause of it.
        after = {**late, "at": iso(STARTS + timedelta(minutes=1))}
        assert (await client.post("/api/changes", json=after)).json()["incidents"] == []


async def test_bad_changes_are_refused_with_the_field_named(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with running_app(make_settings(runbook_dirs=[tmp_path])) as (_app, client):
        for body, named in (
            ({"version": "v1"}, "service"),
            ({"service": "checkout", "kind": "reboot"}, "kind"),
            ({"service": "checkout", "at": "2026-12-01T10:00:00"}, "time zone"),
            ({"service": "checkout", "link": "javascript:alert(1)"}, "link"),
        ):
            answer = await client.post("/api/changes", json=body)
            assert answer.status_code == 422, body
            assert named in answer.text
        assert (await client.get("/api/changes")).json() == []


def github_headers(body: bytes, *, secret: str = SECRET, event: str = "deployment_status") -> Any:
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={mac}",
        "X-GitHub-Event": event,
        "Content-Type": "application/json",
    }


GITHUB_EVENT = {
    "action": "created",
    "deployment_status": {"id": 77, "state": "success", "environment": "prod",
                          "created_at": iso(STARTS - timedelta(minutes=20))},
    "deployment": {"id": 5, "sha": "9f8e7d6c5b4a39281706", "ref": "v2.0.0",
                   "environment": "prod", "creator": {"login": "dana"}},
    "repository": {"name": "checkout", "full_name": "acme/checkout"},
}  # fmt: skip


async def test_the_github_receiver_checks_the_signature_and_records_a_deploy(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    body = json.dumps(GITHUB_EVENT).encode()
    unset = make_settings(runbook_dirs=[tmp_path])
    async with running_app(unset) as (_app, client):
        refused = await client.post("/webhooks/github", content=body, headers=github_headers(body))
        assert refused.status_code == 403
        assert "FIRELINE_GITHUB_WEBHOOK_SECRET" in refused.text
    settings = make_settings(runbook_dirs=[tmp_path], github_webhook_secret=SECRET)
    async with running_app(settings) as (app, client):
        forged = github_headers(body, secret="not-the-secret")
        answer = await client.post("/webhooks/github", content=body, headers=forged)
        assert answer.status_code == 403
        assert (await client.get("/api/changes")).json() == []
        ping = await client.post(
            "/webhooks/github", content=b"{}", headers=github_headers(b"{}", event="ping")
        )
        assert ping.status_code == 200
        pending = json.dumps(
            {**GITHUB_EVENT, "deployment_status": {"id": 76, "state": "in_progress"}}
        ).encode()
        skipped = await client.post(
            "/webhooks/github", content=pending, headers=github_headers(pending)
        )
        assert skipped.status_code == 202
        for expected in (201, 200):  # GitHub redelivers: stored once
            answer = await client.post(
                "/webhooks/github", content=body, headers=github_headers(body)
            )
            assert answer.status_code == expected, answer.text
        (stored,) = (await client.get("/api/changes")).json()
        assert (stored["source"], stored["version"], stored["by"]) == ("github", "v2.0.0", "dana")
        incident_id = await open_incident(app, client, checkout_down())
        texts = [e["text"] for e in await timeline(client, incident_id)]
        assert "Deploy checkout v2.0.0 to prod by dana, 20 min before the alert" in texts


async def test_argocd_and_the_api_need_a_role_that_may_record_changes(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    config = tmp_path / "fireline.yml"
    config.write_text(
        json.dumps(
            {
                "people": {
                    "directory": [
                        {"id": "alice", "role": "responder"},
                        {"id": "bob", "role": "viewer"},
                    ],
                    "tokens": [token(ALICE, "alice", "responder"), token(BOB, "bob", "viewer")],
                }
            }
        )
    )
    sync = {"app": "checkout-prod", "revision": "4f2a9c1d77", "service": "checkout",
            "environment": "prod", "by": "dana", "phase": "Succeeded",
            "finished_at": iso(STARTS - timedelta(minutes=5))}  # fmt: skip
    async with running_app(make_settings(config=config, runbook_dirs=[tmp_path])) as (_a, c):
        assert (await c.post("/webhooks/argocd", json=sync)).status_code == 401
        bob = {"Authorization": f"Bearer {BOB}"}
        assert (await c.post("/webhooks/argocd", json=sync, headers=bob)).status_code == 403
        refused = await c.post("/api/changes", json={"service": "checkout"}, headers=bob)
        assert refused.status_code == 403
        alice = {"Authorization": f"Bearer {ALICE}"}
        answer = await c.post("/webhooks/argocd", json=sync, headers=alice)
        assert answer.status_code == 201, answer.text
        assert (answer.json()["version"], answer.json()["recorded_by"]) == ("4f2a9c1d77", "alice")
        running = await c.post("/webhooks/argocd", json={**sync, "phase": "Running"}, headers=alice)
        assert running.status_code == 202
        listed = (await c.get("/api/changes", headers=bob)).json()
        assert [x["source"] for x in listed] == ["argocd"]


UNDO_RUNBOOK = """---
id: checkout-undo
title: Undo a bad checkout deploy
owners: ["@shop"]
match:
  alertname: CheckoutErrors
params:
  previous: {{from: deploy.previous_version, pattern: "v[0-9]+\\\\.[0-9]+\\\\.[0-9]+"}}
policy:
  mode: auto
  limits: {{cooldown: 0s, max_runs: 10 per 1h, stale_after: 1000d}}
verify: {{alert_resolved: false}}
---
# Checkout errors

## Resolution Steps

Roll back to what ran before, only when a deploy is the likely cause.

```action {{"id": "undo", "kind": "remediate", "safe": true, "when": "deploy.preceded"}}
uses: http.request
with:
  method: POST
  url: {url}/rollback
  json: {{service: checkout, to: params.previous}}
```
"""


async def test_a_runbook_undoes_the_deploy_only_when_one_preceded_the_alert(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with http_server() as target:
        runbooks = tmp_path / "runbooks"
        runbooks.mkdir()
        (runbooks / "checkout-undo.md").write_text(UNDO_RUNBOOK.format(url=target.url))
        settings = make_settings(
            runbook_dirs=[runbooks], http_allow=["127.0.0.0/8"], automation_tick="100ms"
        )
        async with running_app(settings) as (app, client):
            promoted = await client.post("/api/runbooks/checkout-undo/promote", json={"by": "ann"})
            assert promoted.status_code == 200, promoted.text
            for version, days in (("v1.4.1", 2), ("v1.4.2", 0)):
                at = STARTS - timedelta(days=days, minutes=12)
                change = {"service": "checkout", "version": version, "at": iso(at)}
                assert (await client.post("/api/changes", json=change)).status_code == 201
            first = await open_incident(app, client, checkout_down())
            await wait_for(lambda: target.requests, what="the rollback request")
            assert target.requests[0]["json"] == {"service": "checkout", "to": "v1.4.1"}

            # A day later with no deploy before it: the runbook's parameter is refused.
            later = STARTS + timedelta(days=1)
            second = await open_incident(
                app, client, checkout_down(fingerprint="c0ffee0000000002", starts=later)
            )
            assert second != first
            selected = [
                e for e in await timeline(client, second) if e["kind"] == "runbook.selected"
            ]
            assert (
                "deploy.previous_version: no deploy of this service preceded the alert"
                in (selected[0]["text"])
            )
            assert len(target.requests) == 1


def test_deploy_preceded_gates_a_step_and_bad_deploy_fields_are_named() -> None:
    from bot.automation.decide import unmet_condition
    from bot.runbooks.parser import parse_runbook

    text = UNDO_RUNBOOK.format(url="http://127.0.0.1:9")
    parsed = parse_runbook(text.encode(), file="checkout-undo.md")
    assert parsed.runbook is not None, parsed.problems
    (step,) = parsed.runbook.steps
    assert [str(c) for c in step.when] == ["deploy.preceded"]
    assert unmet_condition(step, {}, deploy_preceded=True) is None
    assert unmet_condition(step, {}) == (
        "condition deploy.preceded does not hold (no deploy preceded the alert)"
    )
    wrong = text.replace("deploy.previous_version", "deploy.commit")
    problems = parse_runbook(wrong.encode(), file="checkout-undo.md").problems
    assert any("deploy.commit" in p.message and "previous_version" in p.message for p in problems)
