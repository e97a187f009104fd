"""timeline_event (incident_id, id): the console reads an incident's newest events by id

Revision ID: 0016_timeline_by_id
Revises: 0015_postmortem_sections
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016_timeline_by_id"
down_revision: str | None = "0015_postmortem_sections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_timeline_incident_id", "timeline_event", ["incident_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_timeline_incident_id", table_name="timeline_event")
