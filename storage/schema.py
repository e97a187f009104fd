"""Imports every table module, so that SQLModel.metadata holds the whole schema.

Alembic's environment and the tests import this; a new table module adds one line here.
"""

from __future__ import annotations

import storage.tables  # noqa: F401
from storage import (
    tables_automation,  # noqa: F401
    tables_changes,  # noqa: F401
    tables_chat,  # noqa: F401
    tables_followups,  # noqa: F401
    tables_graphs,  # noqa: F401
    tables_maintenance,  # noqa: F401
    tables_notify,  # noqa: F401
    tables_outbox,  # noqa: F401
    tables_postmortem,  # noqa: F401
    tables_security,  # noqa: F401
    tables_status,  # noqa: F401
)
from storage import tables_escalation as _escalation  # noqa: F401
