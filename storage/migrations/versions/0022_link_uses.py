"""action_link_use: the nonces of acknowledge and resolve links already used

Revision ID: 0022_link_uses
Revises: 0021_contact_methods
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0022_link_uses"
down_revision: str | None = "0021_contact_methods"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_link_use",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("used_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_index("ix_action_link_use_incident_id", "action_link_use", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_action_link_use_incident_id", table_name="action_link_use")
    op.drop_table("action_link_use")
