"""The post-mortem's human sections: every saved version, so an edit never loses the last."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class PostmortemSection(SQLModel, table=True):
    """One saved version of one section; the newest per (incident, section) is current."""

    __tablename__ = "postmortem_section"
    __table_args__ = (
        Index("ix_postmortem_section_current", "incident_id", "section", "version", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    section: str
    version: int
    text: str = Field(sa_type=Text)
    author: str
    saved_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
