"""runbook runs and automation guards

Revision ID: 0003_automation
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0003_automation"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "automation_pause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("paused_by", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("automation_pause", schema=None) as batch_op:
        batch_op.create_index(
            "ix_automation_pause_active", ["lifted_at", "scope", "target"], unique=False
        )

    op.create_table(
        "runbook_promotion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runbook_id", sa.String(), nullable=False),
        sa.Column("runbook_hash", sa.String(), nullable=False),
        sa.Column("promoted_by", sa.String(), nullable=False),
        sa.Column("promoted_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("runbook_id", "runbook_hash", name="uq_promotion"),
    )
    op.create_table(
        "runbook_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("runbook_id", sa.String(), nullable=False),
        sa.Column("runbook_hash", sa.String(), nullable=False),
        sa.Column("run_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("alert_starts_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("service", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column(
            "params",
            storage.types.JSONDocument,
            nullable=True,
        ),
        sa.Column(
            "param_errors",
            storage.types.JSONDocument,
            nullable=True,
        ),
        sa.Column(
            "plan",
            storage.types.JSONDocument,
            nullable=True,
        ),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("triggered_by", sa.String(), nullable=False),
        sa.Column("mutated", sa.Boolean(), nullable=False),
        sa.Column("verification", sa.String(), nullable=True),
        sa.Column("verify_deadline", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("lease_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_key", name="uq_runbook_run_key"),
    )
    with op.batch_alter_table("runbook_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_runbook_run_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index("ix_runbook_run_runbook", ["runbook_id", "created_at"], unique=False)
        batch_op.create_index("ix_runbook_run_status", ["status", "lease_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_runbook_run_target"), ["target"], unique=False)

    op.create_table(
        "automation_target_lock",
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("acquired_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runbook_run.id"],
        ),
        sa.PrimaryKeyConstraint("target"),
    )
    op.create_table(
        "step_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("mutating", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column(
            "args",
            storage.types.JSONDocument,
            nullable=True,
        ),
        sa.Column("args_hash", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("lease_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runbook_run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key", name="uq_step_run_idempotency"),
    )
    with op.batch_alter_table("step_run", schema=None) as batch_op:
        batch_op.create_index("ix_step_run_mutating", ["mutating", "started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_step_run_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_step_run_state", ["state", "lease_until"], unique=False)

    op.create_table(
        "approval_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step_run_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("args_hash", sa.String(), nullable=False),
        sa.Column(
            "approvers",
            storage.types.JSONDocument,
            nullable=True,
        ),
        sa.Column("triggered_by", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(), nullable=True),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runbook_run.id"],
        ),
        sa.ForeignKeyConstraint(
            ["step_run_id"],
            ["step_run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("step_run_id", name="uq_approval_step"),
    )
    with op.batch_alter_table("approval_request", schema=None) as batch_op:
        batch_op.create_index("ix_approval_open", ["decision", "expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_approval_request_incident_id"), ["incident_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("approval_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_request_incident_id"))
        batch_op.drop_index("ix_approval_open")

    op.drop_table("approval_request")
    with op.batch_alter_table("step_run", schema=None) as batch_op:
        batch_op.drop_index("ix_step_run_state")
        batch_op.drop_index(batch_op.f("ix_step_run_run_id"))
        batch_op.drop_index("ix_step_run_mutating")

    op.drop_table("step_run")
    op.drop_table("automation_target_lock")
    with op.batch_alter_table("runbook_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runbook_run_target"))
        batch_op.drop_index("ix_runbook_run_status")
        batch_op.drop_index("ix_runbook_run_runbook")
        batch_op.drop_index(batch_op.f("ix_runbook_run_incident_id"))

    op.drop_table("runbook_run")
    op.drop_table("runbook_promotion")
    with op.batch_alter_table("automation_pause", schema=None) as batch_op:
        batch_op.drop_index("ix_automation_pause_active")

    op.drop_table("automation_pause")
