"""Read-only queries for reports and metrics: incidents in a window and their events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
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


def events_of(
    session: Session, incident_ids: Sequence[int], *, kinds: Sequence[str] = ()
) -> list[TimelineEvent]:
    """Events of many incidents, in order of ``at``; optionally only some kinds."""
    found: list[TimelineEvent] = []
    ids = list(incident_ids)
    for start in range(0, len(ids), 500):
        query = select(TimelineEvent).where(
            col(TimelineEvent.incident_id).in_(ids[start : start + 500])
        )
        if kinds:
            query = query.where(col(TimelineEvent.kind).in_(kinds))
        found.extend(session.exec(query))
    found.sort(key=lambda e: (e.at, e.id or 0))
    return found


def events_of_kinds(session: Session, kinds: Sequence[str]) -> list[TimelineEvent]:
    query = select(TimelineEvent).where(col(TimelineEvent.kind).in_(kinds))
    return list(session.exec(query.order_by(col(TimelineEvent.at), col(TimelineEvent.id))))


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
