"""Queries for escalation timers, on-call overrides and heartbeats.

Lock order, everywhere: the incident row first, then its timer row. The firing path takes
incident rows with ``SKIP LOCKED``, so it never waits on a person's acknowledgement and
never deadlocks with it; on SQLite the single write connection serialises both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_
from sqlmodel import Session, col, select

from storage import dialect
from storage.tables import Incident, TimelineEvent
from storage.tables_escalation import EscalationTimer, Heartbeat, OnCallOverride

FIRING_STATUSES = ("active", "once")


def due_incident_ids(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Incidents whose timer is due or whose acknowledgement has timed out, most overdue
    first (not locked: see claim_incidents)."""
    firing = and_(
        col(EscalationTimer.status).in_(FIRING_STATUSES), col(EscalationTimer.due_at) <= now
    )
    query = (
        select(EscalationTimer.incident_id)
        .where(or_(firing, col(EscalationTimer.ack_due_at) <= now))
        .order_by(
            func.coalesce(col(EscalationTimer.due_at), col(EscalationTimer.ack_due_at)),
            col(EscalationTimer.incident_id),
        )
        .limit(limit)
    )
    return list(session.exec(query))


def claim_incidents(session: Session, ids: Sequence[int]) -> list[Incident]:
    """Lock these incidents, skipping any another transaction holds; in id order."""
    if not ids:
        return []
    query = select(Incident).where(col(Incident.id).in_(ids)).order_by(col(Incident.id))
    query = dialect.claimed(session, query)
    return list(session.exec(query))


def lock_timer(session: Session, incident_id: int) -> EscalationTimer | None:
    """The timer row, locked; call it only while holding the incident's lock."""
    query = select(EscalationTimer).where(EscalationTimer.incident_id == incident_id)
    query = dialect.locked(session, query)
    return session.exec(query.execution_options(populate_existing=True)).first()


def lock_timers(session: Session, incident_ids: Sequence[int]) -> dict[int, EscalationTimer]:
    """Timer rows of these incidents, locked; call it only while holding their locks."""
    if not incident_ids:
        return {}
    query = (
        select(EscalationTimer)
        .where(col(EscalationTimer.incident_id).in_(incident_ids))
        .order_by(col(EscalationTimer.incident_id))
    )
    query = dialect.locked(session, query)
    rows = session.exec(query.execution_options(populate_existing=True))
    return {row.incident_id: row for row in rows}


def append_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Many timeline events in one statement; a repeated dedupe key fails the transaction."""
    if rows:
        # Core, not the ORM's bulk path, which sends one INSERT per row here.
        table = TimelineEvent.__table__  # type: ignore[attr-defined]
        session.connection().execute(insert(table), list(rows))


def next_due(session: Session) -> datetime | None:
    """The earliest pending notification or acknowledgement timeout."""
    firing = select(func.min(EscalationTimer.due_at)).where(
        col(EscalationTimer.status).in_(FIRING_STATUSES)
    )
    lapsing = select(func.min(EscalationTimer.ack_due_at))
    values: list[datetime | None] = [session.exec(firing).one(), session.exec(lapsing).one()]
    return min((v for v in values if v is not None), default=None)


def overrides_for(
    session: Session, schedule: str | None, *, ending_after: datetime
) -> list[OnCallOverride]:
    query = select(OnCallOverride).where(col(OnCallOverride.end_at) > ending_after)
    if schedule is not None:
        query = query.where(OnCallOverride.schedule == schedule)
    return list(session.exec(query.order_by(col(OnCallOverride.id))))


def lock_heartbeat(session: Session, name: str, *, now: datetime) -> Heartbeat:
    """The heartbeat row, created (seen ``now``) if new, and locked."""
    stmt = dialect.upsert(session, Heartbeat).values(name=name, last_seen_at=now)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    query = select(Heartbeat).where(Heartbeat.name == name)
    query = dialect.locked(session, query)
    return session.exec(query.execution_options(populate_existing=True)).one()
