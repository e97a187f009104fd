"""Public status updates: what an incident's commander told customers, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from storage.types import JSONDocument, UTCDateTime


class StatusUpdate(SQLModel, table=True):
    __tablename__ = "status_update"
    __table_args__ = (Index("ix_status_update_created", "created_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    phase: str  # investigating | identified | monitoring | resolved
    text: str = Field(sa_type=Text)
    author: str
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    components: list[str] = Field(default_factory=list, sa_column=Column(JSONDocument))
