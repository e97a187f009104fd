"""Queries of chat's cursor over the timeline and of the incident cards."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, case, func, or_, text
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage import dialect
from storage.tables import TimelineEvent
from storage.tables_automation import RunbookRun
from storage.tables_chat import ChatCard, ChatCursor
from storage.tables_outbox import WAITING, OutboxMessage, OutboxStatus


def last_event_id(session: Session) -> int:
    """The newest timeline event's id; 0 when the timeline is empty."""
    return int(session.exec(select(func.max(TimelineEvent.id))).one() or 0)


def lock_cursor(session: Session, name: str) -> ChatCursor | None:
    query = dialect.locked(session, select(ChatCursor).where(ChatCursor.name == name))
    return session.exec(query).first()


def events_after(session: Session, *, txid: int, event_id: int, limit: int) -> list[TimelineEvent]:
    """Timeline events past the position ``(txid, event_id)``, in the order to project them.

    SQLite commits ids in order (one writer at a time), so id order is enough. PostgreSQL
    hands out ids as rows are inserted but commits transactions in any order: there, rows
    are read in the order of their writing transaction, and only from transactions older
    than every one still running, so none can still appear behind the position.
    """
    query = select(TimelineEvent).limit(limit)
    if not dialect.is_postgres(session):
        return list(
            session.exec(
                query.where(col(TimelineEvent.id) > event_id).order_by(col(TimelineEvent.id))
            )
        )
    settled = text("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    txid_col = col(TimelineEvent.txid)
    query = (
        query.where(or_(txid_col > txid, and_(txid_col == txid, col(TimelineEvent.id) > event_id)))
        .where(txid_col < settled)
        .order_by(txid_col, col(TimelineEvent.id))
    )
    return list(session.exec(query))


def events_waiting(session: Session, name: str) -> bool:
    """Whether the projection ``name`` has an event to read (or no cursor yet)."""
    cursor = session.get(ChatCursor, name)
    if cursor is None:
        return True
    found = events_after(session, txid=cursor.last_txid, event_id=cursor.last_event_id, limit=1)
    return bool(found)


def last_position(session: Session) -> tuple[int, int]:
    """The newest timeline event's ``(txid, id)``: where a projector starting now begins."""
    if not dialect.is_postgres(session):
        return 0, last_event_id(session)
    row = session.exec(
        select(TimelineEvent.txid, TimelineEvent.id)
        .order_by(col(TimelineEvent.txid).desc(), col(TimelineEvent.id).desc())
        .limit(1)
    ).first()
    return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)


def latest_run(session: Session, incident_id: int) -> RunbookRun | None:
    query = (
        select(RunbookRun)
        .where(RunbookRun.incident_id == incident_id)
        .order_by(col(RunbookRun.id).desc())
    )
    return session.exec(query).first()


def own_channel_card(session: Session, channel: str) -> ChatCard | None:
    """The card of the incident whose own channel this is."""
    query = select(ChatCard).where(ChatCard.channel == channel, col(ChatCard.own_channel))
    return session.exec(query).first()


def card_at(session: Session, channel: str, ts: str) -> ChatCard | None:
    """The card that is this message."""
    query = select(ChatCard).where(ChatCard.channel == channel, ChatCard.ts == ts)
    return session.exec(query).first()


def channels_with_stale_cards(session: Session) -> list[str]:
    """Channels where a digest held some card's updates."""
    query = select(ChatCard.channel).where(col(ChatCard.stale)).distinct()
    return list(session.exec(query))


def stale_cards(session: Session, channel: str, *, limit: int | None) -> list[ChatCard]:
    """The channel's cards whose updates were held, oldest incident first."""
    query = (
        select(ChatCard)
        .where(ChatCard.channel == channel, col(ChatCard.stale))
        .order_by(col(ChatCard.incident_id))
        .limit(limit)
    )
    return list(session.exec(query))


class ChannelQueue(NamedTuple):
    waiting: int  # rows still to be sent into the channel
    oldest: datetime | None  # when the oldest of its incidents' rows not yet tried was queued


def waiting_in_channel(
    session: Session, channel: str, *, incident_lanes: str, digest_lane: str
) -> ChannelQueue:
    """Chat's rows still to be sent into ``channel``: those in the lanes (named starting
    ``incident_lanes``) of the incidents carded there, and the channel's digest lane.
    The oldest is of the incidents' rows not yet tried and not queued behind a row that
    was: a row retried after failures, and its lane behind it, wait for Slack, not for the
    channel's pace; a digest gathers by design."""
    ahead = aliased(OutboxMessage)
    behind_a_retry = (
        select(ahead.id)
        .where(
            ahead.destination == OutboxMessage.destination,
            col(ahead.status).in_(WAITING),
            ahead.lane == OutboxMessage.lane,
            col(ahead.id) < col(OutboxMessage.id),
            col(ahead.attempts) > 0,
        )
        .exists()
    )
    untried = and_(
        col(OutboxMessage.status) == OutboxStatus.PENDING,
        col(OutboxMessage.attempts) == 0,
        ~behind_a_retry,
    )
    carded = (
        select(func.count(), func.min(case((untried, OutboxMessage.created_at))))
        .select_from(OutboxMessage)
        .join(ChatCard, col(ChatCard.incident_id) == col(OutboxMessage.incident_id))
        .where(
            ChatCard.channel == channel,
            col(ChatCard.digest).is_(False),
            col(OutboxMessage.lane).startswith(incident_lanes),
            col(OutboxMessage.status).in_(WAITING),
        )
    )
    digests = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.lane == digest_lane, col(OutboxMessage.status).in_(WAITING))
    )
    count, oldest = session.exec(carded).one()
    return ChannelQueue(int(count) + int(session.exec(digests).one()), oldest)
