"""Maintenance windows in the database: load, decide, store.

``Maintenance.hold`` runs inside the caller's transaction (escalation deciding a page,
automation deciding a step): the window that holds the incident is found, the hold row and
its ``maintenance.held`` event are written with the decision. ``release_ended`` is the
worker's: it claims the holds of windows that are over, one transaction, and re-evaluates
each incident still open through the ``Release`` it is given (escalation and automation,
wired by the app).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from bot.errors import ConflictError, NotFoundError
from bot.events import EventKind, MaintenanceHeld, MaintenanceReleased, as_data
from bot.maintenance.decide import (
    Window,
    check_scope,
    holding,
    parse_matchers,
    window_span,
)
from storage import queries
from storage import queries_maintenance as q
from storage.db import Database
from storage.tables import Incident
from storage.tables_maintenance import MaintenanceWindow

ACTOR = "fireline"


def window_of(row: MaintenanceWindow) -> Window:
    assert row.id is not None
    return Window(
        key=str(row.id),
        matchers=parse_matchers(row.matchers),
        service=row.service,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        created_by=row.created_by,
        reason=row.reason,
    )


class Release(Protocol):
    """Re-evaluates an incident a window no longer holds, in the caller's transaction, as
    triage would have on opening it; returns what it did, for the timeline.
    ``deferred_until`` is the window's end when it took the incident (a page deferred to
    then is due now when the window was ended early)."""

    def __call__(
        self, session: Session, incident: Incident, *, deferred_until: datetime, now: datetime
    ) -> str: ...


@dataclass(frozen=True)
class Maintenance:
    """The windows of the config file, and the stored ones read at each decision."""

    configured: tuple[Window, ...] = ()

    def active(self, session: Session, *, now: datetime) -> list[Window]:
        stored = [window_of(row) for row in q.active_windows(session, now=now)]
        return stored + [w for w in self.configured if w.active(now)]

    def holding(self, session: Session, incident: Incident, *, now: datetime) -> Window | None:
        return holding(
            self.active(session, now=now),
            labels=incident.labels,
            service=incident.service,
            now=now,
        )

    def hold(
        self, session: Session, incident: Incident, *, held: str, now: datetime
    ) -> Window | None:
        """The window holding the incident now, its hold recorded (once per window and
        incident) with a ``maintenance.held`` event; None when no window holds it."""
        window = self.holding(session, incident, now=now)
        if window is None:
            return None
        assert incident.id is not None
        if q.add_hold(
            session, incident_id=incident.id, window_key=window.key, until=window.ends_at, now=now
        ):
            _record_held(session, incident.id, window, held=held, now=now)
        return window


def _record_held(
    session: Session, incident_id: int, window: Window, *, held: str, now: datetime
) -> None:
    until = window.ends_at.isoformat()
    queries.add_event(
        session,
        incident_id=incident_id,
        kind=EventKind.MAINTENANCE_HELD,
        text=f"Incident held by maintenance window {window.key}: {window.reason}, "
        f"by {window.created_by}, until {until}",
        actor=ACTOR,
        at=now,
        recorded_at=now,
        data=as_data(
            MaintenanceHeld(
                window=window.key,
                reason=window.reason,
                by=window.created_by,
                until=until,
                held=held,
            )
        ),
        dedupe_key=f"maintenance.held:{window.key}",
    )


# --- windows people make -------------------------------------------------------------------


def create_window(
    db: Database,
    *,
    matchers: Sequence[str],
    service: str | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    duration: str | None,
    created_by: str,
    reason: str,
    now: datetime,
) -> Window:
    parsed = parse_matchers(matchers)
    check_scope(parsed, service)
    start, end = window_span(starts_at=starts_at, ends_at=ends_at, duration=duration, now=now)
    with db.write() as session:
        row = q.add_window(
            session,
            MaintenanceWindow(
                matchers=[str(m) for m in parsed],
                service=service or None,
                starts_at=start,
                ends_at=end,
                created_by=created_by,
                reason=reason,
                created_at=now,
            ),
        )
        return window_of(row)


@dataclass(frozen=True)
class Listed:
    window: Window
    active: bool
    ended_by: str | None = None


def list_windows(db: Database, maintenance: Maintenance, *, now: datetime) -> list[Listed]:
    """Windows not yet over (running or to come), the config file's included."""
    with db.session() as session:
        stored = [
            Listed(window_of(row), row.starts_at <= now, row.ended_by)
            for row in q.current_windows(session, now=now)
        ]
    configured = [Listed(w, w.active(now)) for w in maintenance.configured if w.ends_at > now]
    return sorted(stored + configured, key=lambda x: (x.window.starts_at, x.window.key))


def end_window(db: Database, window_id: int, *, by: str, now: datetime) -> Window:
    """End a stored window now; the worker then releases what it held."""
    with db.write() as session:
        row = q.lock_window(session, window_id)
        if row is None:
            raise NotFoundError(f"maintenance window {window_id} does not exist")
        if row.ends_at <= now:
            raise ConflictError(f"maintenance window {window_id} is already over")
        row.starts_at = min(row.starts_at, now)  # one that had not started never will
        row.ends_at = now
        row.ended_by = by
        session.add(row)
        return window_of(row)


# --- the end of a window -------------------------------------------------------------------


@dataclass
class Released:
    released: list[int] = field(default_factory=list)
    left_alone: list[int] = field(default_factory=list)
    held_again: list[int] = field(default_factory=list)


def release_ended(
    db: Database, maintenance: Maintenance, release: Release, *, now: datetime
) -> Released:
    """Release every incident held by a window that is over: claimed once (a second
    replica finds the holds taken), resolved incidents left alone, an incident another
    window still holds held by that one, the rest re-evaluated through ``release``."""
    outcome = Released()
    with db.write() as session:
        on = {w.key for w in maintenance.active(session, now=now)}
        for hold in q.unreleased_holds(session, except_windows=on):
            assert hold.id is not None
            if not q.claim_hold(session, hold.id, now=now):
                continue
            incident = queries.lock_incident(session, hold.incident_id)
            if incident is None or incident.status == "resolved":
                q.set_hold_outcome(session, hold.id, "resolved")
                outcome.left_alone.append(hold.incident_id)
                continue
            if maintenance.hold(session, incident, held="release", now=now) is not None:
                q.set_hold_outcome(session, hold.id, "held again")
                outcome.held_again.append(hold.incident_id)
                continue
            did = release(session, incident, deferred_until=hold.until, now=now)
            q.set_hold_outcome(session, hold.id, "released")
            _record_released(session, hold.incident_id, hold.window_key, did, now=now)
            outcome.released.append(hold.incident_id)
    return outcome


def _record_released(
    session: Session, incident_id: int, window_key: str, did: str, *, now: datetime
) -> None:
    queries.add_event(
        session,
        incident_id=incident_id,
        kind=EventKind.MAINTENANCE_RELEASED,
        text=f"Maintenance window {window_key} ended, re-evaluated: {did}",
        actor=ACTOR,
        at=now,
        recorded_at=now,
        data=as_data(MaintenanceReleased(window=window_key, result=did)),
        dedupe_key=f"maintenance.released:{window_key}",
    )
