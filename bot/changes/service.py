"""Changes in the database: record one, list them, attach them to incidents.

A change is attached (a ``change.correlated`` event) in two places: by triage, in the
transaction that opens an incident, to the changes of the window before its alert started;
and when a change is recorded after the page, to the open incidents whose alert started
within the window after it. The event's key makes either path attach a change once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.changes.decide import correlate, deploy_context, describe
from bot.changes.model import ChangeFacts, ChangeKind, NearbyChange
from bot.durations import format_duration
from bot.events import ChangeCorrelated, EventKind, as_data
from storage import queries
from storage import queries_changes as q
from storage.db import Database
from storage.tables import Incident
from storage.tables_changes import Change

ACTOR = "fireline"
DEFAULT_WINDOW = timedelta(hours=2)


@dataclass(frozen=True)
class Recorded:
    change: Change
    created: bool  # False: the same (source, external_id) was stored already
    incidents: list[int] = field(default_factory=list)  # those it was attached to


def nearby(row: Change) -> NearbyChange:
    assert row.id is not None
    return NearbyChange(
        id=row.id,
        kind=row.kind,
        service=row.service,
        environment=row.environment,
        version=row.version,
        previous_version=row.previous_version,
        actor=row.actor,
        link=row.link,
        labels=dict(row.labels or {}),
        at=row.at,
    )


def record(
    db: Database, facts: ChangeFacts, *, recorded_by: str, window: timedelta, now: datetime
) -> Recorded:
    """Store a change (once per sender's id) and attach it to the open incidents it may
    have caused, in one transaction."""
    with db.write() as session:
        if facts.external_id is not None:
            known = q.by_external_id(session, facts.source, facts.external_id)
            if known is not None:
                return Recorded(known, created=False)
        row = _row(session, facts, recorded_by=recorded_by, now=now)
        stored = q.add_change(session, row)
        if stored is None:
            assert facts.external_id is not None
            known = q.by_external_id(session, facts.source, facts.external_id)
            assert known is not None
            return Recorded(known, created=False)
        change = nearby(stored)
        attached = []
        for incident in q.open_incidents_started_between(
            session, since=change.at, until=change.at + window
        ):
            labels = dict(incident.labels or {})
            if correlate(
                [change],
                service=incident.service,
                labels=labels,
                started_at=incident.started_at,
                window=window,
            ) and _attach(session, incident, change, now=now):
                assert incident.id is not None
                attached.append(incident.id)
        return Recorded(stored, created=True, incidents=attached)


def _row(session: Session, facts: ChangeFacts, *, recorded_by: str, now: datetime) -> Change:
    previous = facts.previous_version
    if previous is None and facts.kind in (ChangeKind.DEPLOY, ChangeKind.ROLLBACK):
        before = q.previous_deploy(
            session, service=facts.service, environment=facts.environment, before=facts.at
        )
        previous = before.version if before is not None else None
    return Change(
        kind=facts.kind.value,
        service=facts.service,
        environment=facts.environment,
        version=facts.version,
        previous_version=previous,
        actor=facts.actor,
        summary=facts.summary,
        link=facts.link,
        labels=dict(facts.labels),
        at=facts.at,
        source=facts.source,
        external_id=facts.external_id,
        recorded_by=recorded_by,
        recorded_at=now,
    )


def _attach(session: Session, incident: Incident, change: NearbyChange, *, now: datetime) -> bool:
    """The ``change.correlated`` event, dated when the change happened so the post-mortem
    timeline shows it before the alert; False when it was attached already."""
    assert incident.id is not None
    data = ChangeCorrelated(
        change_id=change.id,
        kind=change.kind,
        service=change.service,
        environment=change.environment,
        version=change.version,
        previous_version=change.previous_version,
        by=change.actor,
        link=change.link,
        changed_at=change.at.isoformat(),
        before_alert=format_duration(max(incident.started_at - change.at, timedelta(0))),
    )
    event = queries.add_event(
        session,
        incident_id=incident.id,
        kind=EventKind.CHANGE_CORRELATED,
        text=_sentence(describe(change, started_at=incident.started_at)),
        actor=ACTOR,
        at=change.at,
        recorded_at=now,
        data=as_data(data),
        dedupe_key=f"change:{change.id}:incident:{incident.id}",
    )
    return event is not None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


class ChangeCorrelator:
    """Triage's hook: attach the window's changes to an incident it has just opened, in
    triage's transaction, and hand back what a runbook may take from the latest deploy."""

    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        self.window = window

    def on_incident_opened(
        self, session: Session, incident: Incident, *, labels: Mapping[str, str], now: datetime
    ) -> dict[str, str]:
        started = incident.started_at
        rows = q.changes_between(session, since=started - self.window, until=started)
        found = correlate(
            (nearby(r) for r in rows),
            service=incident.service,
            labels={**(incident.labels or {}), **labels},
            started_at=started,
            window=self.window,
        )
        for change in found:
            _attach(session, incident, change, now=now)
        return deploy_of(session, incident.id) if found else {}


def deploy_of(session: Session, incident_id: int | None) -> dict[str, str]:
    """What a runbook may take from the latest deploy attached to the incident."""
    if incident_id is None:
        return {}
    events = queries.events_of_kind(session, incident_id, EventKind.CHANGE_CORRELATED)
    return deploy_context([dict(e.data) for e in events])


def list_changes(
    db: Database,
    *,
    service: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[Change]:
    with db.session() as session:
        return q.list_changes(session, service=service, since=since, until=until, limit=limit)


def incidents_of_changes(db: Database, changes: list[Change]) -> dict[int, list[int]]:
    """The incidents each of ``changes`` was attached to, by change id."""
    with db.session() as session:
        return q.incidents_of_changes(session, changes, EventKind.CHANGE_CORRELATED)
