"""Queries of the chat outbox, its cursor over the timeline, and the incident cards."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from storage import dialect
from storage.tables import TimelineEvent
from storage.tables_automation import RunbookRun
from storage.tables_chat import ChatCard, ChatCursor, OutboxMessage


def waiting_card_update(session: Session, incident_id: int) -> OutboxMessage | None:
    """A card redraw for the incident that is queued and not yet taken by a sender."""
    return session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.incident_id == incident_id)
        .where(OutboxMessage.kind == "card.update")
        .where(OutboxMessage.status == "pending")
        .where(col(OutboxMessage.claimed_by).is_(None))
    ).first()


def last_event_id(session: Session) -> int:
    """The newest timeline event's id; 0 when the timeline is empty."""
    return int(session.exec(select(func.max(TimelineEvent.id))).one() or 0)


def lock_cursor(session: Session, name: str) -> ChatCursor | None:
    query = dialect.locked(session, select(ChatCursor).where(ChatCursor.name == name))
    return session.exec(query).first()


def events_after(session: Session, event_id: int, *, limit: int) -> list[TimelineEvent]:
    """Timeline events past ``event_id``, oldest first."""
    query = (
        select(TimelineEvent)
        .where(col(TimelineEvent.id) > event_id)
        .order_by(col(TimelineEvent.id))
        .limit(limit)
    )
    return list(session.exec(query))


def latest_run(session: Session, incident_id: int) -> RunbookRun | None:
    query = (
        select(RunbookRun)
        .where(RunbookRun.incident_id == incident_id)
        .order_by(col(RunbookRun.id).desc())
    )
    return session.exec(query).first()


def claim_due_messages(session: Session, *, now: datetime, limit: int) -> list[OutboxMessage]:
    """The oldest pending row of each incident (and loose rows) when it is due and unheld,
    locked; rows another sender holds are passed over.

    An incident whose oldest pending row is held or not yet due waits: order matters.
    """
    oldest = (
        select(func.min(OutboxMessage.id))
        .where(OutboxMessage.status == "pending")
        .group_by(col(OutboxMessage.incident_id))
    )
    query = (
        select(OutboxMessage)
        .where(col(OutboxMessage.id).in_(oldest))
        .where(OutboxMessage.status == "pending")
        .where(col(OutboxMessage.next_attempt_at) <= now)
        .where(or_(col(OutboxMessage.lease_until).is_(None), col(OutboxMessage.lease_until) < now))
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    query = dialect.claimed(session, query)
    return list(session.exec(query.execution_options(populate_existing=True)))


def own_channel_card(session: Session, channel: str) -> ChatCard | None:
    """The card of the incident whose own channel this is."""
    query = select(ChatCard).where(ChatCard.channel == channel, col(ChatCard.own_channel))
    return session.exec(query).first()


def card_at(session: Session, channel: str, ts: str) -> ChatCard | None:
    """The card that is this message."""
    query = select(ChatCard).where(ChatCard.channel == channel, ChatCard.ts == ts)
    return session.exec(query).first()


def count_pending_messages(session: Session) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
    return int(session.exec(query).one())


def messages_of(session: Session, incident_id: int) -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.incident_id == incident_id)
        .order_by(col(OutboxMessage.id))
    )
    return list(session.exec(query))
