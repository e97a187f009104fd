"""Queries of people's stored contact methods."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from storage.tables import Incident, TimelineEvent
from storage.tables_notify import ContactMethod, MethodStatus


def methods_of(session: Session, person: str) -> list[ContactMethod]:
    query = select(ContactMethod).where(ContactMethod.person == person)
    return list(session.exec(query.order_by(col(ContactMethod.id))))


def methods_of_people(session: Session, people: Iterable[str]) -> list[ContactMethod]:
    wanted = list(people)
    if not wanted:
        return []
    query = select(ContactMethod).where(col(ContactMethod.person).in_(wanted))
    return list(session.exec(query.order_by(col(ContactMethod.id))))


def method(session: Session, person: str, name: str) -> ContactMethod | None:
    query = select(ContactMethod).where(ContactMethod.person == person, ContactMethod.name == name)
    return session.exec(query).first()


def add_method(
    session: Session,
    *,
    person: str,
    name: str,
    kind: str,
    address: str,
    source: str,
    created_by: str,
    now: datetime,
    after_seconds: int = 0,
    urgency: str = "both",
) -> ContactMethod:
    row = ContactMethod(
        after_seconds=after_seconds,
        urgency=urgency,
        person=person,
        name=name,
        kind=kind,
        address=address,
        source=source,
        created_by=created_by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def set_status(
    session: Session, method_id: int, status: MethodStatus, *, error: str | None, now: datetime
) -> None:
    row = session.get(ContactMethod, method_id)
    if row is None:
        return
    row.status = status
    row.error = error
    row.verified_at = now if status is MethodStatus.VERIFIED else row.verified_at
    session.add(row)


def remove_method(session: Session, person: str, name: str) -> bool:
    row = method(session, person, name)
    if row is None:
        return False
    session.delete(row)
    return True


def latest_open_page(session: Session, names: Iterable[str], *, scan: int = 500) -> int | None:
    """The newest open, unacknowledged incident whose pages named any of ``names``."""
    wanted = set(names)
    query = (
        select(TimelineEvent, Incident.status)
        .join(Incident, col(Incident.id) == TimelineEvent.incident_id)
        .where(TimelineEvent.kind == "escalation.notified")
        .where(Incident.status == "open")
        .order_by(col(TimelineEvent.id).desc())
        .limit(scan)
    )
    for event, _status in session.exec(query):
        if wanted & set(event.data.get("users") or ()):
            return event.incident_id
    return None
