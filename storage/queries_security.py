"""Queries of request verification: the Slack signatures seen within the replay window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col

from storage import dialect
from storage.tables_security import ActionLinkUse, SlackRequestSeen


def first_sighting(
    session: Session, signature: str, *, expires_at: datetime, now: datetime
) -> bool:
    """Record ``signature`` until ``expires_at``; False when it is already recorded.

    Rows whose window has closed are pruned first: verification refuses their requests
    by the timestamp alone now.
    """
    session.execute(delete(SlackRequestSeen).where(col(SlackRequestSeen.expires_at) < now))
    stmt = (
        dialect.upsert(session, SlackRequestSeen)
        .values(signature=signature, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=["signature"])
    )
    return session.execute(stmt.returning(col(SlackRequestSeen.signature))).first() is not None


def use_link(
    session: Session, nonce: str, *, incident_id: int, person: str, action: str, now: datetime
) -> bool:
    """Record a link's nonce as used; False when it already was."""
    stmt = (
        dialect.upsert(session, ActionLinkUse)
        .values(nonce=nonce, incident_id=incident_id, person=person, action=action, used_at=now)
        .on_conflict_do_nothing(index_elements=["nonce"])
    )
    return session.execute(stmt.returning(col(ActionLinkUse.nonce))).first() is not None


def link_used(session: Session, nonce: str) -> ActionLinkUse | None:
    return session.get(ActionLinkUse, nonce)
