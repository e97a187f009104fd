"""Pages as data, and the outbox transport that delivers them to outbound webhooks.

Escalation decides a page inside its transaction and queues one outbox row per webhook
(``service.fire_due``); this transport sends each row after that transaction has
committed. Slack's direct messages come from the ``escalation.notified`` timeline event
through chat's projection instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from bot.escalation import handoff
from bot.escalation.config import WebhookConfig
from bot.outbox.model import Cancelled, DeliveryError, Outgoing

log = logging.getLogger(__name__)

WEBHOOK = "webhook"  # the outbox destination family: webhook:NAME


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
    due_at: datetime | None = None  # when the page was due (``at`` is when it was decided)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        data["due_at"] = self.due_at.isoformat() if self.due_at else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notification:
        due = data.get("due_at")
        return cls(
            incident_id=int(data["incident_id"]),
            title=str(data["title"]),
            severity=str(data["severity"]),
            policy=str(data["policy"]),
            level=int(data["level"]),
            round=int(data["round"]),
            targets=tuple(data["targets"]),
            users=tuple(data["users"]),
            groups=tuple(data["groups"]),
            webhooks=tuple(data["webhooks"]),
            text=str(data["text"]),
            at=datetime.fromisoformat(str(data["at"])),
            unresolved=tuple(data.get("unresolved") or ()),
            due_at=datetime.fromisoformat(str(due)) if due else None,
        )


def generic_body(notification: Notification, *, idempotency_key: str | None) -> dict[str, Any]:
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
        "due_at": notification.due_at.isoformat() if notification.due_at else None,
        "idempotency_key": idempotency_key,
    }


_PD_SEVERITY = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "info"}


def pagerduty_body(notification: Notification, routing_key: str) -> dict[str, Any]:
    """A PagerDuty Events API v2 ``trigger``. The dedup key is the incident's: a page sent
    again (a retry whose answer was lost, the next level, a repeat) updates the same
    PagerDuty alert instead of opening another."""
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": handoff.dedup_key(notification.incident_id),
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


_OPSGENIE_PRIORITY = {"SEV1": "P1", "SEV2": "P2", "SEV3": "P3", "SEV4": "P4"}


def opsgenie_alert(notification: Notification) -> dict[str, Any]:
    """An Opsgenie alert, created under the incident's alias: a page sent again updates it."""
    return {
        "message": f"[{notification.severity}] {notification.title}"[:130],
        "alias": handoff.dedup_key(notification.incident_id),
        "description": notification.text[:15000],
        "priority": _OPSGENIE_PRIORITY.get(notification.severity, "P3"),
        "source": "fireline",
        "details": {"incident_id": str(notification.incident_id), "policy": notification.policy},
    }


StillWanted = Callable[[int, bool], str | None]
"""(incident id, sent even if acknowledged) -> why the page is no longer wanted, or None."""

PageFailed = Callable[[Outgoing, Notification, str], Awaitable[None]]


class WebhookTransport:
    """Outbound webhooks (generic JSON or PagerDuty) through the service's one HTTP client.

    One HTTP request per attempt; the outbox retries transport errors, 429 and 5xx with
    backoff (``attempts`` in the webhook's configuration), and a 4xx other than 429 is
    final. Every request carries ``Idempotency-Key``, the same on every retry of a page.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        webhooks: Mapping[str, WebhookConfig],
        secrets: Mapping[str, SecretStr],
        *,
        still_wanted: StillWanted,
        page_failed: PageFailed,
    ) -> None:
        self._client = client
        self._webhooks = webhooks
        self._secrets = secrets
        self._still_wanted = still_wanted
        self._page_failed = page_failed

    def _config(self, message: Outgoing) -> WebhookConfig:
        name = message.destination.partition(":")[2]
        config = self._webhooks.get(name)
        if config is None:
            raise DeliveryError(f"no webhook named {name!r} is configured", permanent=True)
        return config

    def max_attempts(self, message: Outgoing) -> int | None:
        config = self._webhooks.get(message.destination.partition(":")[2])
        return config.attempts if config else 1

    def _secret(self, name: str | None) -> str:
        secret = self._secrets.get(name or "")
        if secret is None:
            raise DeliveryError(f"secret {name!r} is not in FIRELINE_SECRETS", permanent=True)
        return secret.get_secret_value()

    async def deliver(self, message: Outgoing) -> None:
        config = self._config(message)
        if message.kind == handoff.LIFECYCLE:
            await self._lifecycle(message, config)
            return
        notification = Notification.from_json(message.payload["notification"])
        why_not = await asyncio.to_thread(
            self._still_wanted, notification.incident_id, bool(message.payload.get("once"))
        )
        if why_not:
            raise Cancelled(why_not)
        headers = {"Idempotency-Key": message.idempotency_key or f"fireline-outbox-{message.id}"}
        url = config.url
        if config.kind == "pagerduty":
            body = pagerduty_body(notification, self._secret(config.routing_key_secret))
        elif config.kind == "opsgenie":
            body = opsgenie_alert(notification)
            headers["Authorization"] = f"GenieKey {self._secret(config.routing_key_secret)}"
            url = config.url.rstrip("/") + "/v2/alerts"
        else:
            body = generic_body(notification, idempotency_key=message.idempotency_key)
        await self._post(config, url, json.dumps(body).encode(), headers)

    async def _lifecycle(self, message: Outgoing, config: WebhookConfig) -> None:
        """An acknowledgement or resolution for PagerDuty or Opsgenie; any lifecycle event,
        signed, for a generic webhook."""
        payload = message.payload
        headers = {"Idempotency-Key": message.idempotency_key or f"fireline-outbox-{message.id}"}
        url = config.url
        if config.kind == "pagerduty":
            body = handoff.pagerduty_body(payload, self._secret(config.routing_key_secret))
        elif config.kind == "opsgenie":
            url, body = handoff.opsgenie_request(payload, config.url)
            headers["Authorization"] = f"GenieKey {self._secret(config.routing_key_secret)}"
        else:
            body = handoff.lifecycle_body(payload)
        raw = json.dumps(body).encode()
        if config.signing_secret:
            stamp = int(time.time())
            headers["X-Fireline-Request-Timestamp"] = str(stamp)
            headers["X-Fireline-Signature"] = handoff.signature(
                self._secret(config.signing_secret), stamp, raw
            )
        await self._post(config, url, raw, headers)

    async def _post(
        self, config: WebhookConfig, url: str, body: bytes, headers: dict[str, str]
    ) -> None:
        headers = {**headers, "Content-Type": "application/json"}
        try:
            response = await self._client.post(
                url, content=body, headers=headers, timeout=config.timeout.total_seconds()
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return
        retry_after = _retry_after(response) if response.status_code == 429 else None
        transient = response.status_code == 429 or response.status_code >= 500
        raise DeliveryError(
            f"{url} answered {response.status_code}",
            retry_after=retry_after,
            permanent=not transient,
        )

    async def gave_up(self, message: Outgoing, error: str) -> None:
        if message.kind == handoff.LIFECYCLE:
            log.warning("%s: %s not delivered: %s", message.destination, message.kind, error)
            return
        notification = Notification.from_json(message.payload["notification"])
        await self._page_failed(message, notification, error)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
