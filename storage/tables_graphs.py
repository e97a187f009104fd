"""The pictures of an incident's alert expression, drawn at open and after verification."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class IncidentGraph(SQLModel, table=True):
    __tablename__ = "incident_graph"
    # One picture per outbox row that asked for it: a retried delivery stores nothing twice.
    __table_args__ = (UniqueConstraint("request_key", name="uq_incident_graph_request"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    moment: str  # open | verification
    expression: str = Field(sa_type=Text)
    png: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    error: str | None = Field(default=None, sa_type=Text)  # why nothing was drawn
    series: int = 0
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    request_key: str
