"""Changes to what runs: deploys, config changes, feature-flag flips and rollbacks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONDocument, UTCDateTime


class Change(SQLModel, table=True):
    __tablename__ = "change"
    __table_args__ = (
        Index("ix_change_service_at", "service", "at"),
        Index("ix_change_at", "at"),
        # A receiver's delivery id (GitHub's X-GitHub-Delivery, a CI's own id): the same
        # change sent twice is stored once.
        UniqueConstraint("source", "external_id", name="uq_change_external"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # deploy | config | flag | rollback
    service: str
    environment: str | None = None
    version: str | None = None
    previous_version: str | None = None  # given, or the service's deploy before this one
    actor: str
    summary: str = Field(default="", sa_type=Text)
    link: str | None = None
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONDocument))
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    source: str  # api | cli | github | argocd
    external_id: str | None = None
    recorded_by: str
    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
