"""Queries: the only place that knows how Fireline's rows are found and locked."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, func, insert, update
from sqlmodel import Session, SQLModel, col, select

from storage import dialect
from storage.tables import AlertGroup, AlertRecord, Incident, TimelineEvent, WebhookReceipt


def insert_receipts(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Many receipts in one Core ``executemany``: the hot path of ingest.

    A Connection, not a Session: the ORM's bulk-insert path costs several times more
    Python per row, and the writer thread shares the GIL with the event loop.
    """
    connection.execute(insert(SQLModel.metadata.tables["webhook_receipt"]), list(rows))


def claim_pending_receipts(session: Session, limit: int) -> list[WebhookReceipt]:
    """Unprocessed receipts, oldest first, locked so that another replica skips them."""
    query = (
        select(WebhookReceipt)
        .where(col(WebhookReceipt.processed_at).is_(None))
        .order_by(col(WebhookReceipt.id))
        .limit(limit)
    )
    query = dialect.claimed(session, query)
    return list(session.exec(query))


def count_pending_receipts(session: Session) -> int:
    query = select(func.count()).where(col(WebhookReceipt.processed_at).is_(None))
    return int(session.exec(query).one())


def oldest_pending_receipt(session: Session) -> datetime | None:
    """When the oldest receipt triage has not taken yet was received."""
    query = select(func.min(WebhookReceipt.received_at)).where(
        col(WebhookReceipt.processed_at).is_(None)
    )
    value: datetime | None = session.exec(query).one()
    return value


def lock_group(
    session: Session, *, receiver: str, group_key: str, group_labels: dict[str, str], now: datetime
) -> AlertGroup:
    """The group row, created if new and locked for the rest of the transaction."""
    values = {
        "receiver": receiver,
        "group_key": group_key,
        "group_labels": group_labels,
        "created_at": now,
    }
    stmt = dialect.upsert(session, AlertGroup).values(**values)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["receiver", "group_key"]))
    query = select(AlertGroup).where(
        AlertGroup.receiver == receiver, AlertGroup.group_key == group_key
    )
    query = dialect.locked(session, query)
    return session.exec(query).one()


def lock_incident(session: Session, incident_id: int) -> Incident | None:
    query = select(Incident).where(Incident.id == incident_id)
    query = dialect.locked(session, query)
    return session.exec(query).first()


def episodes_of(
    session: Session, *, group_id: int, fingerprints: Collection[str]
) -> list[AlertRecord]:
    """Every episode of these fingerprints in the group, a query per 500 fingerprints."""
    wanted = sorted(fingerprints)
    found: list[AlertRecord] = []
    for start in range(0, len(wanted), 500):
        query = select(AlertRecord).where(
            AlertRecord.group_id == group_id,
            col(AlertRecord.fingerprint).in_(wanted[start : start + 500]),
        )
        found.extend(session.exec(query))
    return found


def count_firing_alerts(session: Session, incident_id: int) -> int:
    query = select(func.count()).where(
        AlertRecord.incident_id == incident_id, AlertRecord.status == "firing"
    )
    return int(session.exec(query).one())


class AlertSummary(NamedTuple):
    """What an incident's card shows of its alerts, without loading each one."""

    firing: int
    total: int
    first: AlertRecord | None  # the earliest, whose labels the card shows
    links: dict[str, str]  # the first links an alert of it gave


def alert_summary(session: Session, incident_id: int) -> AlertSummary:
    """:func:`alerts_of` boiled down for the card: a storm's card is drawn hundreds of
    times over a hundred alerts, and building each record was a fifth of the server's
    time."""
    order = (col(AlertRecord.starts_at), col(AlertRecord.id))
    mine = AlertRecord.incident_id == incident_id
    rows = session.exec(
        select(AlertRecord.status, AlertRecord.links).where(mine).order_by(*order)
    ).all()
    first = session.exec(select(AlertRecord).where(mine).order_by(*order).limit(1)).first()
    return AlertSummary(
        firing=sum(1 for status, _ in rows if status == "firing"),
        total=len(rows),
        first=first,
        links=next((dict(links) for _, links in rows if links), {}),
    )


def alerts_of(session: Session, incident_id: int) -> list[AlertRecord]:
    query = (
        select(AlertRecord)
        .where(AlertRecord.incident_id == incident_id)
        .order_by(col(AlertRecord.starts_at), col(AlertRecord.id))
    )
    return list(session.exec(query))


def groups_of(session: Session, incident_id: int) -> list[AlertGroup]:
    query = select(AlertGroup).where(AlertGroup.incident_id == incident_id)
    return list(session.exec(query.order_by(col(AlertGroup.id))))


def add_event(
    session: Session,
    *,
    incident_id: int,
    kind: str,
    text: str,
    actor: str,
    at: datetime,
    recorded_at: datetime,
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> int | None:
    """Append a timeline event and return its id; with a dedupe key, a second event with the
    same key is dropped and None is returned."""
    values = {
        "incident_id": incident_id,
        "kind": kind,
        "text": text,
        "actor": actor,
        "at": at,
        "recorded_at": recorded_at,
        "data": data or {},
        "dedupe_key": dedupe_key,
    }
    stmt = dialect.upsert(session, TimelineEvent).values(**values)
    if dedupe_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["incident_id", "dedupe_key"])
    row = session.execute(stmt.returning(col(TimelineEvent.id))).first()
    return int(row[0]) if row else None


def add_events(session: Session, events: Sequence[dict[str, Any]]) -> None:
    """Append many timeline events, in order, in one statement; each takes the keyword
    arguments of :func:`add_event`, and one whose dedupe key its incident already has is
    dropped."""
    rows = [
        {**event, "data": event.get("data") or {}, "dedupe_key": event.get("dedupe_key")}
        for event in events
    ]
    stmt = dialect.upsert(
        session, SQLModel.metadata.tables["timeline_event"]
    ).on_conflict_do_nothing(index_elements=["incident_id", "dedupe_key"])
    session.connection().execute(stmt, rows)


def timeline(
    session: Session, incident_id: int, *, limit: int | None = None, offset: int = 0
) -> list[TimelineEvent]:
    query = (
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident_id)
        .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def list_incidents(
    session: Session,
    *,
    statuses: Sequence[str] = (),
    severities: Sequence[str] = (),
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Incident], int]:
    """A page of incidents, newest first, and the total that match."""
    query = select(Incident)
    count = select(func.count()).select_from(Incident)
    if statuses:
        query = query.where(col(Incident.status).in_(statuses))
        count = count.where(col(Incident.status).in_(statuses))
    if severities:
        query = query.where(col(Incident.severity).in_(severities))
        count = count.where(col(Incident.severity).in_(severities))
    page = session.exec(
        query.order_by(col(Incident.opened_at).desc(), col(Incident.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(page), int(session.exec(count).one())


def mark_receipt(session: Session, receipt_id: int, *, at: datetime, error: str | None) -> None:
    session.execute(
        update(WebhookReceipt)
        .where(col(WebhookReceipt.id) == receipt_id)
        .values(processed_at=at, error=error)
    )


def latest_events_of_kind(
    session: Session, incident_id: int, kind: str, *, limit: int
) -> list[TimelineEvent]:
    """The newest ``limit`` events of one kind, oldest of them first."""
    query = (
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident_id, TimelineEvent.kind == kind)
        .order_by(col(TimelineEvent.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))[::-1]


def events_of_kind(session: Session, incident_id: int, kind: str) -> list[TimelineEvent]:
    query = (
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident_id, TimelineEvent.kind == kind)
        .order_by(col(TimelineEvent.id))
    )
    return list(session.exec(query))
