"""one history: join the feature branches that each revised the initial schema

Revision ID: 0007_merge_features
Revises: 0002_runbooks, 0003_automation, 0004_escalation, 0005_followups, 0006_slack
"""

from collections.abc import Sequence

revision: str = "0007_merge_features"
down_revision: str | Sequence[str] | None = (
    "0002_runbooks",
    "0003_automation",
    "0004_escalation",
    "0005_followups",
    "0006_slack",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
