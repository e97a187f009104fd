"""The one outbox: every message that leaves Fireline (Slack, escalation webhooks,
PagerDuty) is a row here, written in the same transaction as the decision that causes it
and sent only after that transaction commits.

A row belongs to a *destination* (``slack``, ``webhook:NAME``) and a *lane*: rows of one
lane go out one at a time in id order (an incident's thread, one person's pages), while
lanes, and destinations, never wait for each other. A sender holds a row by a short lease
that it renews while the send is in flight, so a crashed sender's row is taken over within
seconds; ``claimed_by`` still set when a row is claimed again means the previous attempt
was interrupted and may have reached the peer (``uncertain``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from storage.types import JSONDocument, UTCDateTime


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for its turn or its next attempt
    SENDING = "sending"  # held by a sender's lease
    SENT = "sent"
    FAILED = "failed"  # refused for good, or given up after its attempts
    BUNDLED = "bundled"  # delivered inside another row's message (``bundled_into``)
    CANCELLED = "cancelled"  # a page the incident no longer needs (acknowledged, resolved)


WAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at", "id"),
        Index("ix_outbox_incident", "incident_id", "status", "id"),
        Index("ix_outbox_lane", "destination", "status", "lane", "id"),
        Index("uq_outbox_idempotency_key", "idempotency_key", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    destination: str = "slack"  # slack | webhook:NAME
    lane: str = ""  # rows of one lane are delivered in id order, one at a time
    # slack: card.post | card.update | thread | dm | invite | file | channel.create |
    # silence.expire; webhooks: page
    kind: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument))
    # Stable for the life of the message: sent as Idempotency-Key, and unique here so a
    # decision recorded twice cannot queue its message twice.
    idempotency_key: str | None = None
    status: str = OutboxStatus.PENDING
    attempts: int = 0  # attempts started
    # An earlier attempt was cut short and may have reached the peer; kept until the row is
    # sent, so a retry after a failed look-up still looks before sending again.
    uncertain: bool = False
    suppressed: int = 0  # messages folded into this one (card redraws, alert storms)
    bundled_into: int | None = None
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_by: str | None = None
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    error: str | None = Field(default=None, sa_type=Text)


class OutboxPace(SQLModel, table=True):
    """One key's send rate shared by every replica (a Slack channel's, on PostgreSQL):
    when its next slot starts (the generic cell rate algorithm's theoretical arrival
    time) and until when the peer asked it to stop (``Retry-After``), both in seconds of
    the Unix epoch. A replica pacing on its own would send at the rate once per replica."""

    __tablename__ = "outbox_pace"

    key: str = Field(primary_key=True)
    tat: float = 0.0
    held_until: float = 0.0
