"""postmortem_section: the human sections of a post-mortem, every version kept;
followup.due_at and followup.link

Revision ID: 0015_postmortem_sections
Revises: 0014_status_updates
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0015_postmortem_sections"
down_revision: str | None = "0014_status_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "postmortem_section",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("saved_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_postmortem_section_current",
        "postmortem_section",
        ["incident_id", "section", "version"],
        unique=True,
    )
    with op.batch_alter_table("followup") as batch:
        batch.add_column(
            sa.Column("due_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("link", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("followup") as batch:
        batch.drop_column("link")
        batch.drop_column("due_at")
    op.drop_index("ix_postmortem_section_current", table_name="postmortem_section")
    op.drop_table("postmortem_section")
