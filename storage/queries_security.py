"""Queries of request verification: the Slack signatures seen within the replay window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col

from storage import dialect
from storage.tables_security import SlackRequestSeen


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
