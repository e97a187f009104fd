"""escalation_timer.ack_due_at: when an acknowledgement times out and escalation restarts

Revision ID: 0010_escalation_ack_due
Revises: 0009_step_run_dry_run
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0010_escalation_ack_due"
down_revision: str | None = "0009_step_run_dry_run"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalation_timer") as batch:
        batch.add_column(
            sa.Column("ack_due_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index("ix_escalation_timer_ack_due", ["ack_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("escalation_timer") as batch:
        batch.drop_index("ix_escalation_timer_ack_due")
        batch.drop_column("ack_due_at")
