"""Queries on follow-up items."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from storage import dialect
from storage.tables_followups import FollowUp


def followups_of(session: Session, incident_id: int) -> list[FollowUp]:
    query = select(FollowUp).where(FollowUp.incident_id == incident_id)
    return list(session.exec(query.order_by(col(FollowUp.id))))


def list_followups(
    session: Session, *, statuses: Sequence[str] = (), limit: int = 500
) -> list[FollowUp]:
    """Follow-ups across incidents, oldest first."""
    query = select(FollowUp)
    if statuses:
        query = query.where(col(FollowUp.status).in_(statuses))
    return list(session.exec(query.order_by(col(FollowUp.id)).limit(limit)))


def overdue_followups(session: Session, *, now: datetime, limit: int = 500) -> list[FollowUp]:
    """Open follow-ups whose due date has passed, the most overdue first."""
    query = (
        select(FollowUp)
        .where(FollowUp.status == "open")
        .where(col(FollowUp.due_at).is_not(None))
        .where(col(FollowUp.due_at) < now)
    )
    return list(session.exec(query.order_by(col(FollowUp.due_at), col(FollowUp.id)).limit(limit)))


def lock_followup(session: Session, followup_id: int) -> FollowUp | None:
    query = select(FollowUp).where(FollowUp.id == followup_id)
    query = dialect.locked(session, query)
    return session.exec(query).first()


def owned_due_before(session: Session, *, until: datetime, limit: int = 500) -> list[FollowUp]:
    """Open follow-ups with an owner, due before ``until`` (those a reminder may be owed),
    the soonest due first."""
    query = (
        select(FollowUp)
        .where(FollowUp.status == "open")
        .where(col(FollowUp.owner).is_not(None))
        .where(col(FollowUp.due_at).is_not(None))
        .where(col(FollowUp.due_at) <= until)
    )
    return list(session.exec(query.order_by(col(FollowUp.due_at), col(FollowUp.id)).limit(limit)))


def followups_of_incidents(session: Session, incident_ids: Sequence[int]) -> list[FollowUp]:
    if not incident_ids:
        return []
    query = select(FollowUp).where(col(FollowUp.incident_id).in_(list(incident_ids)))
    return list(session.exec(query.order_by(col(FollowUp.id))))
