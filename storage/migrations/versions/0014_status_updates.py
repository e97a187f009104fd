"""status_update: public updates written for an incident's status page entry

Revision ID: 0014_status_updates
Revises: 0013_alert_links
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0014_status_updates"
down_revision: str | None = "0013_alert_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("components", storage.types.JSONDocument, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("status_update", schema=None) as batch_op:
        batch_op.create_index("ix_status_update_incident_id", ["incident_id"], unique=False)
        batch_op.create_index("ix_status_update_created", ["created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("status_update", schema=None) as batch_op:
        batch_op.drop_index("ix_status_update_created")
        batch_op.drop_index("ix_status_update_incident_id")
    op.drop_table("status_update")
