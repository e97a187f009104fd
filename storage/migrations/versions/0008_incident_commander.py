"""incident.commander, backfilled from each incident's latest commander.assigned event

Revision ID: 0008_incident_commander
Revises: 0007_merge_features
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0008_incident_commander"
down_revision: str | None = "0007_merge_features"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_incident = sa.table("incident", sa.column("id", sa.Integer), sa.column("commander", sa.String))
_event = sa.table(
    "timeline_event",
    sa.column("id", sa.Integer),
    sa.column("incident_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("data", storage.types.JSONDocument),
)


def upgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        batch.add_column(sa.Column("commander", sa.String(), nullable=True))
    connection = op.get_bind()
    latest = (
        sa.select(_event.c.incident_id, sa.func.max(_event.c.id).label("id"))
        .where(_event.c.kind == "commander.assigned")
        .group_by(_event.c.incident_id)
        .subquery()
    )
    rows = connection.execute(
        sa.select(_event.c.incident_id, _event.c.data).join(latest, latest.c.id == _event.c.id)
    )
    for incident_id, data in rows.all():
        user = (data or {}).get("user")
        if user:
            connection.execute(
                _incident.update().where(_incident.c.id == incident_id).values(commander=str(user))
            )


def downgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        batch.drop_column("commander")
