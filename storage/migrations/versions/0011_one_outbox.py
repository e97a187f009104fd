"""one outbox for every destination; timeline rows carry their transaction on PostgreSQL

outbox_message gains a destination, a lane, an idempotency key and bundling; existing rows
are Slack's, in their incident's lane. timeline_event gains txid (PostgreSQL fills it in
with the writing transaction's id) and chat_cursor the matching position, so the chat
projector follows commit order.

Revision ID: 0011_one_outbox
Revises: 0010_escalation_ack_due
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_one_outbox"
down_revision: str | None = "0010_escalation_ack_due"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TXID_DEFAULT = sa.text("(pg_current_xact_id()::text::bigint)")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(
            sa.Column("destination", sa.String(), nullable=False, server_default="slack")
        )
        batch.add_column(sa.Column("lane", sa.String(), nullable=False, server_default=""))
        batch.add_column(sa.Column("idempotency_key", sa.String(), nullable=True))
        batch.add_column(sa.Column("bundled_into", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("uncertain", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE outbox_message SET lane = CASE WHEN incident_id IS NULL "
        "THEN 'slack:loose:' || CAST(id AS VARCHAR) "
        "ELSE 'slack:incident:' || CAST(incident_id AS VARCHAR) END"
    )
    op.create_index("ix_outbox_lane", "outbox_message", ["destination", "status", "lane", "id"])
    op.create_index("uq_outbox_idempotency_key", "outbox_message", ["idempotency_key"], unique=True)
    with op.batch_alter_table("timeline_event") as batch:
        batch.add_column(sa.Column("txid", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("chat_cursor") as batch:
        batch.add_column(
            sa.Column("last_txid", sa.BigInteger(), nullable=False, server_default="0")
        )
    if postgres:
        # Rows from before are settled: they sort first, in id order, as they always did.
        op.execute("UPDATE timeline_event SET txid = 0")
        op.alter_column("timeline_event", "txid", server_default=TXID_DEFAULT)
    op.create_index("ix_timeline_txid", "timeline_event", ["txid", "id"])


def downgrade() -> None:
    op.drop_index("ix_timeline_txid", table_name="timeline_event")
    with op.batch_alter_table("chat_cursor") as batch:
        batch.drop_column("last_txid")
    with op.batch_alter_table("timeline_event") as batch:
        batch.drop_column("txid")
    op.drop_index("uq_outbox_idempotency_key", table_name="outbox_message")
    op.drop_index("ix_outbox_lane", table_name="outbox_message")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("uncertain")
        batch.drop_column("bundled_into")
        batch.drop_column("idempotency_key")
        batch.drop_column("lane")
        batch.drop_column("destination")
