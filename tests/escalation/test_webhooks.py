"""The webhook transport against a real local HTTP server: what it sends, and how each
answer is taken (retry, give up, drop)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.escalation.config import WebhookConfig
from bot.escalation.notify import Notification, WebhookTransport
from bot.outbox.model import Cancelled, DeliveryError, Outgoing
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
        "due_at": T0 - timedelta(seconds=1),
    }
    values.update(overrides)
    return Notification(**values)


def row(page: Notification | None = None, *, once: bool = False) -> Outgoing:
    return Outgoing(
        id=41,
        destination="webhook:pd",
        lane="webhook:pd:incident:7",
        kind="page",
        payload={"notification": (page or notification()).as_json(), "once": once},
        incident_id=7,
        idempotency_key="page:7:3:pd",
        attempt=1,
        interrupted=False,
        suppressed=0,
        created_at=T0,
    )


class Failures:
    def __init__(self) -> None:
        self.errors: list[str] = []

    async def __call__(self, message: Outgoing, page: Notification, error: str) -> None:
        self.errors.append(error)


def transport(
    client: httpx.AsyncClient,
    hooks: dict[str, WebhookConfig],
    secrets: dict[str, SecretStr] | None = None,
    wanted: str | None = None,
) -> WebhookTransport:
    return WebhookTransport(
        client, hooks, secrets or {}, still_wanted=lambda _i, _o: wanted, page_failed=Failures()
    )


def test_a_page_round_trips_through_its_outbox_payload() -> None:
    page = notification()
    assert Notification.from_json(page.as_json()) == page


async def test_a_generic_page_carries_its_idempotency_key_and_due_time() -> None:
    with http_server() as server:
        hooks = {"pd": WebhookConfig(url=f"{server.url}/hook")}
        async with httpx.AsyncClient() as client:
            await transport(client, hooks).deliver(row())
    (request,) = server.requests
    assert request["headers"]["Idempotency-Key"] == "page:7:3:pd"
    body = request["json"]
    assert (body["incident_id"], body["level"], body["users"]) == (7, 2, ["U1"])
    assert body["idempotency_key"] == "page:7:3:pd"
    assert body["due_at"] == (T0 - timedelta(seconds=1)).isoformat()


@pytest.mark.parametrize(
    ("status", "permanent"), [(500, False), (503, False), (429, False), (400, True)]
)
async def test_server_errors_and_429_are_retried_a_client_error_is_final(
    status: int, permanent: bool
) -> None:
    with http_server([status]) as server:
        hooks = {"pd": WebhookConfig(url=f"{server.url}/hook")}
        async with httpx.AsyncClient() as client:
            with pytest.raises(DeliveryError) as refused:
                await transport(client, hooks).deliver(row())
    assert refused.value.permanent is permanent
    assert str(status) in str(refused.value)


async def test_connection_refused_is_a_transient_failure() -> None:
    with http_server() as server:
        url = server.url
    hooks = {"pd": WebhookConfig(url=f"{url}/hook", attempts=2)}
    async with httpx.AsyncClient() as client:
        sender = transport(client, hooks)
        with pytest.raises(DeliveryError) as refused:
            await sender.deliver(row())
    assert not refused.value.permanent
    assert "ConnectError" in str(refused.value)
    assert sender.max_attempts(row()) == 2


async def test_a_page_no_longer_wanted_is_cancelled_without_a_request() -> None:
    with http_server() as server:
        hooks = {"pd": WebhookConfig(url=f"{server.url}/hook")}
        async with httpx.AsyncClient() as client:
            with pytest.raises(Cancelled, match="acknowledged"):
                await transport(client, hooks, wanted="ann acknowledged").deliver(row())
    assert server.requests == []


async def test_pagerduty_events_v2_trigger_with_the_named_routing_key() -> None:
    with http_server() as server:
        hooks = {
            "pd": WebhookConfig(
                url=f"{server.url}/v2/enqueue", kind="pagerduty", routing_key_secret="pd_key"
            )
        }
        secrets = {"pd_key": SecretStr("R0UT1NGKEY")}
        async with httpx.AsyncClient() as client:
            await transport(client, hooks, secrets).deliver(row())
    (request,) = server.requests
    assert request["path"] == "/v2/enqueue"
    body = request["json"]
    assert body["routing_key"] == "R0UT1NGKEY"
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == "fireline-incident-7"
    assert body["payload"]["severity"] == "critical"
    assert body["payload"]["source"] == "fireline"
    assert request["headers"]["Idempotency-Key"] == "page:7:3:pd"


async def test_a_missing_secret_is_a_permanent_failure_not_a_crash() -> None:
    hooks = {
        "pd": WebhookConfig(url="http://127.0.0.1:9/x", kind="pagerduty", routing_key_secret="k")
    }
    async with httpx.AsyncClient() as client:
        with pytest.raises(DeliveryError, match="FIRELINE_SECRETS") as refused:
            await transport(client, hooks).deliver(row())
    assert refused.value.permanent
