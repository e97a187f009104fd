"""Maintenance windows made at run time, and the incidents a window held."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONDocument, UTCDateTime


class MaintenanceWindow(SQLModel, table=True):
    __tablename__ = "maintenance_window"
    __table_args__ = (Index("ix_maintenance_window_ends", "ends_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # Alertmanager matchers as written (``name="value"``); empty when only a service is named.
    matchers: list[str] = Field(default_factory=list, sa_column=Column(JSONDocument))
    service: str | None = None
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_by: str
    reason: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # Set when a person ended the window before its planned end (ends_at is then that time).
    ended_by: str | None = None


class MaintenanceHold(SQLModel, table=True):
    """One incident a window held; released (claimed) once, when the window is over."""

    __tablename__ = "maintenance_hold"
    __table_args__ = (
        UniqueConstraint("incident_id", "window_key", name="uq_maintenance_hold"),
        Index("ix_maintenance_hold_open", "released_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    # A stored window's id as text, or ``config:NAME`` for a window of the config file.
    window_key: str
    held_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # The window's end when it took the incident: a page deferred to then is brought
    # forward if the window is ended early.
    until: datetime = Field(sa_type=UTCDateTime, nullable=False)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = None  # released | resolved | held again
