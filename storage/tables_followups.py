"""Follow-up items: the work an incident leaves behind, tracked until it is done."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class FollowUp(SQLModel, table=True):
    __tablename__ = "followup"
    __table_args__ = (Index("ix_followup_status", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    text: str = Field(sa_type=Text)
    status: str  # open | done
    owner: str | None = None
    created_by: str
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    done_by: str | None = None
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    link: str | None = None  # the issue tracker's page for this item
