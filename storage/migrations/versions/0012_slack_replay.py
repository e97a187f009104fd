"""Slack request signatures seen within the replay window

Revision ID: 0012_slack_replay
Revises: 0011_one_outbox
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0012_slack_replay"
down_revision: str | None = "0011_one_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_request_seen",
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signature"),
    )
    op.create_index("ix_slack_request_seen_expires_at", "slack_request_seen", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_slack_request_seen_expires_at", table_name="slack_request_seen")
    op.drop_table("slack_request_seen")
