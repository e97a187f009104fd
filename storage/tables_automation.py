"""Runbook runs, their steps, approvals, pauses, promotions and target locks.

A run is one runbook version applied to one alert episode (``run_key`` is unique); a step
run's ``idempotency_key`` is unique too, and is committed before a mutating step starts.
Together they make every mutating step at-most-once across redeliveries, restarts and
replicas.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from storage.types import JSONDocument, UTCDateTime


def _time(*, nullable: bool = False) -> Any:
    return Field(default=None if nullable else ..., sa_type=UTCDateTime, nullable=nullable)


class RunbookRun(SQLModel, table=True):
    __tablename__ = "runbook_run"
    __table_args__ = (
        UniqueConstraint("run_key", name="uq_runbook_run_key"),
        Index("ix_runbook_run_status", "status", "lease_until"),
        Index("ix_runbook_run_runbook", "runbook_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    runbook_id: str
    runbook_hash: str
    run_key: str = Field(sa_type=Text)
    fingerprint: str
    alert_starts_at: datetime = _time()
    target: str = Field(sa_type=Text, index=True)
    service: str | None = None
    # pending | running | waiting | verifying | succeeded | failed | finished | refused
    # | interrupted
    status: str
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument))
    param_errors: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONDocument))
    # The runbook's steps, policy, verification and approvers as selected: a later edit
    # of the file never changes a run in flight.
    plan: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument))
    trusted: bool = False
    triggered_by: str
    mutated: bool = False
    verification: str | None = None  # succeeded | failed | inconclusive
    verify_deadline: datetime | None = _time(nullable=True)
    claimed_by: str | None = None
    lease_until: datetime | None = _time(nullable=True)
    created_at: datetime = _time()
    updated_at: datetime = _time()
    finished_at: datetime | None = _time(nullable=True)


class StepRun(SQLModel, table=True):
    __tablename__ = "step_run"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_step_run_idempotency"),
        Index("ix_step_run_state", "state", "lease_until"),
        Index("ix_step_run_mutating", "mutating", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="runbook_run.id", index=True)
    incident_id: int = Field(foreign_key="incident.id")
    step_id: str
    position: int
    kind: str
    action: str
    mutating: bool
    state: str
    dry_run: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    idempotency_key: str = Field(sa_type=Text)
    # Resolved parameters with ``secrets.NAME`` references left as names: never a value.
    args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument))
    args_hash: str
    reason: str | None = Field(default=None, sa_type=Text)
    summary: str | None = Field(default=None, sa_type=Text)
    output: str | None = Field(default=None, sa_type=Text)
    exit_code: int | None = None
    attempts: int = 0
    created_at: datetime = _time()
    started_at: datetime | None = _time(nullable=True)
    finished_at: datetime | None = _time(nullable=True)
    claimed_by: str | None = None
    lease_until: datetime | None = _time(nullable=True)


class ApprovalRequest(SQLModel, table=True):
    __tablename__ = "approval_request"
    __table_args__ = (
        UniqueConstraint("step_run_id", name="uq_approval_step"),
        Index("ix_approval_open", "decision", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    step_run_id: int = Field(foreign_key="step_run.id")
    run_id: int = Field(foreign_key="runbook_run.id")
    incident_id: int = Field(foreign_key="incident.id", index=True)
    args_hash: str
    approvers: list[str] = Field(default_factory=list, sa_column=Column(JSONDocument))
    triggered_by: str
    reason: str = Field(sa_type=Text)
    requested_at: datetime = _time()
    expires_at: datetime = _time()
    decision: str | None = None  # approved | rejected | expired
    decided_by: str | None = None
    decided_at: datetime | None = _time(nullable=True)
    note: str | None = Field(default=None, sa_type=Text)


class AutomationPause(SQLModel, table=True):
    """A kill switch: global, for one runbook or for one service; a tripped circuit
    breaker is a pause of its runbook that only a person lifts."""

    __tablename__ = "automation_pause"
    __table_args__ = (Index("ix_automation_pause_active", "lifted_at", "scope", "target"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str  # global | runbook | service
    target: str = ""
    kind: str = "manual"  # manual | breaker
    paused_by: str
    reason: str = Field(sa_type=Text)
    created_at: datetime = _time()
    expires_at: datetime | None = _time(nullable=True)
    lifted_at: datetime | None = _time(nullable=True)
    lifted_by: str | None = None


class RunbookPromotion(SQLModel, table=True):
    """A person's word that this version of a runbook may leave suggest mode."""

    __tablename__ = "runbook_promotion"
    __table_args__ = (UniqueConstraint("runbook_id", "runbook_hash", name="uq_promotion"),)

    id: int | None = Field(default=None, primary_key=True)
    runbook_id: str
    runbook_hash: str
    promoted_by: str
    promoted_at: datetime = _time()
    note: str | None = Field(default=None, sa_type=Text)


class TargetLock(SQLModel, table=True):
    """One mutating run per target at a time: the row exists while a run holds it."""

    __tablename__ = "automation_target_lock"

    target: str = Field(primary_key=True, sa_type=Text)
    run_id: int = Field(foreign_key="runbook_run.id")
    acquired_at: datetime = _time()
