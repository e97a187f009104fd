"""The dead man's switch: Alertmanager's always-firing Watchdog alert must keep arriving.

Each arrival (every receipt, identical repeats included) moves the heartbeat forward, in
triage's transaction. When it has been silent for ``missing_after``, an incident
"Alerting pipeline down" opens and escalates like any other; the next arrival resolves it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from bot.durations import format_duration
from bot.escalation import service
from bot.escalation.config import WatchdogConfig
from bot.escalation.service import EscalationRules
from bot.events import EventKind
from bot.incidents import lifecycle
from bot.ingest.model import WebhookPayload
from storage import queries
from storage import queries_escalation as timers_q
from storage.db import Database
from storage.tables import Incident

log = logging.getLogger(__name__)
ACTOR = "fireline"


def is_heartbeat(payload: WebhookPayload, config: WatchdogConfig) -> bool:
    return bool(payload.alerts) and all(
        a.labels.get("alertname") == config.alertname for a in payload.alerts
    )


def record_arrival(
    session: Session,
    payload: WebhookPayload,
    *,
    config: WatchdogConfig,
    received_at: datetime,
    now: datetime,
) -> None:
    """Move the heartbeat forward and resolve the pipeline-down incident, if one is open."""
    if not any(a.status == "firing" for a in payload.alerts):
        return
    beat = timers_q.lock_heartbeat(session, config.alertname, now=received_at)
    beat.last_seen_at = max(beat.last_seen_at, received_at)
    incident_id, beat.incident_id = beat.incident_id, None
    session.add(beat)
    if incident_id is None:
        return
    incident = queries.lock_incident(session, incident_id)
    if incident is None:
        return
    # Escalation is this module's own: its timer is stopped here rather than through hooks.
    resolved = lifecycle.resolve(
        session,
        incident,
        actor=ACTOR,
        text=f"Resolved: the {config.alertname} alert arrives again",
        reason="the heartbeat arrived again",
        at=received_at,
        now=now,
        hooks=None,
        data={"reason": "heartbeat arrived"},
    )
    if resolved:
        service.stop(session, incident_id, reason="the heartbeat arrived again", now=now)


def check(db: Database, *, rules: EscalationRules, now: datetime) -> int | None:
    """Open the pipeline-down incident if the heartbeat is overdue; returns its id."""
    config = rules.watchdog
    if config.missing_after is None:
        return None
    with db.write() as session:
        # The first check starts the clock: a fresh install gets the full grace period.
        beat = timers_q.lock_heartbeat(session, config.alertname, now=now)
        if beat.incident_id is not None or now - beat.last_seen_at < config.missing_after:
            return None
        silent = format_duration(now - beat.last_seen_at)
        incident = Incident(
            title=config.title,
            status="open",
            severity=config.severity,
            service=config.service,
            signal=None,
            labels={"alertname": config.alertname, "fireline": "watchdog"},
            started_at=beat.last_seen_at,
            opened_at=now,
            updated_at=now,
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        beat.incident_id = incident.id
        session.add(beat)
        queries.add_event(
            session,
            incident_id=incident.id,
            kind=EventKind.INCIDENT_OPENED,
            text=f"Opened {config.severity}: {config.title}: no {config.alertname} alert "
            f"for {silent}",
            actor=ACTOR,
            at=now,
            recorded_at=now,
            data={
                "watchdog": config.alertname,
                "last_seen_at": beat.last_seen_at.isoformat(),
                "missing_after": format_duration(config.missing_after),
            },
        )
        service.start(session, incident, rules=rules, now=now, reason="opened")
        log.error("no %s alert for %s: opened incident %s", config.alertname, silent, incident.id)
        return incident.id
