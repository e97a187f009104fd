"""Fireline's tables. Every schema change also gets an Alembic revision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, FetchedValue, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONDocument, UTCDateTime


def _time(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable, index=index)


class WebhookReceipt(SQLModel, table=True):
    """One Alertmanager delivery, stored verbatim before it is answered."""

    __tablename__ = "webhook_receipt"
    __table_args__ = (Index("ix_webhook_receipt_pending", "processed_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = _time()
    receiver: str
    group_key: str = Field(sa_type=Text)
    status: str
    alert_count: int
    body: str = Field(sa_type=Text)
    processed_at: datetime | None = _time(nullable=True)
    error: str | None = Field(default=None, sa_type=Text)


class Incident(SQLModel, table=True):
    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    title: str
    status: str = Field(index=True)  # open | acknowledged | resolved
    severity: str = Field(index=True)  # SEV1..SEV4
    service: str | None = None
    signal: str | None = None
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONDocument))
    source_url: str | None = None
    started_at: datetime = _time()
    opened_at: datetime = _time(index=True)
    acknowledged_at: datetime | None = _time(nullable=True)
    acknowledged_by: str | None = None
    resolved_at: datetime | None = _time(nullable=True)
    resolved_by: str | None = None
    reopen_count: int = 0
    updated_at: datetime = _time()
    runbook_id: str | None = None  # the runbook chosen when the incident opened
    runbook_hash: str | None = None  # sha256 of that runbook file, as chosen
    commander: str | None = None  # the latest assigned incident commander


class AlertGroup(SQLModel, table=True):
    """Alertmanager's group: one (receiver, groupKey), pointing at its latest incident."""

    __tablename__ = "alert_group"
    __table_args__ = (UniqueConstraint("receiver", "group_key", name="uq_alert_group_key"),)

    id: int | None = Field(default=None, primary_key=True)
    receiver: str
    group_key: str = Field(sa_type=Text)
    group_labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONDocument))
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    created_at: datetime = _time()


class AlertRecord(SQLModel, table=True):
    """One firing episode of an alert: its fingerprint and ``startsAt`` within a group."""

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("group_id", "fingerprint", "starts_at", name="uq_alert_episode"),
        Index("ix_alert_group_fingerprint", "group_id", "fingerprint"),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="alert_group.id")
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    fingerprint: str
    status: str  # firing | resolved
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONDocument))
    annotations: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONDocument))
    starts_at: datetime = _time()
    ends_at: datetime | None = _time(nullable=True)
    generator_url: str = ""
    # links the sender gave besides generatorURL (Grafana's dashboard, panel, silence)
    links: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONDocument))
    first_seen_at: datetime = _time()
    last_seen_at: datetime = _time()


class TimelineEvent(SQLModel, table=True):
    """Something that happened to an incident. Rows are appended, never changed."""

    __tablename__ = "timeline_event"
    __table_args__ = (
        Index("ix_timeline_incident_at", "incident_id", "at", "id"),
        Index("ix_timeline_incident_id", "incident_id", "id"),  # the console's pages
        Index("ix_timeline_txid", "txid", "id"),
        UniqueConstraint("incident_id", "dedupe_key", name="uq_timeline_dedupe"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    at: datetime = _time()
    recorded_at: datetime = _time()
    kind: str
    actor: str
    text: str = Field(sa_type=Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument))
    dedupe_key: str | None = None
    # PostgreSQL fills in the writing transaction's id, so the chat projector can follow
    # commit order rather than id order; NULL on SQLite, whose ids commit in order.
    txid: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True, server_default=FetchedValue())
    )
