"""incident_graph: the alert expression's picture at open and after verification

Revision ID: 0025_graphs
Revises: 0024_changes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0025_graphs"
down_revision: str | None = "0024_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident_graph",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("moment", sa.String(), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("series", sa.Integer(), nullable=False),
        sa.Column("starts_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("request_key", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_key", name="uq_incident_graph_request"),
    )
    with op.batch_alter_table("incident_graph", schema=None) as batch_op:
        batch_op.create_index("ix_incident_graph_incident_id", ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incident_graph", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_graph_incident_id")
    op.drop_table("incident_graph")
