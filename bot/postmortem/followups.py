"""Follow-up items: created from the API, the CLI or chat, listed across incidents, closed.

Each change is also a timeline event (``followup.added`` / ``followup.done``), so the
post-mortem and the incident's history show them in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.clock import Clock, utcnow
from bot.errors import InvalidInputError, NotFoundError
from bot.events import EventKind, Followup, as_data
from bot.outbox.projection import EventHandler
from bot.postmortem.decide import RunbookOutcome, runbook_followup
from storage import queries, queries_followups
from storage.db import Database
from storage.tables import Incident, TimelineEvent
from storage.tables_followups import FollowUp

ACTOR = "fireline"
RUNBOOK_FOLLOWUPS = "followups"  # the projection's cursor
OPEN = "open"
DONE = "done"
#: A follow-up given no due date is due this long after it was added.
DEFAULT_DUE = timedelta(days=14)


def is_overdue(status: str, due_at: datetime | None, *, now: datetime) -> bool:
    """Still open after its due date."""
    return status == OPEN and due_at is not None and due_at < now


def add_followup(
    db: Database,
    incident_id: int,
    *,
    text: str,
    actor: str,
    owner: str | None = None,
    due: datetime | None = None,
    link: str | None = None,
    clock: Clock = utcnow,
) -> FollowUp:
    """Record a follow-up item for an incident; what ``/fireline followup <text>`` calls.

    Without ``due`` it is due ``DEFAULT_DUE`` after now; ``link`` is its issue tracker page.
    """
    text = text.strip()
    if not text:
        raise InvalidInputError("a follow-up needs some text")
    if due is not None and due.tzinfo is None:
        raise InvalidInputError("a due date needs a time zone, such as 2026-12-19T00:00:00Z")
    if link is not None and not link.startswith(("https://", "http://")):
        raise InvalidInputError("a follow-up's link is an http(s) address")
    with db.write() as session:
        if queries.lock_incident(session, incident_id) is None:
            raise NotFoundError(f"incident {incident_id} does not exist")
        return add_in(
            session,
            incident_id,
            text=text,
            actor=actor,
            owner=owner,
            due=due,
            link=link,
            now=clock(),
        )


def add_in(
    session: Session,
    incident_id: int,
    *,
    text: str,
    actor: str,
    owner: str | None,
    due: datetime | None,
    link: str | None,
    now: datetime,
) -> FollowUp:
    """The follow-up and its ``followup.added`` event, in the caller's transaction."""
    item = FollowUp(
        incident_id=incident_id,
        text=text,
        status=OPEN,
        owner=owner,
        created_by=actor,
        created_at=now,
        due_at=due if due is not None else now + DEFAULT_DUE,
        link=link,
    )
    session.add(item)
    session.flush()
    assert item.id is not None
    queries.add_event(
        session,
        incident_id=incident_id,
        kind=EventKind.FOLLOWUP_ADDED,
        text=f"Follow-up #{item.id} added: {text}",
        actor=actor,
        at=now,
        recorded_at=now,
        data=as_data(Followup(followup_id=item.id, text=text)),
    )
    return item


def mark_done(db: Database, followup_id: int, *, actor: str, clock: Clock = utcnow) -> FollowUp:
    """Close a follow-up; closing one that is already done changes nothing."""
    with db.write() as session:
        item = queries_followups.lock_followup(session, followup_id)
        if item is None:
            raise NotFoundError(f"follow-up {followup_id} does not exist")
        if item.status == DONE:
            return item
        now = clock()
        item.status = DONE
        item.done_at = now
        item.done_by = actor
        session.add(item)
        queries.add_event(
            session,
            incident_id=item.incident_id,
            kind=EventKind.FOLLOWUP_DONE,
            text=f"Follow-up #{followup_id} done: {item.text}",
            actor=actor,
            at=now,
            recorded_at=now,
            data=as_data(Followup(followup_id=followup_id, text=item.text)),
        )
        return item


def list_followups(
    db: Database,
    *,
    status: str | None = None,
    overdue_at: datetime | None = None,
    limit: int = 500,
) -> list[FollowUp]:
    """Follow-ups across incidents; with ``overdue_at``, only those open and due before it."""
    with db.session() as session:
        if overdue_at is not None:
            return queries_followups.overdue_followups(session, now=overdue_at, limit=limit)
        return queries_followups.list_followups(
            session, statuses=(status,) if status else (), limit=limit
        )


def followups_of(db: Database, incident_id: int) -> list[FollowUp]:
    with db.session() as session:
        return queries_followups.followups_of(session, incident_id)


def runbook_handler(owners_of: Callable[[str], Sequence[str]]) -> EventHandler:
    """The "followups" projection: a resolved incident whose runbook did not do its job
    (none matched, a step failed, verification failed) gets a follow-up for the runbook's
    owners, once per incident."""

    def handle(session: Session, event: TimelineEvent, now: datetime) -> None:
        if event.kind != EventKind.INCIDENT_RESOLVED:
            return
        incident = session.get(Incident, event.incident_id)
        if incident is None or incident.id is None:
            return
        outcome = runbook_outcome(session, incident)
        owners = list(owners_of(outcome.runbook_id)) if outcome.runbook_id else []
        text = runbook_followup(outcome, owners)
        if text is None:
            return
        if any(f.text == text for f in queries_followups.followups_of(session, incident.id)):
            return
        owner = owners[0] if owners else None
        add_in(
            session,
            incident.id,
            text=text,
            actor=ACTOR,
            owner=owner,
            due=None,
            link=None,
            now=now,
        )

    return handle


def runbook_outcome(session: Session, incident: Incident) -> RunbookOutcome:
    assert incident.id is not None
    failed = [
        e
        for kind in (EventKind.STEP_FAILED, EventKind.STEP_TIMED_OUT)
        for e in queries.events_of_kind(session, incident.id, kind)
    ]
    verification = queries.events_of_kind(session, incident.id, EventKind.VERIFICATION_FAILED)
    alerts = queries.alerts_of(session, incident.id)
    name = alerts[0].labels.get("alertname", incident.title) if alerts else incident.title
    selected = queries.events_of_kind(session, incident.id, EventKind.RUNBOOK_SELECTED)
    chosen = str(selected[-1].data.get("runbook_id") or "") if selected else ""
    return RunbookOutcome(
        runbook_id=chosen or incident.runbook_id,
        alert_name=name,
        step_failed=bool(failed),
        verification_failed=bool(verification),
    )
