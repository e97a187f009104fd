"""The only code that changes an incident's status.

Each function runs inside the caller's transaction with the incident's row locked: it
decides the transition (``bot.incidents.decide``), writes the status and its timeline event,
and tells the escalation hooks in the same transaction, so the incident's state and its
timers never disagree. Triage, people (API, Slack, CLI) and the watchdog all come here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

from bot.errors import NotFoundError
from bot.events import EventKind, IncidentAcknowledged, IncidentUnacknowledged, as_data
from bot.incidents import decide
from bot.incidents.decide import IncidentStatus
from bot.ingest.model import WebhookPayload
from storage import queries
from storage.tables import Incident


class StatusHooks(Protocol):
    """What escalation does, in the same transaction, when an incident's status changes.
    May also take heartbeat payloads (such as Alertmanager's Watchdog) for itself,
    returning True so triage skips them."""

    def payload_received(
        self, session: Session, payload: WebhookPayload, *, received_at: datetime, now: datetime
    ) -> bool: ...

    def incident_opened(
        self, session: Session, incident: Incident, *, now: datetime, reason: str | None = None
    ) -> None: ...

    def severity_raised(self, session: Session, incident: Incident, *, now: datetime) -> None: ...

    def incident_acknowledged(
        self, session: Session, incident_id: int, *, actor: str, now: datetime
    ) -> None: ...

    def incident_unacknowledged(
        self, session: Session, incident: Incident, *, actor: str, now: datetime
    ) -> None: ...

    def incident_resolved(
        self, session: Session, incident_id: int, *, reason: str, now: datetime
    ) -> None: ...


def locked(session: Session, incident_id: int) -> Incident:
    """The incident's row, locked for this transaction; every status change starts here."""
    incident = queries.lock_incident(session, incident_id)
    if incident is None:
        raise NotFoundError(f"incident {incident_id} does not exist")
    return incident


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def acknowledge(
    session: Session,
    incident: Incident,
    *,
    actor: str,
    now: datetime,
    hooks: StatusHooks | None,
    via: str | None = None,
) -> bool:
    """Open → acknowledged; False when it already was."""
    assert incident.id is not None
    transition = decide.acknowledge(incident.status)
    if not transition.changed:
        return False
    incident.status = transition.to.value
    incident.acknowledged_at = now
    incident.acknowledged_by = actor
    incident.updated_at = now
    session.add(incident)
    queries.add_event(
        session,
        incident_id=incident.id,
        kind=EventKind.INCIDENT_ACKNOWLEDGED,
        text=f"Acknowledged by {actor}",
        actor=actor,
        at=now,
        recorded_at=now,
        data=as_data(
            IncidentAcknowledged(
                seconds_to_acknowledge=_seconds(incident.opened_at, now),
                **({"via": via} if via else {}),
            )
        ),
    )
    if hooks is not None:
        hooks.incident_acknowledged(session, incident.id, actor=actor, now=now)
    return True


def unacknowledge(
    session: Session,
    incident: Incident,
    *,
    actor: str,
    now: datetime,
    hooks: StatusHooks | None,
    reason: str | None = None,
) -> None:
    """Acknowledged → open, and escalation starts again from the level it had reached.
    ``reason`` says why when it is not a person's own decision (a timed-out
    acknowledgement)."""
    assert incident.id is not None
    transition = decide.unacknowledge(incident.status)
    incident.status = transition.to.value
    incident.acknowledged_at = None
    incident.acknowledged_by = None
    incident.updated_at = now
    session.add(incident)
    queries.add_event(
        session,
        incident_id=incident.id,
        kind=EventKind.INCIDENT_UNACKNOWLEDGED,
        text=f"Un-acknowledged by {actor}" + (f": {reason}" if reason else ""),
        actor=actor,
        at=now,
        recorded_at=now,
        data=as_data(IncidentUnacknowledged(reason=reason)) if reason else {},
    )
    if hooks is not None:
        hooks.incident_unacknowledged(session, incident, actor=actor, now=now)


def resolve(
    session: Session,
    incident: Incident,
    *,
    actor: str,
    text: str,
    reason: str,
    at: datetime,
    now: datetime,
    hooks: StatusHooks | None,
    data: dict[str, Any] | None = None,
) -> bool:
    """Any status → resolved at ``at`` (when it happened); False when it already was."""
    assert incident.id is not None
    transition = decide.resolve(incident.status)
    if not transition.changed:
        return False
    incident.status = transition.to.value
    incident.resolved_at = at
    incident.resolved_by = actor
    incident.updated_at = now
    session.add(incident)
    queries.add_event(
        session,
        incident_id=incident.id,
        kind=EventKind.INCIDENT_RESOLVED,
        text=text,
        actor=actor,
        at=at,
        recorded_at=now,
        data=data or {},
    )
    if hooks is not None:
        hooks.incident_resolved(session, incident.id, reason=reason, now=now)
    return True


def reopen(session: Session, incident: Incident, *, now: datetime) -> None:
    """Resolved → open again (its group fired within the flap window); the caller writes
    the event, since it says why."""
    incident.status = IncidentStatus.OPEN.value
    incident.resolved_at = None
    incident.resolved_by = None
    incident.acknowledged_at = None
    incident.acknowledged_by = None
    incident.reopen_count += 1
    incident.updated_at = now
    session.add(incident)
