"""Queries behind the public status page: its updates and the incidents it derives from."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlmodel import Session, col, or_, select

from storage.tables import Incident
from storage.tables_status import StatusUpdate


def add_update(session: Session, update: StatusUpdate) -> StatusUpdate:
    session.add(update)
    session.flush()
    return update


def updates_of(session: Session, incident_ids: Collection[int]) -> list[StatusUpdate]:
    """The updates of these incidents, oldest first."""
    if not incident_ids:
        return []
    query = select(StatusUpdate).where(col(StatusUpdate.incident_id).in_(list(incident_ids)))
    return list(session.exec(query.order_by(col(StatusUpdate.created_at), col(StatusUpdate.id))))


def recent_updates(
    session: Session, *, incident_id: int | None = None, limit: int = 50
) -> list[StatusUpdate]:
    """The latest updates, newest first."""
    query = select(StatusUpdate)
    if incident_id is not None:
        query = query.where(StatusUpdate.incident_id == incident_id)
    order = (col(StatusUpdate.created_at).desc(), col(StatusUpdate.id).desc())
    return list(session.exec(query.order_by(*order).limit(limit)))


def incidents_since(session: Session, since: datetime) -> list[Incident]:
    """Incidents open at some moment since ``since``: still open, or resolved after it."""
    query = select(Incident).where(
        or_(col(Incident.resolved_at).is_(None), col(Incident.resolved_at) >= since)
    )
    return list(session.exec(query.order_by(col(Incident.id))))


def incidents_by_id(session: Session, incident_ids: Collection[int]) -> dict[int, Incident]:
    if not incident_ids:
        return {}
    query = select(Incident).where(col(Incident.id).in_(list(incident_ids)))
    return {incident.id: incident for incident in session.exec(query) if incident.id is not None}
