"""Payloads that other Alertmanager-family senders really send are accepted and triaged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.app.settings import Settings
from bot.ingest.model import WebhookPayload
from storage.tables import AlertRecord, Incident, TimelineEvent, WebhookReceipt
from tests.ingest.test_webhook import AUTH, TOKEN, post
from tests.support import alert, payload, running_app, settle

FAMILY = Path(__file__).parent.parent / "fixtures" / "alertmanager_family"
CAPTURED = Path(__file__).parent.parent / "fixtures"
NAMES = sorted(p.name for p in FAMILY.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_the_collection_is_large_and_every_file_is_credited() -> None:
    readme = (FAMILY / "README.md").read_text()
    assert len(NAMES) >= 12
    for name in NAMES:
        assert f"`{name}`" in readme


@pytest.mark.parametrize("name", NAMES)
async def test_each_payload_is_accepted_and_triaged(
    name: str, make_settings: Callable[..., Settings]
) -> None:
    body = _load(FAMILY / name)
    async with running_app(make_settings(webhook_token=TOKEN)) as (app, client):
        response = await post(client, body, AUTH)
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "accepted", "alerts": len(body["alerts"])}
        await settle(app)
        with app.state.runtime.db.session() as session:
            [receipt] = session.exec(select(WebhookReceipt)).all()
            incidents = session.exec(select(Incident)).all()
            alerts = session.exec(select(AlertRecord)).all()
            opened = session.exec(
                select(TimelineEvent).where(col(TimelineEvent.kind) == "incident.opened")
            ).all()
        assert receipt.error is None
        assert receipt.processed_at is not None
        assert alerts
        assert all(a.fingerprint for a in alerts)
        firing = [a for a in body["alerts"] if a.get("status", body["status"]) == "firing"]
        if firing:
            assert len(incidents) == 1
            assert incidents[0].status == "open"
            [event] = opened
            assert event.data["payload_version"] == str(body.get("version", "4"))
        else:
            assert incidents == []


def test_computed_fingerprints_match_the_ones_alertmanager_sent() -> None:
    checked = 0
    for path in [*CAPTURED.glob("*.json"), FAMILY / "pythonwebhook_testcurl7.json"]:
        body = _load(path)
        for sent in body["alerts"]:
            without = {**body, "alerts": [{k: v for k, v in sent.items() if k != "fingerprint"}]}
            [computed] = WebhookPayload.model_validate(without).alerts
            assert computed.fingerprint == sent["fingerprint"], path.name
            checked += 1
    assert checked >= 5


def test_a_missing_group_key_is_derived_from_the_group_labels() -> None:
    body = payload([alert()], group_labels={"service": "api", "alertname": 'say "hi"'})
    del body["groupKey"]
    derived = WebhookPayload.model_validate(body)
    assert derived.groupKey == '{}:{alertname="say \\"hi\\"", service="api"}'
    assert WebhookPayload.model_validate({**body, "groupKey": 17}).groupKey == "17"


def test_grafana_links_are_kept_only_when_they_are_web_links() -> None:
    grafana = {
        **alert(),
        "dashboardURL": "https://grafana.example/d/abc",
        "panelURL": "javascript:alert(1)",
        "silenceURL": "https://grafana.example/|fake> <!channel>",
    }
    [parsed] = WebhookPayload.model_validate(payload([grafana])).alerts
    assert parsed.links == {"dashboard": "https://grafana.example/d/abc"}


async def test_grafana_links_reach_the_card(make_settings: Callable[..., Settings]) -> None:
    from bot.chat.service import load_view
    from bot.chat.slack.blocks import card_blocks

    body = _load(FAMILY / "grafana_webhook_notifier_docs.json")
    body["alerts"][0]["dashboardURL"] = "https://play.grafana.org/d/abc"
    async with running_app(make_settings(webhook_token=TOKEN)) as (app, client):
        assert (await post(client, body, AUTH)).status_code == 200
        await settle(app)
        runtime = app.state.runtime
        with runtime.db.session() as session:
            [incident] = session.exec(select(Incident)).all()
            assert incident.id is not None
            view = load_view(session, incident.id, now=runtime.clock())
        assert view is not None
        text = json.dumps(card_blocks(view, can_silence=False))
        assert "<https://play.grafana.org/d/abc|dashboard>" in text
        assert "|silence>" in text
