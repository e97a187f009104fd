"""Queries behind the web console: the filtered incident list and the timeline by pages.

Both page by id (keyset), newest first, so a page costs the same on the first page and
on the two-hundredth, and a new row never shifts the page a person is reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, or_
from sqlmodel import Session, col, select

from storage.tables import AlertRecord, Incident, TimelineEvent


@dataclass(frozen=True)
class IncidentFilter:
    """What the list shows: every field empty or None means "any"."""

    statuses: Sequence[str] = ()
    severities: Sequence[str] = ()
    services: Sequence[str] = ()
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    search: str = ""


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(where: IncidentFilter) -> list[Any]:
    conditions: list[Any] = []
    if where.statuses:
        conditions.append(col(Incident.status).in_(where.statuses))
    if where.severities:
        conditions.append(col(Incident.severity).in_(where.severities))
    if where.services:
        conditions.append(col(Incident.service).in_(where.services))
    if where.opened_from is not None:
        conditions.append(col(Incident.opened_at) >= where.opened_from)
    if where.opened_to is not None:
        conditions.append(col(Incident.opened_at) < where.opened_to)
    if where.search:
        pattern = _like(where.search.lower())
        alert_match = select(AlertRecord.incident_id).where(
            cast(AlertRecord.labels, String).ilike(pattern, escape="\\")
        )
        conditions.append(
            or_(
                col(Incident.title).ilike(pattern, escape="\\"),
                col(Incident.service).ilike(pattern, escape="\\"),
                col(Incident.id).in_(alert_match),
            )
        )
    return conditions


def find_incidents(
    session: Session,
    where: IncidentFilter,
    *,
    before_id: int | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Incident]:
    """Matching incidents newest first: below ``before_id`` (the next page) or above
    ``after_id`` (what opened since the newest one shown)."""
    query = select(Incident).where(*_conditions(where))
    if before_id is not None:
        query = query.where(col(Incident.id) < before_id)
    if after_id is not None:
        query = query.where(col(Incident.id) > after_id)
    return list(session.exec(query.order_by(col(Incident.id).desc()).limit(limit)))


def newest_incident_id(session: Session) -> int | None:
    query = select(Incident.id).order_by(col(Incident.id).desc()).limit(1)
    value: int | None = session.exec(query).first()
    return value


def timeline_page(
    session: Session,
    incident_id: int,
    *,
    before_id: int | None = None,
    after_id: int | None = None,
    limit: int = 200,
) -> list[TimelineEvent]:
    """Up to ``limit`` of an incident's events by id, newest first: below ``before_id``
    (older ones) or above ``after_id`` (those written since)."""
    query = select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
    if before_id is not None:
        query = query.where(col(TimelineEvent.id) < before_id)
    if after_id is not None:
        query = query.where(col(TimelineEvent.id) > after_id)
    return list(session.exec(query.order_by(col(TimelineEvent.id).desc()).limit(limit)))
