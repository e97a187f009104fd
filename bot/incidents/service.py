"""Incident use cases driven by people: acknowledge, resolve, notes, and reading them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock, utcnow
from bot.errors import InvalidInputError, NotFoundError
from bot.events import (
    ChatMessageAdded,
    CommanderAssigned,
    EventKind,
    IncidentOpened,
    IncidentResolved,
    SeverityChanged,
    as_data,
)
from bot.incidents import lifecycle
from bot.incidents.decide import Severity
from bot.incidents.lifecycle import StatusHooks
from storage import queries, queries_console
from storage.db import Database
from storage.queries_console import IncidentFilter
from storage.tables import AlertGroup, AlertRecord, Incident, TimelineEvent


@dataclass(frozen=True)
class IncidentDetail:
    incident: Incident
    alerts: list[AlertRecord]
    groups: list[AlertGroup]


def list_incidents(
    db: Database,
    *,
    statuses: Sequence[str] = (),
    severities: Sequence[str] = (),
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Incident], int]:
    """A page of incidents, newest first, and how many match in all."""
    with db.session() as session:
        items, total = queries.list_incidents(
            session, statuses=statuses, severities=severities, limit=limit, offset=offset
        )
        return list(items), total


def find_incidents(
    db: Database,
    where: IncidentFilter,
    *,
    before_id: int | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Incident]:
    """Matching incidents newest first, paged by id (see ``queries_console``)."""
    with db.session() as session:
        return queries_console.find_incidents(
            session, where, before_id=before_id, after_id=after_id, limit=limit
        )


def timeline_page(
    db: Database,
    incident_id: int,
    *,
    before_id: int | None = None,
    after_id: int | None = None,
    limit: int = 200,
) -> list[TimelineEvent]:
    """A page of the incident's events by id, newest first."""
    with db.session() as session:
        if session.get(Incident, incident_id) is None:
            raise NotFoundError(f"incident {incident_id} does not exist")
        return queries_console.timeline_page(
            session, incident_id, before_id=before_id, after_id=after_id, limit=limit
        )


def get_incident(db: Database, incident_id: int) -> IncidentDetail:
    with db.session() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise NotFoundError(f"incident {incident_id} does not exist")
        return IncidentDetail(
            incident=incident,
            alerts=queries.alerts_of(session, incident_id),
            groups=queries.groups_of(session, incident_id),
        )


def get_timeline(
    db: Database, incident_id: int, *, limit: int | None = None, offset: int = 0
) -> list[TimelineEvent]:
    with db.session() as session:
        if session.get(Incident, incident_id) is None:
            raise NotFoundError(f"incident {incident_id} does not exist")
        return queries.timeline(session, incident_id, limit=limit, offset=offset)


def acknowledge(
    db: Database,
    incident_id: int,
    *,
    actor: str,
    hooks: StatusHooks | None,
    clock: Clock = utcnow,
) -> Incident:
    with db.write() as session:
        incident = lifecycle.locked(session, incident_id)
        lifecycle.acknowledge(session, incident, actor=actor, now=clock(), hooks=hooks)
        return incident


def unacknowledge(
    db: Database,
    incident_id: int,
    *,
    actor: str,
    hooks: StatusHooks | None,
    clock: Clock = utcnow,
) -> Incident:
    with db.write() as session:
        incident = lifecycle.locked(session, incident_id)
        lifecycle.unacknowledge(session, incident, actor=actor, now=clock(), hooks=hooks)
        return incident


def resolve(
    db: Database,
    incident_id: int,
    *,
    actor: str,
    reason: str = "",
    hooks: StatusHooks | None,
    clock: Clock = utcnow,
) -> Incident:
    with db.write() as session:
        incident = lifecycle.locked(session, incident_id)
        now = clock()
        lifecycle.resolve(
            session,
            incident,
            actor=actor,
            text=f"Resolved by {actor}" + (f": {reason}" if reason else ""),
            reason=f"resolved by {actor}",
            at=now,
            now=now,
            hooks=hooks,
            data=as_data(IncidentResolved(reason=reason)) if reason else {},
        )
        return incident


def add_note(
    db: Database,
    incident_id: int,
    *,
    actor: str,
    text: str,
    at: datetime | None = None,
    clock: Clock = utcnow,
) -> TimelineEvent:
    with db.write() as session:
        lifecycle.locked(session, incident_id)
        now = clock()
        event_id = queries.add_event(
            session,
            incident_id=incident_id,
            kind=EventKind.NOTE_ADDED,
            text=text,
            actor=actor,
            at=at or now,
            recorded_at=now,
        )
        event = session.get(TimelineEvent, event_id)
        assert event is not None
        return event


def declare(
    db: Database,
    *,
    title: str,
    severity: str,
    actor: str,
    service: str | None = None,
    hooks: StatusHooks | None,
    clock: Clock = utcnow,
) -> Incident:
    """An incident a person opens by hand (from chat or the API), escalating like any other."""
    if severity not in ("SEV1", "SEV2", "SEV3", "SEV4"):
        raise InvalidInputError(f"severity is SEV1, SEV2, SEV3 or SEV4, not {severity!r}")
    title = " ".join(title.split())[:200]
    if not title:
        raise InvalidInputError("an incident needs a title")
    with db.write() as session:
        now = clock()
        incident = Incident(
            title=title,
            status="open",
            severity=severity,
            service=service,
            started_at=now,
            opened_at=now,
            updated_at=now,
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        queries.add_event(
            session,
            incident_id=incident.id,
            kind=EventKind.INCIDENT_OPENED,
            text=f"Declared {severity} by {actor}: {title}",
            actor=actor,
            at=now,
            recorded_at=now,
            data=as_data(IncidentOpened(declared_by=actor)),
        )
        if hooks is not None:
            hooks.incident_opened(session, incident, now=now, reason=f"declared by {actor}")
        return incident


def assign_commander(
    db: Database, incident_id: int, *, user: str, actor: str, clock: Clock = utcnow
) -> Incident:
    with db.write() as session:
        incident = lifecycle.locked(session, incident_id)
        now = clock()
        incident.commander = user
        session.add(incident)
        queries.add_event(
            session,
            incident_id=incident_id,
            kind=EventKind.COMMANDER_ASSIGNED,
            text=f"{user} is the incident commander (assigned by {actor})",
            actor=actor,
            at=now,
            recorded_at=now,
            data=as_data(CommanderAssigned(user=user)),
        )
        return incident


def change_severity(
    db: Database,
    incident_id: int,
    *,
    severity: str,
    actor: str,
    hooks: StatusHooks | None,
    clock: Clock = utcnow,
) -> Incident:
    """A person sets the severity; a rise makes escalation follow the new severity's
    policy, as a rise from triage does. Setting the severity it already has is a no-op."""
    try:
        wanted = Severity.parse(severity)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    with db.write() as session:
        incident = lifecycle.locked(session, incident_id)
        current = Severity.parse(incident.severity)
        if wanted == current:
            return incident
        now = clock()
        incident.severity = wanted.name
        incident.updated_at = now
        session.add(incident)
        verb = "raised" if wanted < current else "lowered"
        queries.add_event(
            session,
            incident_id=incident_id,
            kind=EventKind.SEVERITY_CHANGED,
            text=f"Severity {verb} from {current.name} to {wanted.name} by {actor}",
            actor=actor,
            at=now,
            recorded_at=now,
            data=as_data(SeverityChanged(**{"from": current.name, "to": wanted.name})),
        )
        if wanted < current and hooks is not None:
            hooks.severity_raised(session, incident, now=now)
        return incident


def add_chat_message(
    db: Database,
    incident_id: int,
    *,
    actor: str,
    author: str,
    text: str,
    original_time: datetime,
    permalink: str | None,
    clock: Clock = utcnow,
) -> None:
    """A chat message someone added to the timeline, at the time it was written."""
    with db.write() as session:
        lifecycle.locked(session, incident_id)
        queries.add_event(
            session,
            incident_id=incident_id,
            kind=EventKind.CHAT_MESSAGE_ADDED,
            text=text[:4000] or "(no text)",
            actor=actor,
            at=original_time,
            recorded_at=clock(),
            data=as_data(
                ChatMessageAdded(
                    author=author, original_time=original_time.isoformat(), permalink=permalink
                )
            ),
        )
