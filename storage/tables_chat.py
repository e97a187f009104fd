"""Chat's own state: each incident's card and the projector's place in the timeline.

Chat's messages themselves are rows of the one outbox (``storage.tables_outbox``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class ChatCard(SQLModel, table=True):
    """Where an incident's card lives, so it can be updated and threaded on."""

    __tablename__ = "chat_card"
    __table_args__ = (
        Index("ix_chat_card_channel", "channel"),
        Index("ix_chat_card_stale", "stale"),
    )

    incident_id: int = Field(primary_key=True, foreign_key="incident.id")
    channel: str
    ts: str | None = None
    own_channel: bool = False  # a major incident's channel of its own
    # Opened while its channel was too far behind: listed in the channel's storm digest,
    # with no card or thread of its own (docs/slack.md).
    digest: bool = False
    # Its channel fell too far behind after the card was posted: the incident's updates
    # were named in the channel's digest instead, and the card is redrawn once the channel
    # has caught up.
    stale: bool = False
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ChatCursor(SQLModel, table=True):
    """The last timeline event the chat projector has turned into outbox rows.

    On PostgreSQL the position is ``(last_txid, last_event_id)``: events are read in the
    order of the transaction that wrote them, and only once that transaction and every
    older one have finished, so a transaction that commits after a later id was projected
    is still projected (``storage.queries_chat.events_after``). SQLite has one writer at a
    time, so ids commit in order there and ``last_txid`` stays 0.
    """

    __tablename__ = "chat_cursor"

    name: str = Field(primary_key=True)
    last_event_id: int = 0
    last_txid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
