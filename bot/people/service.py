"""Checking an action against the decision table, with every refusal on the timeline."""

from __future__ import annotations

from datetime import datetime

from bot.errors import PermissionDeniedError
from bot.events import AccessRefused, EventKind, as_data
from bot.people.decide import refusal
from bot.people.model import Action, Identity
from storage import queries
from storage.db import Database
from storage.tables import Incident


def authorize(
    db: Database,
    identity: Identity,
    action: Action,
    *,
    incident_id: int | None,
    now: datetime,
) -> None:
    """Raise PermissionDeniedError (403) unless ``identity`` may do ``action``; a refusal
    about an existing incident is recorded on its timeline first."""
    reason = refusal(identity, action)
    if reason is None:
        return
    if incident_id is not None:
        with db.write() as session:
            if session.get(Incident, incident_id) is not None:
                queries.add_event(
                    session,
                    incident_id=incident_id,
                    kind=EventKind.ACCESS_REFUSED,
                    text=f"{identity.actor} may not {action.value}: {reason}",
                    actor=identity.actor,
                    at=now,
                    recorded_at=now,
                    data=as_data(
                        AccessRefused(
                            action=action.value, role=identity.role.value, by=identity.actor
                        )
                    ),
                )
    raise PermissionDeniedError(reason)
