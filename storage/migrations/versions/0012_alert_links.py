"""alert.links: the links a sender gives besides generatorURL (Grafana's dashboard, panel, silence)

Revision ID: 0012_alert_links
Revises: 0011_one_outbox
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0012_alert_links"
down_revision: str | None = "0011_one_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.add_column(
            sa.Column("links", storage.types.JSONDocument, nullable=True, server_default="{}")
        )


def downgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.drop_column("links")
