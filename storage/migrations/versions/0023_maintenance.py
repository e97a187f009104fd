"""maintenance_window and maintenance_hold: windows that hold pages and remediation

Revision ID: 0023_maintenance
Revises: 0022_link_uses
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0023_maintenance"
down_revision: str | None = "0022_link_uses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "maintenance_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matchers", storage.types.JSONDocument, nullable=True),
        sa.Column("service", sa.String(), nullable=True),
        sa.Column("starts_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("maintenance_window", schema=None) as batch_op:
        batch_op.create_index("ix_maintenance_window_ends", ["ends_at"], unique=False)
    op.create_table(
        "maintenance_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("window_key", sa.String(), nullable=False),
        sa.Column("held_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "window_key", name="uq_maintenance_hold"),
    )
    with op.batch_alter_table("maintenance_hold", schema=None) as batch_op:
        batch_op.create_index("ix_maintenance_hold_open", ["released_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("maintenance_hold", schema=None) as batch_op:
        batch_op.drop_index("ix_maintenance_hold_open")
    op.drop_table("maintenance_hold")
    with op.batch_alter_table("maintenance_window", schema=None) as batch_op:
        batch_op.drop_index("ix_maintenance_window_ends")
    op.drop_table("maintenance_window")
