"""Read-only queries for reports and metrics: incidents in a window and their events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from storage.tables import Incident, TimelineEvent


def incidents_between(
    session: Session, *, since: datetime | None, until: datetime | None
) -> list[Incident]:
    """Incidents opened in ``[since, until)``, oldest first."""
    query = select(Incident)
    if since is not None:
        query = query.where(col(Incident.opened_at) >= since)
    if until is not None:
        query = query.where(col(Incident.opened_at) < until)
    return list(session.exec(query.order_by(col(Incident.opened_at), col(Incident.id))))


class EventFacts(NamedTuple):
    """A timeline event's columns, read without building ORM objects (much faster)."""

    id: int
    incident_id: int
    at: datetime
    kind: str
    actor: str
    text: str
    data: dict[str, Any]


_FACT_COLUMNS = (
    col(TimelineEvent.id),
    col(TimelineEvent.incident_id),
    col(TimelineEvent.at),
    col(TimelineEvent.kind),
    col(TimelineEvent.actor),
    col(TimelineEvent.text),
    col(TimelineEvent.data),
)


def _facts(session: Session, query: Any) -> list[EventFacts]:
    return [EventFacts(*row) for row in session.execute(query)]


def timeline_facts(session: Session, incident_id: int) -> list[EventFacts]:
    """One incident's events in order of ``at``."""
    query = (
        select_columns(*_FACT_COLUMNS)
        .where(col(TimelineEvent.incident_id) == incident_id)
        .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
    )
    return _facts(session, query)


def events_of(
    session: Session, incident_ids: Sequence[int], *, kinds: Sequence[str] = ()
) -> list[EventFacts]:
    """Events of many incidents, in order of ``at``; optionally only some kinds."""
    found: list[EventFacts] = []
    ids = list(incident_ids)
    for start in range(0, len(ids), 500):
        query = select_columns(*_FACT_COLUMNS).where(
            col(TimelineEvent.incident_id).in_(ids[start : start + 500])
        )
        if kinds:
            query = query.where(col(TimelineEvent.kind).in_(kinds))
        found.extend(_facts(session, query))
    found.sort(key=lambda e: (e.at, e.id))
    return found


def incidents_by_severity(session: Session, *, open_only: bool = False) -> dict[str, int]:
    query: Any = select(Incident.severity, func.count()).group_by(col(Incident.severity))
    if open_only:
        query = query.where(Incident.status != "resolved")
    return {str(severity): int(count) for severity, count in session.exec(query)}


def response_times(
    session: Session,
) -> list[tuple[datetime, datetime, datetime | None, datetime | None]]:
    """(started_at, opened_at, acknowledged_at, resolved_at) of every incident."""
    query = select(
        Incident.started_at, Incident.opened_at, Incident.acknowledged_at, Incident.resolved_at
    )
    return [tuple(row) for row in session.exec(query)]  # type: ignore[misc]


def incidents_with_events_after(
    session: Session, after_id: int, kinds: Sequence[str]
) -> tuple[list[int], int]:
    """Incidents with an event of ``kinds`` whose id is above ``after_id``, and the highest
    event id seen (``after_id`` when there is none)."""
    query = (
        select_columns(col(TimelineEvent.incident_id), func.max(col(TimelineEvent.id)))
        .where(col(TimelineEvent.id) > after_id, col(TimelineEvent.kind).in_(kinds))
        .group_by(col(TimelineEvent.incident_id))
    )
    rows = list(session.execute(query))
    highest = max((int(row[1]) for row in rows), default=after_id)
    return [int(row[0]) for row in rows], highest


class IncidentTimes(NamedTuple):
    """An incident's columns that response-time reports read."""

    id: int
    severity: str
    service: str | None
    status: str
    started_at: datetime
    opened_at: datetime
    resolved_at: datetime | None


def incident_times_between(
    session: Session, *, since: datetime | None, until: datetime | None
) -> list[IncidentTimes]:
    """Incidents opened in ``[since, until)`` as plain rows (no ORM objects), oldest first."""
    query = select_columns(
        col(Incident.id),
        col(Incident.severity),
        col(Incident.service),
        col(Incident.status),
        col(Incident.started_at),
        col(Incident.opened_at),
        col(Incident.resolved_at),
    )
    if since is not None:
        query = query.where(col(Incident.opened_at) >= since)
    if until is not None:
        query = query.where(col(Incident.opened_at) < until)
    query = query.order_by(col(Incident.opened_at), col(Incident.id))
    return [IncidentTimes(*row) for row in session.execute(query)]
