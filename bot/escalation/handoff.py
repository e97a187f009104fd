"""Hand-off to other pagers and receivers, for the whole life of an incident.

PagerDuty and Opsgenie hear the page (``notify.py``), then the acknowledgement and the
resolution, under one key per incident (``dedup_key`` / ``alias``), so their incident
closes when Fireline's does. A generic webhook with ``lifecycle: true`` hears every
lifecycle event as a versioned JSON body, signed as Slack signs its requests: the header
``X-Fireline-Signature: v1=HEX`` is HMAC-SHA256 of ``v1:TIMESTAMP:BODY`` with the webhook's
secret, the timestamp in ``X-Fireline-Request-Timestamp``, so a receiver can check the
sender and drop replays (``verify``).

The ``handoff`` timeline projection queues each of these as a ``webhook:NAME`` outbox row,
whoever wrote the event.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.escalation.config import WebhookConfig
from bot.events import EventKind
from bot.outbox import service as outbox
from bot.outbox.projection import EventHandler
from storage import queries
from storage.tables import Incident, TimelineEvent

NAME = "handoff"  # the projection's cursor
LIFECYCLE = "lifecycle"  # the outbox rows' kind
VERSION = 1
TOLERANCE = 300  # seconds a signed body stays acceptable to a receiver

# The webhook body's event names (docs/webhooks.md): the incident's own timeline kinds
# keep their names; the two named after other kinds are spelled for a receiver. The
# tests pin every name, so a renamed timeline kind cannot silently change the contract.
EVENTS: Mapping[str, str] = {
    EventKind.INCIDENT_OPENED: EventKind.INCIDENT_OPENED.value,
    EventKind.SEVERITY_CHANGED: "incident.severity_changed",
    EventKind.INCIDENT_ACKNOWLEDGED: EventKind.INCIDENT_ACKNOWLEDGED.value,
    EventKind.INCIDENT_UNACKNOWLEDGED: EventKind.INCIDENT_UNACKNOWLEDGED.value,
    EventKind.ESCALATION_NOTIFIED: "incident.escalated",
    EventKind.INCIDENT_RESOLVED: EventKind.INCIDENT_RESOLVED.value,
}
ACKNOWLEDGED = EVENTS[EventKind.INCIDENT_ACKNOWLEDGED]
ESCALATED = EVENTS[EventKind.ESCALATION_NOTIFIED]
PAGER_EVENTS = frozenset({ACKNOWLEDGED, EVENTS[EventKind.INCIDENT_RESOLVED]})


def dedup_key(incident_id: int) -> str:
    """The one key of an incident at PagerDuty (``dedup_key``) and Opsgenie (``alias``)."""
    return f"fireline-incident-{incident_id}"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"v1:{timestamp}:".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, given: str, *, now: float) -> bool:
    """What a receiver runs: the signature is ours and the body is fresh."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > TOLERANCE:
        return False
    return hmac.compare_digest(signature(secret, sent, body), given)


def lifecycle_body(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The documented generic body (docs/webhooks.md), version 1."""
    return {
        "version": VERSION,
        "id": payload["delivery_id"],
        "event": payload["event"],
        "at": payload["at"],
        "actor": payload["actor"],
        "text": payload["text"],
        "incident": payload["incident"],
    }


def pagerduty_body(payload: Mapping[str, Any], routing_key: str) -> dict[str, Any]:
    action = "acknowledge" if payload["event"] == ACKNOWLEDGED else "resolve"
    return {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(int(payload["incident"]["id"])),
    }


def opsgenie_request(payload: Mapping[str, Any], base_url: str) -> tuple[str, dict[str, Any]]:
    """(url, body) of an Opsgenie acknowledge or close, by the incident's alias."""
    verb = "acknowledge" if payload["event"] == ACKNOWLEDGED else "close"
    alias = dedup_key(int(payload["incident"]["id"]))
    url = f"{base_url.rstrip('/')}/v2/alerts/{alias}/{verb}?identifierType=alias"
    return url, {
        "user": str(payload["actor"])[:100],
        "source": "fireline",
        "note": payload["text"][:25000],
    }


def _paged(session: Session, incident_id: int, name: str) -> bool:
    notified = queries.events_of_kind(session, incident_id, EventKind.ESCALATION_NOTIFIED)
    return any(name in (e.data.get("webhooks") or ()) for e in notified)


def _incident(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "service": incident.service,
    }


def handler(webhooks: Mapping[str, WebhookConfig]) -> EventHandler:
    def handle(session: Session, event: TimelineEvent, now: datetime) -> None:
        name = EVENTS.get(event.kind)
        if name is None:
            return
        incident = session.get(Incident, event.incident_id)
        if incident is None or incident.id is None:
            return
        for hook, config in webhooks.items():
            if not _wants(session, config, hook, name, event, incident.id):
                continue
            outbox.queue(
                session,
                destination=f"webhook:{hook}",
                lane=f"webhook:{hook}:incident:{incident.id}",
                kind=LIFECYCLE,
                payload={
                    "delivery_id": f"{event.id}:{hook}",
                    "event": name,
                    "at": event.at.isoformat(),
                    "actor": event.actor,
                    "text": event.text,
                    "incident": _incident(incident),
                },
                now=now,
                incident_id=incident.id,
                idempotency_key=f"{NAME}:{event.id}:{hook}",
            )

    return handle


def _wants(
    session: Session,
    config: WebhookConfig,
    hook: str,
    name: str,
    event: TimelineEvent,
    incident_id: int,
) -> bool:
    if config.kind == "generic":
        # A webhook a level pages already got the escalation as its page.
        paged_now = hook in (event.data.get("webhooks") or ())
        return config.lifecycle and not (name == ESCALATED and paged_now)
    return name in PAGER_EVENTS and _paged(session, incident_id, hook)
