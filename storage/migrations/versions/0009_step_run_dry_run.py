"""step_run.dry_run, backfilled from the old "dry-run: " prefix on the reason

Revision ID: 0009_step_run_dry_run
Revises: 0008_incident_commander
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_step_run_dry_run"
down_revision: str | None = "0008_incident_commander"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX = "dry-run: "
_step_run = sa.table(
    "step_run",
    sa.column("id", sa.Integer),
    sa.column("reason", sa.Text),
    sa.column("dry_run", sa.Boolean),
)


def upgrade() -> None:
    with op.batch_alter_table("step_run") as batch:
        batch.add_column(
            sa.Column("dry_run", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_step_run.c.id, _step_run.c.reason).where(_step_run.c.reason.like(PREFIX + "%"))
    ).all()
    for row_id, reason in rows:
        connection.execute(
            sa.update(_step_run)
            .where(_step_run.c.id == row_id)
            .values(dry_run=True, reason=reason[len(PREFIX) :])
        )


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_step_run.c.id, _step_run.c.reason).where(_step_run.c.dry_run == sa.true())
    ).all()
    for row_id, reason in rows:
        connection.execute(
            sa.update(_step_run)
            .where(_step_run.c.id == row_id)
            .values(reason=PREFIX + (reason or ""))
        )
    with op.batch_alter_table("step_run") as batch:
        batch.drop_column("dry_run")
