"""Escalation timers, on-call overrides given at run time, and the watchdog heartbeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class EscalationTimer(SQLModel, table=True):
    """One incident's escalation: where it stands and, while active, when it fires next.

    ``level`` is the 0-based level to notify at ``due_at``; ``current_level`` the level
    notified last (None before the first). Status: active, once (a single page while the
    incident stays acknowledged), stopped (acknowledged or resolved) or exhausted (the
    policy ran out of levels and repeats). ``ack_due_at``, set while the incident is
    acknowledged and an acknowledgement timeout is configured, is when the acknowledgement
    lapses and escalation restarts; it is independent of the status so that a one-off page
    leaves it standing.
    """

    __tablename__ = "escalation_timer"
    __table_args__ = (
        Index("ix_escalation_timer_due", "status", "due_at"),
        Index("ix_escalation_timer_ack_due", "ack_due_at"),
    )

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    policy: str
    status: str
    level: int
    round: int = 0
    current_level: int | None = None
    reason: str = Field(
        default="", sa_type=Text
    )  # why the pending notification will be sent, for the timeline
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    ack_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    version: int = 0
    claimed_by: str | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class OnCallOverride(SQLModel, table=True):
    """An override added through the API; merged with the ones in the config file."""

    __tablename__ = "oncall_override"
    __table_args__ = (Index("ix_oncall_override_schedule", "schedule", "end_at"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule: str
    user: str
    start_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    end_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_by: str
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Heartbeat(SQLModel, table=True):
    """The last arrival of an always-firing alert such as Alertmanager's Watchdog."""

    __tablename__ = "heartbeat"

    name: str = Field(primary_key=True)
    last_seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
