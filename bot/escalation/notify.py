"""The one notifier interface escalation speaks to, and its adapters.

An adapter gets a ``Notification`` whose targets are already resolved to people, groups
and webhooks, and answers with what it delivered: one ``Delivery`` per channel, with every
attempt, so the timeline records them. Adapters never raise for a failed delivery.

A Slack adapter implements the same protocol: it reads ``users`` and ``groups`` (Slack
ids) and ``text``, and ignores ``webhooks``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from bot.clock import Clock, utcnow
from bot.escalation.config import WebhookConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    incident_id: int
    title: str
    severity: str
    policy: str
    level: int  # 1-based, as people count
    round: int  # 0 the first time through the policy
    targets: tuple[str, ...]  # as configured: "schedule:primary", "role:incident_commander"
    users: tuple[str, ...]  # resolved Slack user ids
    groups: tuple[str, ...]  # Slack user group ids
    webhooks: tuple[str, ...]  # outbound webhook names
    text: str
    at: datetime
    unresolved: tuple[str, ...] = ()  # targets that named nobody (an empty schedule, a role)


@dataclass(frozen=True)
class Attempt:
    number: int
    at: datetime
    status_code: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Delivery:
    channel: str  # "log", "webhook:NAME", "slack"
    ok: bool
    attempts: tuple[Attempt, ...] = ()
    detail: str = ""

    def as_data(self) -> dict[str, Any]:
        data = asdict(self)
        data["attempts"] = [{**asdict(a), "at": a.at.isoformat()} for a in self.attempts]
        return data


class Notifier(Protocol):
    async def notify(self, notification: Notification) -> list[Delivery]: ...


class LogNotifier:
    """The default: a log line (the timeline event is written by the escalation service)."""

    async def notify(self, notification: Notification) -> list[Delivery]:
        log.warning(
            "escalation: incident %s level %s: %s",
            notification.incident_id,
            notification.level,
            notification.text,
        )
        return [Delivery(channel="log", ok=True)]


@dataclass
class FanOut:
    """Every adapter in turn; one adapter's failure does not stop the others."""

    notifiers: Sequence[Notifier] = field(default_factory=list)

    async def notify(self, notification: Notification) -> list[Delivery]:
        deliveries: list[Delivery] = []
        for notifier in self.notifiers:
            try:
                deliveries += await notifier.notify(notification)
            except Exception as exc:
                log.exception("notifier %s failed", type(notifier).__name__)
                deliveries.append(Delivery(type(notifier).__name__, ok=False, detail=str(exc)))
        return deliveries


def generic_body(notification: Notification) -> dict[str, Any]:
    return {
        "event": "escalation",
        "incident_id": notification.incident_id,
        "title": notification.title,
        "severity": notification.severity,
        "policy": notification.policy,
        "level": notification.level,
        "round": notification.round,
        "targets": list(notification.targets),
        "users": list(notification.users),
        "groups": list(notification.groups),
        "text": notification.text,
        "at": notification.at.isoformat(),
    }


_PD_SEVERITY = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "info"}


def pagerduty_body(notification: Notification, routing_key: str) -> dict[str, Any]:
    """A PagerDuty Events API v2 ``trigger``; one dedup key per incident, so repeats of an
    escalation update the same PagerDuty alert instead of opening new ones."""
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": f"fireline-incident-{notification.incident_id}",
        "payload": {
            "summary": f"[{notification.severity}] {notification.title}"[:1024],
            "source": "fireline",
            "severity": _PD_SEVERITY.get(notification.severity, "error"),
            "custom_details": {
                "incident_id": notification.incident_id,
                "policy": notification.policy,
                "level": notification.level,
                "text": notification.text,
            },
        },
    }


class WebhookNotifier:
    """Outbound webhooks through one ``httpx.AsyncClient``, with retries and backoff.

    Retries on transport errors, 429 and 5xx; a 4xx other than 429 is final.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        webhooks: Mapping[str, WebhookConfig],
        secrets: Mapping[str, SecretStr],
        *,
        backoff: float = 0.5,
        clock: Clock = utcnow,
    ) -> None:
        self._client = client
        self._webhooks = webhooks
        self._secrets = secrets
        self._backoff = backoff
        self._clock = clock

    async def notify(self, notification: Notification) -> list[Delivery]:
        return [await self._send(name, notification) for name in notification.webhooks]

    async def _send(self, name: str, notification: Notification) -> Delivery:
        config = self._webhooks.get(name)
        channel = f"webhook:{name}"
        if config is None:
            return Delivery(channel, ok=False, detail="no such webhook configured")
        if config.kind == "pagerduty":
            secret = self._secrets.get(config.routing_key_secret or "")
            if secret is None:
                detail = f"secret {config.routing_key_secret!r} is not in FIRELINE_SECRETS"
                return Delivery(channel, ok=False, detail=detail)
            body = pagerduty_body(notification, secret.get_secret_value())
        else:
            body = generic_body(notification)
        attempts: list[Attempt] = []
        for number in range(1, config.attempts + 1):
            if number > 1:
                await asyncio.sleep(self._backoff * 2 ** (number - 2))
            at = self._clock()
            try:
                response = await self._client.post(
                    config.url, json=body, timeout=config.timeout.total_seconds()
                )
            except httpx.HTTPError as exc:
                attempts.append(Attempt(number, at, error=f"{type(exc).__name__}: {exc}"))
                continue
            attempts.append(Attempt(number, at, status_code=response.status_code))
            if response.is_success:
                return Delivery(channel, ok=True, attempts=tuple(attempts))
            if response.status_code != 429 and response.status_code < 500:
                break
        return Delivery(channel, ok=False, attempts=tuple(attempts), detail="gave up")
