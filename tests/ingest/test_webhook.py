"""The webhook through the real app: auth, validation, durability, triage into incidents."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.app.settings import Settings
from storage.tables import AlertRecord, Incident, TimelineEvent, WebhookReceipt
from tests.support import alert, load_fixture, payload, running_app, settle

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def post(client: Any, body: Any, headers: dict[str, str] | None = None) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = client.post(
        "/webhooks/alertmanager", content=data, headers=AUTH if headers is None else headers
    )
    return await asyncio.wait_for(request, 30)


def incidents_in(app: Any) -> list[Incident]:
    with app.state.runtime.db.session() as session:
        return list(session.exec(select(Incident).order_by(col(Incident.id))))


def events_of(app: Any, incident_id: int | None) -> list[TimelineEvent]:
    with app.state.runtime.db.session() as session:
        query = select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
        return list(session.exec(query.order_by(col(TimelineEvent.id))))


def alerts_in(app: Any) -> list[AlertRecord]:
    with app.state.runtime.db.session() as session:
        return list(session.exec(select(AlertRecord).order_by(col(AlertRecord.id))))


async def test_captured_firing_then_resolved_opens_and_resolves(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(webhook_token=TOKEN)) as (app, client):
        response = await post(client, load_fixture("prom_firing.json"))
        assert response.status_code == 200
        assert response.json() == {"status": "accepted", "alerts": 1}
        await settle(app)
        [incident] = incidents_in(app)
        assert incident.status == "open"
        assert incident.severity == "SEV1"  # severity="critical"
        assert incident.service == "victim"
        assert incident.title == "127.0.0.1:19100 is down"
        assert incident.started_at == datetime(2026, 11, 22, 21, 53, 58, 272000, tzinfo=UTC)

        assert (await post(client, load_fixture("prom_resolved.json"))).status_code == 200
        await settle(app)
        [incident] = incidents_in(app)
        assert incident.status == "resolved"
        assert incident.resolved_by == "alertmanager"
        kinds = [e.kind for e in events_of(app, incident.id)]
        assert kinds.count("alert.fired") == 1
        assert kinds.count("alert.resolved") == 1
        lifecycle = [k for k in kinds if k.startswith(("alert.", "incident."))]
        assert lifecycle[-1] == "incident.resolved"


async def test_mixed_group_tracks_each_alert(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings()) as (app, client):
        assert (await post(client, load_fixture("am_mixed.json"))).status_code == 200
        await settle(app)
        [incident] = incidents_in(app)
        assert incident.status == "open"
        status = {a.labels["instance"]: a.status for a in alerts_in(app)}
        assert status == {"a": "resolved", "b": "firing"}


async def test_resolved_before_firing_leaves_no_ghost(
    make_settings: Callable[..., Settings],
) -> None:
    starts = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    firing = payload([alert("DiskFull", fingerprint="aaaaaaaaaaaaaaaa", starts_at=starts)])
    resolved = payload(
        [alert("DiskFull", fingerprint="aaaaaaaaaaaaaaaa", starts_at=starts, status="resolved")]
    )
    async with running_app(make_settings()) as (app, client):
        assert (await post(client, resolved)).status_code == 200
        await settle(app)
        assert (await post(client, firing)).status_code == 200
        await settle(app)
        [record] = alerts_in(app)
        assert record.status == "resolved"
        assert all(i.status == "resolved" for i in incidents_in(app))


async def test_redelivery_creates_no_duplicates(make_settings: Callable[..., Settings]) -> None:
    body = load_fixture("am_firing.json")
    async with running_app(make_settings()) as (app, client):
        for _ in range(3):
            assert (await post(client, body)).status_code == 200
        await settle(app)
        [incident] = incidents_in(app)
        assert len(alerts_in(app)) == len(body["alerts"])
        kinds = [e.kind for e in events_of(app, incident.id)]
        assert kinds.count("alert.fired") == len(body["alerts"])
        assert kinds.count("incident.opened") == 1
        with app.state.runtime.db.session() as session:
            assert len(list(session.exec(select(WebhookReceipt)))) == 3  # every delivery kept


async def test_partial_resolves_across_payloads_in_any_order(
    make_settings: Callable[..., Settings],
) -> None:
    starts = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    fps = ["1111111111111111", "2222222222222222", "3333333333333333"]
    group = {"alertname": "NodeDown", "service": "api"}

    def one(fp: str, status: str) -> dict[str, Any]:
        labels = {"service": "api", "instance": fp[:4]}
        return alert("NodeDown", fingerprint=fp, status=status, starts_at=starts, labels=labels)

    async with running_app(make_settings()) as (app, client):
        body = payload([one(fp, "firing") for fp in fps], group_labels=group)
        await post(client, body)
        await settle(app)
        for fp in (fps[2], fps[0]):
            await post(client, payload([one(fp, "resolved")], group_labels=group))
            await settle(app)
            assert incidents_in(app)[0].status == "open"
        # a late repeat of the original firing payload must not revive resolved alerts
        await post(client, body)
        await settle(app)
        assert incidents_in(app)[0].status == "open"
        assert sorted(a.status for a in alerts_in(app)) == ["firing", "resolved", "resolved"]
        await post(client, payload([one(fps[1], "resolved")], group_labels=group))
        await settle(app)
        [incident] = incidents_in(app)
        assert incident.status == "resolved"


async def test_flap_reopens_within_window_and_opens_new_after(
    make_settings: Callable[..., Settings],
) -> None:
    now = [datetime(2026, 11, 22, 12, 0, tzinfo=UTC)]
    first = datetime(2026, 11, 22, 11, 55, tzinfo=UTC)
    fp = "abcdefabcdefabcd"

    def fire(starts: datetime, status: str = "firing") -> dict[str, Any]:
        return payload([alert("Flappy", fingerprint=fp, starts_at=starts, status=status)])

    settings = make_settings(flap_window="10m")
    async with running_app(settings, clock=lambda: now[0]) as (app, client):
        await post(client, fire(first))
        await post(client, fire(first, "resolved"))
        await settle(app)
        now[0] += timedelta(minutes=5)
        second = first + timedelta(minutes=9)
        await post(client, fire(second))
        await settle(app)
        [incident] = incidents_in(app)
        assert incident.status == "open"
        assert incident.reopen_count == 1
        await post(client, fire(second, "resolved"))
        await settle(app)
        now[0] += timedelta(minutes=30)
        await post(client, fire(second + timedelta(minutes=30)))
        await settle(app)
        old, new = incidents_in(app)
        assert old.status == "resolved"
        assert new.status == "open"


async def test_thousand_alert_payload(make_settings: Callable[..., Settings]) -> None:
    alerts = [
        alert("PodNotReady", fingerprint=f"{i:016x}", labels={"pod": f"web-{i}"})
        for i in range(1000)
    ]
    async with running_app(make_settings()) as (app, client):
        response = await post(client, payload(alerts))
        assert response.status_code == 200
        assert response.json()["alerts"] == 1000
        await settle(app, within=60)
        assert len(alerts_in(app)) == 1000
        assert len(incidents_in(app)) == 1


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (b"{not json", "body"),
        (b"[]", "body"),
        (json.dumps({**payload([alert()]), "version": ["4"]}).encode(), "version"),
        (json.dumps({**payload([alert()]), "alerts": "many"}).encode(), "alerts"),
        (
            json.dumps(payload([{**alert(), "startsAt": "yesterday"}])).encode(),
            "alerts.0.startsAt",
        ),
        (
            json.dumps(payload([{**alert(), "labels": {"alertname": "X", "a": 1}}])).encode(),
            "alerts.0.labels.a",
        ),
        (
            json.dumps({k: v for k, v in payload([alert()]).items() if k != "receiver"}).encode(),
            "receiver",
        ),
        (json.dumps({**payload([alert()]), "groupKey": {"a": 1}}).encode(), "groupKey"),
        (
            json.dumps(
                {**payload([alert()]), "alerts": [{**alert(), "labels": ["x"], "fingerprint": ""}]}
            ).encode(),
            "alerts.0.labels",
        ),
    ],
)
async def test_invalid_bodies_get_422_with_the_field_path(
    make_settings: Callable[..., Settings], body: bytes, loc: str
) -> None:
    async with running_app(make_settings()) as (app, client):
        response = await post(client, body)
        assert response.status_code == 422
        problems = response.json()["detail"]
        assert all(problem["loc"][0] == "body" for problem in problems)  # FastAPI's shape
        assert loc in [".".join(map(str, p["loc"][1:])) or "body" for p in problems]
        with app.state.runtime.db.session() as session:
            assert list(session.exec(select(WebhookReceipt))) == []


async def test_token_is_required_when_configured(make_settings: Callable[..., Settings]) -> None:
    body = load_fixture("am_firing.json")
    async with running_app(make_settings(webhook_token=TOKEN)) as (app, client):
        assert (await post(client, body, headers={})).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await post(client, body, headers=wrong)).status_code == 401
        basic = {"Authorization": f"Basic {TOKEN}"}
        assert (await post(client, body, headers=basic)).status_code == 401
        broken = await client.post("/webhooks/alertmanager", content=b"{")
        assert broken.status_code == 401, "the body of an unauthenticated request is not parsed"
        assert (await post(client, body)).status_code == 200
        with app.state.runtime.db.session() as session:
            assert len(list(session.exec(select(WebhookReceipt)))) == 1


async def test_a_refused_webhook_names_the_setting_and_is_logged(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    body = load_fixture("am_firing.json")
    async with running_app(make_settings(webhook_token=TOKEN)) as (_app, client):
        with caplog.at_level(logging.WARNING, logger="bot.ingest.api"):
            response = await post(client, body, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert "FIRELINE_WEBHOOK_TOKEN" in response.json()["detail"]
    (refused,) = [r for r in caplog.records if r.name == "bot.ingest.api"]
    assert refused.levelno == logging.WARNING
    assert "refused from 127.0.0.1:" in refused.getMessage()
    assert "nope" not in refused.getMessage()


async def test_oversized_body_gets_413(make_settings: Callable[..., Settings]) -> None:
    big = payload([alert(annotations={"description": "x" * 5000})])
    async with running_app(make_settings(max_body_bytes=4096)) as (_, client):
        assert (await post(client, big)).status_code == 413


async def test_concurrent_deliveries_for_one_group_make_one_incident(
    make_settings: Callable[..., Settings],
) -> None:
    starts = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    group = {"alertname": "HighLatency"}
    bodies = [
        payload(
            [alert("HighLatency", fingerprint=f"{i:016x}", starts_at=starts, labels={"i": str(i)})],
            group_labels=group,
        )
        for i in range(20)
    ]
    settings = make_settings()
    # Two app instances on one database: two replicas, each with its own triage worker.
    async with running_app(settings) as (app_a, client_a), running_app(settings) as (app_b, b):
        responses = await asyncio.gather(
            *(post(client_a if i % 2 else b, body) for i, body in enumerate(bodies))
        )
        assert {r.status_code for r in responses} == {200}
        await settle(app_a)
        await settle(app_b)
        [incident] = incidents_in(app_a)
        assert len(alerts_in(app_a)) == 20
        assert all(a.incident_id == incident.id for a in alerts_in(app_a))
