"""Outbound webhooks against a real local HTTP server: retries, PagerDuty shape, records."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from bot.escalation.config import WebhookConfig
from bot.escalation.notify import Notification, WebhookNotifier
from tests.escalation.httpserver import http_server
from tests.escalation.support import T0


def notification(**overrides: Any) -> Notification:
    values: dict[str, Any] = {
        "incident_id": 7,
        "title": "Checkout 5xx",
        "severity": "SEV1",
        "policy": "default",
        "level": 2,
        "round": 0,
        "targets": ("webhook:pd",),
        "users": ("U1",),
        "groups": (),
        "webhooks": ("pd",),
        "text": "[SEV1] Checkout 5xx: level 2",
        "at": T0,
    }
    values.update(overrides)
    return Notification(**values)


async def test_retries_on_500_and_records_every_attempt() -> None:
    with http_server([500, 503]) as server:
        hooks = {"pd": WebhookConfig(url=f"{server.url}/hook", attempts=3)}
        async with httpx.AsyncClient() as client:
            notifier = WebhookNotifier(client, hooks, {}, backoff=0.01)
            (delivery,) = await notifier.notify(notification())
    assert delivery.ok
    assert [a.status_code for a in delivery.attempts] == [500, 503, 200]
    assert len(server.requests) == 3
    body = server.requests[-1]["json"]
    assert (body["incident_id"], body["level"], body["users"]) == (7, 2, ["U1"])


async def test_gives_up_after_the_attempts_and_says_so() -> None:
    with http_server([500, 500, 500]) as server:
        hooks = {"pd": WebhookConfig(url=f"{server.url}/hook", attempts=2)}
        async with httpx.AsyncClient() as client:
            (delivery,) = await WebhookNotifier(client, hooks, {}, backoff=0.01).notify(
                notification()
            )
    assert not delivery.ok
    assert [a.status_code for a in delivery.attempts] == [500, 500]


async def test_a_client_error_is_not_retried() -> None:
    with http_server([400]) as server:
        hooks = {"pd": WebhookConfig(url=f"{server.url}/hook", attempts=3)}
        async with httpx.AsyncClient() as client:
            (delivery,) = await WebhookNotifier(client, hooks, {}, backoff=0.01).notify(
                notification()
            )
    assert not delivery.ok
    assert len(server.requests) == 1


async def test_connection_refused_is_an_attempt_with_an_error() -> None:
    with http_server() as server:
        url = server.url
    hooks = {"pd": WebhookConfig(url=f"{url}/hook", attempts=2)}
    async with httpx.AsyncClient() as client:
        (delivery,) = await WebhookNotifier(client, hooks, {}, backoff=0.01).notify(notification())
    assert not delivery.ok
    assert all(a.error and "ConnectError" in a.error for a in delivery.attempts)


async def test_pagerduty_events_v2_trigger_with_the_named_routing_key() -> None:
    with http_server() as server:
        hooks = {
            "pd": WebhookConfig(
                url=f"{server.url}/v2/enqueue", kind="pagerduty", routing_key_secret="pd_key"
            )
        }
        secrets = {"pd_key": SecretStr("R0UT1NGKEY")}
        async with httpx.AsyncClient() as client:
            (delivery,) = await WebhookNotifier(client, hooks, secrets).notify(notification())
    assert delivery.ok
    (request,) = server.requests
    assert request["path"] == "/v2/enqueue"
    body = request["json"]
    assert body["routing_key"] == "R0UT1NGKEY"
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == "fireline-incident-7"
    assert body["payload"]["severity"] == "critical"
    assert body["payload"]["source"] == "fireline"
    assert "R0UT1NGKEY" not in str(delivery.as_data())


async def test_a_missing_secret_is_a_failed_delivery_not_a_crash() -> None:
    hooks = {
        "pd": WebhookConfig(url="http://127.0.0.1:9/x", kind="pagerduty", routing_key_secret="k")
    }
    async with httpx.AsyncClient() as client:
        (delivery,) = await WebhookNotifier(client, hooks, {}).notify(notification())
    assert not delivery.ok
    assert "FIRELINE_SECRETS" in delivery.detail
