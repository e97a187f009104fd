"""Queries of the one outbox: queueing, claiming by lane, leases, and its figures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, inspect, or_, update
from sqlmodel import Session, col, select

from storage import dialect
from storage.tables_outbox import WAITING, OutboxMessage, OutboxPace, OutboxStatus


def enqueue(
    session: Session,
    *,
    destination: str,
    lane: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    incident_id: int | None = None,
    idempotency_key: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Queue one message (due at ``not_before``, or at once); False when a message with
    the same key is already queued."""
    _foldable(session).pop(lane, None)
    values = {
        "incident_id": incident_id,
        "destination": destination,
        "lane": lane,
        "kind": kind,
        "payload": payload,
        "idempotency_key": idempotency_key,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "suppressed": 0,
        "next_attempt_at": not_before or now,
        "created_at": now,
    }
    stmt = dialect.upsert(session, OutboxMessage).values(**values)
    if idempotency_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["idempotency_key"])
    result = session.execute(stmt.returning(col(OutboxMessage.id))).first()
    return result is not None


_FOLDABLE = "storage.foldable"  # session.info: lane -> {(kind, last): waiting_to_fold's answer}


def _foldable(session: Session) -> dict[str, dict[tuple[str, bool], OutboxMessage | None]]:
    found: dict[str, dict[tuple[str, bool], OutboxMessage | None]]
    found = session.info.setdefault(_FOLDABLE, {})
    return found


def waiting_to_fold(session: Session, *, lane: str, kind: str, last: bool) -> OutboxMessage | None:
    """A row of ``kind`` in ``lane`` that no sender has taken yet, which a new message of
    the same kind can be folded into; with ``last``, only if it is the lane's newest row
    (so folding never moves a message ahead of one queued after it).

    The row is locked, so no sender takes it before this transaction ends, and the answer
    holds until a row is queued in the lane: a projection's batch folds hundreds of
    alerts into one waiting message, and selected it again (flushing the fold before) for
    each of them."""
    known = _foldable(session).setdefault(lane, {})
    key = (kind, last)
    if key not in known or _rolled_back(known[key]):
        known[key] = _lock_unclaimed(session, _newest_waiting(session, lane, kind, last))
    return known[key]


def _rolled_back(row: OutboxMessage | None) -> bool:
    """Whether a savepoint's rollback expired ``row`` (it may be gone with it)."""
    return row is not None and inspect(row).expired


def _newest_waiting(session: Session, lane: str, kind: str, last: bool) -> OutboxMessage | None:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.lane == lane, OutboxMessage.status == OutboxStatus.PENDING)
        .where(col(OutboxMessage.claimed_by).is_(None))
        .order_by(col(OutboxMessage.id).desc())
    )
    if not last:
        return session.exec(query.where(OutboxMessage.kind == kind)).first()
    newest = session.exec(query).first()
    return newest if newest is not None and newest.kind == kind else None


def _lock_unclaimed(session: Session, row: OutboxMessage | None) -> OutboxMessage | None:
    """``row`` locked, or None when a sender claimed it since it was read (on PostgreSQL
    the lock waits for a claim in progress, then sees it)."""
    if row is None or not dialect.is_postgres(session):  # SQLite: this is the one writer
        return row
    query = select(OutboxMessage).where(
        OutboxMessage.id == row.id, OutboxMessage.status == OutboxStatus.PENDING
    )
    query = dialect.locked(session, query.where(col(OutboxMessage.claimed_by).is_(None)))
    return session.exec(query.execution_options(populate_existing=True)).first()


def destinations_due(session: Session, *, now: datetime) -> list[str]:
    """Destinations with a waiting row that is due and not held by a live lease."""
    query = (
        select(OutboxMessage.destination)
        .where(col(OutboxMessage.status).in_(WAITING))
        .where(col(OutboxMessage.next_attempt_at) <= now)
        .where(or_(col(OutboxMessage.lease_until).is_(None), col(OutboxMessage.lease_until) < now))
        .distinct()
    )
    return list(session.exec(query))


def claim(
    session: Session,
    *,
    destination: str,
    now: datetime,
    limit: int,
    first_kinds: Sequence[str] = (),
    aged_before: datetime | None = None,
) -> list[OutboxMessage]:
    """The oldest waiting row of each of the destination's lanes, when it is due and no
    live lease holds it, locked (rows another sender is claiming are passed over).

    A lane whose oldest row is held or not yet due waits: order within a lane matters.
    Across lanes, heads of a kind in ``first_kinds`` go before the others (a new
    incident's card before older incidents' thread posts), and so do rows queued before
    ``aged_before``, so that a stream of urgent rows cannot starve the rest; then the
    oldest first.
    """
    oldest = (
        select(func.min(OutboxMessage.id))
        .where(OutboxMessage.destination == destination)
        .where(col(OutboxMessage.status).in_(WAITING))
        .group_by(col(OutboxMessage.lane))
    )
    query = (
        select(OutboxMessage)
        .where(col(OutboxMessage.id).in_(oldest))
        .where(col(OutboxMessage.next_attempt_at) <= now)
        .where(or_(col(OutboxMessage.lease_until).is_(None), col(OutboxMessage.lease_until) < now))
    )
    if first_kinds:
        first: ColumnElement[bool] = col(OutboxMessage.kind).in_(list(first_kinds))
        if aged_before is not None:
            first = or_(first, col(OutboxMessage.created_at) < aged_before)
        query = query.order_by(case((first, 0), else_=1), col(OutboxMessage.id))
    else:
        query = query.order_by(col(OutboxMessage.id))
    query = dialect.claimed(session, query.limit(limit))
    return list(session.exec(query.execution_options(populate_existing=True)))


def bundle_candidates(
    session: Session, row: OutboxMessage, *, bundle: str, limit: int
) -> list[OutboxMessage]:
    """Rows queued after ``row`` in its lane that carry the same bundle key, locked."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.lane == row.lane, OutboxMessage.status == OutboxStatus.PENDING)
        .where(col(OutboxMessage.id) > (row.id or 0))
        .where(col(OutboxMessage.claimed_by).is_(None))
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    rows = session.exec(dialect.claimed(session, query)).all()
    return [r for r in rows if r.payload.get("bundle") == bundle]


def lock_in_id_order(session: Session, ids: Sequence[int]) -> None:
    """Lock these rows one after another by id, before a transaction changes several.

    An UPDATE of many rows locks them in the order its plan visits them (by id through
    the index, or by place in the table through a bitmap), so the sender settling rows
    and the renewal of their leases, each changing a set of the same rows, deadlocked."""
    if not ids or not dialect.is_postgres(session):
        return
    query = select(col(OutboxMessage.id)).where(col(OutboxMessage.id).in_(sorted(ids)))
    session.exec(dialect.locked(session, query.order_by(col(OutboxMessage.id)))).all()


def renew(session: Session, ids: Sequence[int], *, owner: str, lease_until: datetime) -> int:
    """Extend the leases ``owner`` still holds; returns how many it still held."""
    if not ids:
        return 0
    lock_in_id_order(session, ids)
    stmt = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(list(ids)))
        .where(col(OutboxMessage.claimed_by) == owner)
        .where(col(OutboxMessage.status) == OutboxStatus.SENDING)
        .values(lease_until=lease_until)
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def mark_sent(session: Session, ids: Sequence[int], *, now: datetime) -> int:
    """Settle delivered rows in one statement: sent, the lease released."""
    if not ids:
        return 0
    stmt = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(list(ids)))
        .values(
            status=OutboxStatus.SENT,
            sent_at=now,
            error=None,
            uncertain=False,
            claimed_by=None,
            lease_until=None,
        )
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def put_back(session: Session, message_id: int, *, due: datetime) -> None:
    """A claimed row the peer could not take yet: waiting again, due at ``due``, its
    attempt not counted (nothing was sent)."""
    stmt = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .where(col(OutboxMessage.status) == OutboxStatus.SENDING)
        .values(
            status=OutboxStatus.PENDING,
            next_attempt_at=due,
            attempts=col(OutboxMessage.attempts) - 1,
            claimed_by=None,
            lease_until=None,
        )
    )
    session.execute(stmt)


def retry_sooner(session: Session, *, destination: str, now: datetime) -> int:
    """The peer answered again: rows backing off after failures may go now."""
    stmt = (
        update(OutboxMessage)
        .where(col(OutboxMessage.destination) == destination)
        .where(col(OutboxMessage.status) == OutboxStatus.PENDING)
        .where(col(OutboxMessage.attempts) > 0)
        .where(col(OutboxMessage.next_attempt_at) > now)
        .values(next_attempt_at=now)
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def backlog(session: Session) -> list[tuple[str, int, datetime | None]]:
    """Per destination: rows waiting and when the oldest of them was queued."""
    query = (
        select(
            OutboxMessage.destination,
            func.count(),
            func.min(OutboxMessage.created_at),
        )
        .where(col(OutboxMessage.status).in_(WAITING))
        .group_by(col(OutboxMessage.destination))
    )
    return [(str(d), int(n), oldest) for d, n, oldest in session.exec(query)]


def failed_counts(session: Session) -> list[tuple[str, int]]:
    """Per destination: messages given up on."""
    query = (
        select(OutboxMessage.destination, func.count())
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .group_by(col(OutboxMessage.destination))
    )
    return [(str(d), int(n)) for d, n in session.exec(query)]


def count_waiting(session: Session, destination: str | None = None) -> int:
    query = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(col(OutboxMessage.status).in_(WAITING))
    )
    if destination is not None:
        query = query.where(OutboxMessage.destination == destination)
    return int(session.exec(query).one())


def messages_of(session: Session, incident_id: int) -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.incident_id == incident_id)
        .order_by(col(OutboxMessage.id))
    )
    return list(session.exec(query))


def bring_forward(session: Session, *, lane: str, now: datetime) -> int:
    """The lane's next waiting message that is not yet due goes now (a person's next
    contact method, when the one before it failed); returns how many rows moved (0 or 1)."""
    following = (
        select(OutboxMessage.id)
        .where(OutboxMessage.lane == lane, OutboxMessage.status == OutboxStatus.PENDING)
        .where(col(OutboxMessage.next_attempt_at) > now)
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(1)
    )
    row_id = session.exec(following).first()
    if row_id is None:
        return 0
    stmt = update(OutboxMessage).where(col(OutboxMessage.id) == row_id).values(next_attempt_at=now)
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def counts_by_status(
    session: Session, *, destination_prefix: str, kind: str
) -> list[tuple[str, str, int]]:
    """(destination, status, rows) of one kind of message to destinations with a prefix."""
    query = (
        select(OutboxMessage.destination, OutboxMessage.status, func.count())
        .where(col(OutboxMessage.destination).startswith(destination_prefix))
        .where(OutboxMessage.kind == kind)
        .group_by(col(OutboxMessage.destination), col(OutboxMessage.status))
    )
    return [(d, s, int(n)) for d, s, n in session.exec(query)]


def lock_pace(session: Session, key: str) -> OutboxPace:
    """The key's shared pace, created when new and locked to the end of the transaction:
    replicas taking slots of one channel take them one after another."""
    new = {"key": key, "tat": 0.0, "held_until": 0.0}
    session.execute(
        dialect.upsert(session, OutboxPace)
        .values(**new)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    query = select(OutboxPace).where(OutboxPace.key == key)
    return session.exec(dialect.locked(session, query)).one()
