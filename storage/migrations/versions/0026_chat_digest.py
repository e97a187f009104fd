"""chat_card.digest: an incident listed in its channel's storm digest instead of a card

Revision ID: 0026_chat_digest
Revises: 0025_graphs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_chat_digest"
down_revision: str | None = "0025_graphs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_card") as batch:
        batch.add_column(
            sa.Column("digest", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_chat_card_channel", "chat_card", ["channel"])


def downgrade() -> None:
    op.drop_index("ix_chat_card_channel", table_name="chat_card")
    with op.batch_alter_table("chat_card") as batch:
        batch.drop_column("digest")
