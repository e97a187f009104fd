"""outbox_pace: a Slack channel's send rate shared by every replica

Revision ID: 0028_outbox_pace
Revises: 0027_chat_card_stale
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_outbox_pace"
down_revision: str | None = "0027_chat_card_stale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_pace",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("tat", sa.Float(), nullable=False, server_default="0"),
        sa.Column("held_until", sa.Float(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("outbox_pace")
