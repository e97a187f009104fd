"""chat_card.stale: a card whose updates were held in its channel's storm digest

Revision ID: 0027_chat_card_stale
Revises: 0026_chat_digest
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_chat_card_stale"
down_revision: str | None = "0026_chat_digest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_card") as batch:
        batch.add_column(
            sa.Column("stale", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_chat_card_stale", "chat_card", ["stale"])


def downgrade() -> None:
    op.drop_index("ix_chat_card_stale", table_name="chat_card")
    with op.batch_alter_table("chat_card") as batch:
        batch.drop_column("stale")
