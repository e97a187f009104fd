"""Chat delivery: the outbox of writes to Slack, each incident's card, and the projector's
place in the timeline.

Every write to chat is a row here before it is attempted, so an outage or a restart
delays messages but loses none; rows of one incident are delivered in id order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from storage.types import JSONDocument, UTCDateTime


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at", "id"),
        Index("ix_outbox_incident", "incident_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    # card.post | card.update | thread | dm | channel.create | silence.expire
    kind: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument))
    status: str = "pending"  # pending | sent | failed
    attempts: int = 0
    suppressed: int = 0  # card updates folded into this one
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    # A replica delivering the row holds it until the lease ends.
    claimed_by: str | None = None
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    error: str | None = Field(default=None, sa_type=Text)


class ChatCard(SQLModel, table=True):
    """Where an incident's card lives, so it can be updated and threaded on."""

    __tablename__ = "chat_card"

    incident_id: int = Field(primary_key=True, foreign_key="incident.id")
    channel: str
    ts: str | None = None
    own_channel: bool = False  # a major incident's channel of its own
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ChatCursor(SQLModel, table=True):
    """The last timeline event the chat projector has turned into outbox rows."""

    __tablename__ = "chat_cursor"

    name: str = Field(primary_key=True)
    last_event_id: int = 0
