"""Runbooks through the real app: selection on the timeline, reload, last good version."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.app.settings import Settings
from bot.runbooks.parser import content_hash
from storage.tables import Incident, TimelineEvent
from tests.support import alert, payload, running_app, settle

CHECKOUT = """---
id: checkout-crashloop
title: Checkout pods crash-looping
match:
  alertname: KubePodCrashLooping
  namespace: =~"checkout(-canary)?"
priority: 10
params:
  namespace: {from: labels.namespace, type: k8s_name}
  pod: {from: labels.pod, type: k8s_name}
---
# Checkout crash loop
"""

GENERIC = """---
id: generic-crashloop
title: Any pod crash-looping
match: {alertname: KubePodCrashLooping}
priority: 10
---
# Crash loop
"""

PAYMENTS = """---
id: payments-crashloop
title: Payments pods crash-looping
match: {alertname: KubePodCrashLooping, namespace: payments}
---
# Payments
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def events_of(app: Any, incident_id: int | None, prefix: str = "runbook.") -> list[TimelineEvent]:
    with app.state.runtime.db.session() as session:
        query = select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
        rows = session.exec(query.order_by(col(TimelineEvent.id)))
        return [e for e in rows if e.kind.startswith(prefix)]


def incidents_in(app: Any) -> list[Incident]:
    with app.state.runtime.db.session() as session:
        return list(session.exec(select(Incident).order_by(col(Incident.id))))


async def fire(client: Any, app: Any, labels: dict[str, str], **kw: Any) -> None:
    group = {"pod": labels["pod"]}
    body = payload([alert("KubePodCrashLooping", labels=labels, **kw)], group_labels=group)
    response = await client.post("/webhooks/alertmanager", json=body)
    assert response.status_code == 200
    await settle(app)


async def test_webhook_incident_records_the_selected_runbook(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    path = write(tmp_path, "checkout.md", CHECKOUT)
    write(tmp_path, "payments.md", PAYMENTS)
    settings = make_settings(runbook_dirs=[tmp_path], runbook_reload_interval="0s")
    async with running_app(settings) as (app, client):
        await fire(client, app, {"namespace": "checkout-canary", "pod": "api-7f9c"})
        [incident] = incidents_in(app)
        assert incident.runbook_id == "checkout-crashloop"
        assert incident.runbook_hash == content_hash(path.read_bytes())
        [event] = events_of(app, incident.id)
        assert event.kind == "runbook.selected"
        assert event.actor == "fireline"
        assert event.data["runbook_id"] == "checkout-crashloop"
        assert event.data["runbook_hash"] == incident.runbook_hash
        assert event.data["title"] == "Checkout pods crash-looping"
        assert event.data["params"] == {"namespace": "checkout-canary", "pod": "api-7f9c"}
        assert event.data["param_errors"] == {}
        assert "matchers fit" in event.data["reason"]


async def test_no_match_and_tie_are_timeline_events(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    write(tmp_path, "payments.md", PAYMENTS)
    settings = make_settings(runbook_dirs=[tmp_path], runbook_reload_interval="0s")
    async with running_app(settings) as (app, client):
        await fire(client, app, {"namespace": "search", "pod": "a"}, fingerprint="1" * 16)
        [incident] = incidents_in(app)
        assert incident.runbook_id is None
        [event] = events_of(app, incident.id)
        assert event.kind == "runbook.none"
        assert event.data["near_misses"] == [
            {"runbook_id": "payments-crashloop", "priority": 0, "failed": ['namespace="payments"']}
        ]

        write(tmp_path, "checkout.md", CHECKOUT)
        write(tmp_path, "generic.md", GENERIC)
        reloaded = (await client.post("/api/runbooks/reload")).json()
        assert sorted(Path(p).name for p in reloaded["loaded"]) == ["checkout.md", "generic.md"]
        labels = {"namespace": "checkout", "pod": "b", "cluster": "eu"}
        await fire(client, app, labels, fingerprint="2" * 16)
        second = incidents_in(app)[-1]
        [tie] = events_of(app, second.id)
        assert tie.kind == "runbook.tie"
        assert tie.data["chosen"] is None
        assert sorted(c["runbook_id"] for c in tie.data["candidates"]) == [
            "checkout-crashloop",
            "generic-crashloop",
        ]
        assert second.runbook_id is None


async def test_annotation_names_the_runbook(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    write(tmp_path, "checkout.md", CHECKOUT)
    write(tmp_path, "payments.md", PAYMENTS)
    settings = make_settings(runbook_dirs=[tmp_path], runbook_reload_interval="0s")
    async with running_app(settings) as (app, client):
        url = "https://github.com/acme/ops/blob/main/runbooks/payments.md"
        await fire(
            client, app, {"namespace": "checkout", "pod": "x"}, annotations={"runbook_url": url}
        )
        [incident] = incidents_in(app)
        assert incident.runbook_id == "payments-crashloop"
        [event] = events_of(app, incident.id)
        assert "runbook_url annotation" in event.data["reason"]


async def test_a_bad_edit_keeps_the_last_good_version(
    make_settings: Callable[..., Settings], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, "checkout.md", CHECKOUT)
    good_hash = content_hash(path.read_bytes())
    settings = make_settings(runbook_dirs=[tmp_path], runbook_reload_interval="0s")
    async with running_app(settings) as (app, client):
        listed = (await client.get("/api/runbooks")).json()
        assert [r["id"] for r in listed["runbooks"]] == ["checkout-crashloop"]
        assert listed["failures"] == []

        path.write_text(CHECKOUT.replace("priority: 10", "priority: 10\ncolour: red"))
        with caplog.at_level(logging.WARNING, logger="bot.runbooks.loader"):
            reloaded = (await client.post("/api/runbooks/reload")).json()
        assert reloaded["failed"] == [str(path)]
        assert f"{path}:8: unknown field 'colour'" in caplog.text

        listed = (await client.get("/api/runbooks")).json()
        [runbook] = listed["runbooks"]
        assert runbook["hash"] == good_hash
        [failure] = listed["failures"]
        assert failure["file"] == str(path)
        assert failure["keeping"] == good_hash
        assert failure["problems"] == [f"{path}:8: unknown field 'colour'"]

        # Selection still uses the last good version.
        await fire(client, app, {"namespace": "checkout", "pod": "x"})
        [incident] = incidents_in(app)
        assert incident.runbook_hash == good_hash

        path.write_text(CHECKOUT.replace("Checkout pods", "Checkout API pods"))
        await client.post("/api/runbooks/reload")
        listed = (await client.get("/api/runbooks")).json()
        assert listed["failures"] == []
        assert listed["runbooks"][0]["title"] == "Checkout API pods crash-looping"
        assert listed["runbooks"][0]["hash"] == content_hash(path.read_bytes())


async def test_files_are_polled_for_changes(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    import asyncio

    settings = make_settings(runbook_dirs=[tmp_path], runbook_reload_interval="0.05s")
    async with running_app(settings) as (_app, client):
        assert (await client.get("/api/runbooks")).json()["runbooks"] == []
        write(tmp_path, "payments.md", PAYMENTS)
        for _ in range(200):
            listed = (await client.get("/api/runbooks")).json()
            if listed["runbooks"]:
                break
            await asyncio.sleep(0.02)
        assert [r["id"] for r in listed["runbooks"]] == ["payments-crashloop"]
        detail = (await client.get("/api/runbooks/payments-crashloop")).json()
        assert detail["match"] == ['alertname="KubePodCrashLooping"', 'namespace="payments"']
        assert (await client.get("/api/runbooks/nope")).status_code == 404


async def test_match_endpoint(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    write(tmp_path, "checkout.md", CHECKOUT)
    settings = make_settings(runbook_dirs=[tmp_path], runbook_reload_interval="0s")
    async with running_app(settings) as (_app, client):
        body = {
            "labels": {"alertname": "KubePodCrashLooping", "namespace": "checkout", "pod": "-x"}
        }
        answer = (await client.post("/api/runbooks/match", json=body)).json()
        assert answer["chosen"] == "checkout-crashloop"
        assert answer["params"] == {"namespace": "checkout"}
        assert "starts with '-'" in answer["param_errors"]["pod"]
