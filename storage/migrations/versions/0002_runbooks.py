"""the runbook chosen for an incident

Revision ID: 0002_runbooks
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_runbooks"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("runbook_id", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("runbook_hash", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("runbook_hash")
        batch_op.drop_column("runbook_id")
