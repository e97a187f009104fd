"""The ``silences`` timeline projection: every acknowledgement, un-acknowledgement,
resolution and new alert, whatever wrote it, becomes one ``alertmanager`` outbox row in
the projection's own transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.durations import format_duration
from bot.events import EventKind, IncidentSilenced, as_data
from bot.outbox import service as outbox
from bot.outbox.projection import EventHandler
from bot.silences.decide import work_for
from storage import queries
from storage.db import Database
from storage.tables import Incident, TimelineEvent

NAME = "silences"  # the projection's cursor
ALERTMANAGER = "alertmanager"  # the outbox destination

WATCHED = frozenset(
    {
        EventKind.INCIDENT_ACKNOWLEDGED,
        EventKind.INCIDENT_UNACKNOWLEDGED,
        EventKind.INCIDENT_RESOLVED,
        EventKind.ALERT_FIRED,
    }
)


def handler(*, on_ack: bool) -> EventHandler:
    def handle(session: Session, event: TimelineEvent, now: datetime) -> None:
        if event.kind not in WATCHED:
            return
        incident = session.get(Incident, event.incident_id)
        if incident is None or incident.id is None:
            return
        work = work_for(event.kind, incident_status=incident.status, on_ack=on_ack)
        if work is None:
            return
        outbox.queue(
            session,
            destination=ALERTMANAGER,
            lane=f"{ALERTMANAGER}:incident:{incident.id}",
            kind=work.value,
            # Whoever acknowledged, also for an alert that joined (or was projected) later.
            payload={"incident_id": incident.id, "by": incident.acknowledged_by or event.actor},
            now=now,
            incident_id=incident.id,
            idempotency_key=f"{NAME}:{event.id}",
        )

    return handle


def firing_labels(db: Database, incident_id: int) -> tuple[str | None, list[dict[str, str]]]:
    """(the incident's status, its firing alerts' labels)."""
    with db.session() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            return None, []
        alerts = queries.alerts_of(session, incident_id)
        return incident.status, [dict(a.labels) for a in alerts if a.status == "firing"]


def record(
    db: Database,
    incident_id: int,
    *,
    created: list[str],
    expired: list[str],
    by: str,
    duration: timedelta,
    now: datetime,
) -> None:
    with db.write() as session:
        if created:
            queries.add_event(
                session,
                incident_id=incident_id,
                kind=EventKind.INCIDENT_SILENCED,
                text=f"Silenced in Alertmanager for {format_duration(duration)}, acknowledged "
                f"by {by} ({len(created)} silence{'s' if len(created) != 1 else ''})",
                actor="fireline",
                at=now,
                recorded_at=now,
                data=as_data(
                    IncidentSilenced(silence_ids=created, duration=format_duration(duration))
                ),
            )
        if expired:
            queries.add_event(
                session,
                incident_id=incident_id,
                kind=EventKind.INCIDENT_UNSILENCED,
                text=f"Lifted {len(expired)} Alertmanager silence"
                + ("s" if len(expired) != 1 else ""),
                actor="fireline",
                at=now,
                recorded_at=now,
                data={"silence_ids": expired},
            )
