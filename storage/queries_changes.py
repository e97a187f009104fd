"""SQL for changes: storing one once, listing them, and those near an incident's start."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.errors import IntegrityError
from storage.tables import Incident, TimelineEvent
from storage.tables_changes import Change

NEARBY_LIMIT = 200  # changes looked at around one incident: a busy hour of every service


def add_change(session: Session, change: Change) -> Change | None:
    """Store a change; None when its (source, external_id) is already stored."""
    if change.external_id is not None and by_external_id(
        session, change.source, change.external_id
    ):
        return None
    try:
        with session.begin_nested():
            session.add(change)
            session.flush()
    except IntegrityError:
        return None
    return change


def by_external_id(session: Session, source: str, external_id: str) -> Change | None:
    query = select(Change).where(Change.source == source, Change.external_id == external_id)
    return session.exec(query).first()


def previous_deploy(
    session: Session, *, service: str, environment: str | None, before: datetime
) -> Change | None:
    """The service's latest deploy (or rollback) before ``before`` in the same environment."""
    query = (
        select(Change)
        .where(Change.service == service, Change.environment == environment)
        .where(col(Change.kind).in_(["deploy", "rollback"]))
        .where(col(Change.at) < before)
        .where(col(Change.version).is_not(None))
        .order_by(col(Change.at).desc(), col(Change.id).desc())
    )
    return session.exec(query.limit(1)).first()


def changes_between(session: Session, *, since: datetime, until: datetime) -> list[Change]:
    """Every change from ``since`` to ``until`` (bounded), newest first; the caller picks
    those that concern an incident (by service or labels)."""
    query = (
        select(Change)
        .where(col(Change.at) >= since, col(Change.at) <= until)
        .order_by(col(Change.at).desc(), col(Change.id).desc())
        .limit(NEARBY_LIMIT)
    )
    return list(session.exec(query))


def list_changes(
    session: Session,
    *,
    service: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[Change]:
    query = select(Change)
    if service is not None:
        query = query.where(Change.service == service)
    if since is not None:
        query = query.where(col(Change.at) >= since)
    if until is not None:
        query = query.where(col(Change.at) <= until)
    query = query.order_by(col(Change.at).desc(), col(Change.id).desc()).limit(limit)
    return list(session.exec(query))


def open_incidents_started_between(
    session: Session, *, since: datetime, until: datetime
) -> list[Incident]:
    """Incidents not yet resolved whose alert started in the span (a change reported
    after the page may still be its cause)."""
    query = (
        select(Incident)
        .where(col(Incident.status) != "resolved")
        .where(col(Incident.started_at) >= since, col(Incident.started_at) <= until)
        .order_by(col(Incident.id))
        .limit(NEARBY_LIMIT)
    )
    return list(session.exec(query))


def incidents_of_changes(
    session: Session, changes: list[Change], kind: str
) -> dict[int, list[int]]:
    """The incidents each change was attached to: its ``kind`` events, which are dated
    when the change happened, so only the span of these changes is read."""
    ids = {c.id for c in changes if c.id is not None}
    if not ids:
        return {}
    query = (
        select(TimelineEvent.incident_id, TimelineEvent.data)
        .where(TimelineEvent.kind == kind)
        .where(col(TimelineEvent.at) >= min(c.at for c in changes))
        .where(col(TimelineEvent.at) <= max(c.at for c in changes))
        .order_by(col(TimelineEvent.incident_id))
    )
    found: dict[int, list[int]] = {}
    for incident_id, data in session.exec(query):
        change_id = int((data or {}).get("change_id", 0))
        if change_id in ids and incident_id not in found.setdefault(change_id, []):
            found[change_id].append(incident_id)
    return found
