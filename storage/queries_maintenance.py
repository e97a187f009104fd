"""SQL for maintenance windows and the incidents they hold."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage import dialect
from storage.errors import IntegrityError
from storage.tables_maintenance import MaintenanceHold, MaintenanceWindow


def add_window(session: Session, window: MaintenanceWindow) -> MaintenanceWindow:
    session.add(window)
    session.flush()
    return window


def active_windows(session: Session, *, now: datetime) -> list[MaintenanceWindow]:
    query = (
        select(MaintenanceWindow)
        .where(col(MaintenanceWindow.starts_at) <= now)
        .where(col(MaintenanceWindow.ends_at) > now)
        .order_by(col(MaintenanceWindow.id))
    )
    return list(session.exec(query))


def current_windows(session: Session, *, now: datetime) -> list[MaintenanceWindow]:
    """Windows not yet over: running now or still to come."""
    query = (
        select(MaintenanceWindow)
        .where(col(MaintenanceWindow.ends_at) > now)
        .order_by(col(MaintenanceWindow.starts_at), col(MaintenanceWindow.id))
    )
    return list(session.exec(query))


def lock_window(session: Session, window_id: int) -> MaintenanceWindow | None:
    query = select(MaintenanceWindow).where(MaintenanceWindow.id == window_id)
    query = dialect.locked(session, query)
    return session.exec(query.execution_options(populate_existing=True)).first()


def add_hold(
    session: Session, *, incident_id: int, window_key: str, until: datetime, now: datetime
) -> bool:
    """Record that ``window_key`` holds the incident; False when it already did."""
    hold = MaintenanceHold(incident_id=incident_id, window_key=window_key, held_at=now, until=until)
    try:
        with session.begin_nested():
            session.add(hold)
            session.flush()
    except IntegrityError:
        return False
    return True


def unreleased_holds(session: Session, *, except_windows: Collection[str]) -> list[MaintenanceHold]:
    """Holds not yet released whose window is not among ``except_windows`` (those still on)."""
    query = select(MaintenanceHold).where(col(MaintenanceHold.released_at).is_(None))
    if except_windows:
        query = query.where(col(MaintenanceHold.window_key).not_in(list(except_windows)))
    return list(session.exec(query.order_by(col(MaintenanceHold.id))))


def claim_hold(session: Session, hold_id: int, *, now: datetime) -> bool:
    """Mark a hold released; True for the one transaction that did it (a second replica
    waits on the row, finds it released and gets False)."""
    stmt = (
        update(MaintenanceHold)
        .where(col(MaintenanceHold.id) == hold_id)
        .where(col(MaintenanceHold.released_at).is_(None))
        .values(released_at=now)
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def set_hold_outcome(session: Session, hold_id: int, outcome: str) -> None:
    session.execute(
        update(MaintenanceHold).where(col(MaintenanceHold.id) == hold_id).values(outcome=outcome)
    )


def holds_of_window(session: Session, window_key: str) -> list[MaintenanceHold]:
    query = select(MaintenanceHold).where(MaintenanceHold.window_key == window_key)
    return list(session.exec(query.order_by(col(MaintenanceHold.id))))
