"""alert.links: the links a sender gives besides generatorURL (Grafana's dashboard, panel, silence)

Revision ID: 0013_alert_links
Revises: 0012_slack_replay
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0013_alert_links"
down_revision: str | None = "0012_slack_replay"
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
