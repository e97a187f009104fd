"""The outbox's use cases over the database: queue inside a deciding transaction, then
claim, renew, and settle each row in short transactions of their own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.outbox.decide import Pacer
from bot.outbox.model import Outgoing
from storage import queries_outbox
from storage.db import Database
from storage.tables_outbox import OutboxMessage, OutboxStatus

BUNDLE_LIMIT = 50  # messages one bundled message may carry
# A row waiting this long is claimed with the urgent kinds (a new incident's card): a
# storm's cards must not starve older incidents' thread posts and card updates.
URGENT_AFTER = timedelta(seconds=10)


def queue(
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
    """Queue a message in the caller's transaction; it goes out once that commits (and
    not before ``not_before``, when given).

    With an ``idempotency_key`` a second queueing of the same message is a no-op (False).
    A payload with a ``bundle`` key may be delivered inside an earlier message of its lane
    with the same key (several pages to one person at once).
    """
    return queries_outbox.enqueue(
        session,
        destination=destination,
        lane=lane,
        kind=kind,
        payload=payload,
        now=now,
        incident_id=incident_id,
        idempotency_key=idempotency_key,
        not_before=not_before,
    )


def fold_or_queue(
    session: Session,
    *,
    destination: str,
    lane: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    incident_id: int | None,
    fold: Callable[[OutboxMessage], None],
    last: bool,
    not_before: datetime | None = None,
) -> None:
    """Fold the message into a waiting one of the same kind in its lane (a card redraw,
    another alert of a storm) or queue it, due at ``not_before`` when given; ``fold``
    changes the waiting row's payload."""
    if fold_into_waiting(session, lane=lane, kind=kind, fold=fold, last=last):
        return
    queue(
        session,
        destination=destination,
        lane=lane,
        kind=kind,
        payload=payload,
        now=now,
        incident_id=incident_id,
        not_before=not_before,
    )


def fold_into_waiting(
    session: Session, *, lane: str, kind: str, fold: Callable[[OutboxMessage], None], last: bool
) -> bool:
    """Fold into a waiting row of ``kind`` in ``lane`` (with ``last``, only the lane's
    newest); whether there was one."""
    waiting = queries_outbox.waiting_to_fold(session, lane=lane, kind=kind, last=last)
    if waiting is None:
        return False
    fold(waiting)
    waiting.suppressed += 1
    session.add(waiting)
    return True


def _outgoing(row: OutboxMessage, *, interrupted: bool) -> Outgoing:
    assert row.id is not None
    return Outgoing(
        id=row.id,
        destination=row.destination,
        lane=row.lane,
        kind=row.kind,
        payload=dict(row.payload),
        incident_id=row.incident_id,
        idempotency_key=row.idempotency_key,
        attempt=row.attempts,
        interrupted=interrupted,
        suppressed=row.suppressed,
        created_at=row.created_at,
    )


def _bundle(session: Session, row: OutboxMessage) -> None:
    """Carry the lane's later rows with the same bundle key inside this one; the payload
    keeps them, so a retry sends the same bundle."""
    bundle = row.payload.get("bundle")
    if not bundle or "bundled" in row.payload:
        return
    others = queries_outbox.bundle_candidates(session, row, bundle=str(bundle), limit=BUNDLE_LIMIT)
    if not others:
        return
    for other in others:
        other.status = OutboxStatus.BUNDLED
        other.bundled_into = row.id
        session.add(other)
    row.payload = {**row.payload, "bundled": [dict(o.payload) for o in others]}


def claim(
    db: Database,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    capacity: Callable[[str], int],
    first_kinds: Sequence[str] = (),
    delivered: Sequence[Outgoing] = (),
    deferred: Sequence[tuple[Outgoing, datetime]] = (),
) -> list[Outgoing]:
    """Record ``delivered`` as sent and put ``deferred`` back (each due at its time), then
    hold the next row of every free lane for
    ``owner``, each destination taking at most ``capacity(destination)`` rows, lanes whose
    next row is of ``first_kinds`` first.

    One transaction does both: on SQLite every write waits for the one write connection,
    and a transaction per sent message made the sender queue behind itself (a card's
    post then waited for thread posts' settlements). A lane's next row is claimed in the
    transaction that settles the row before it, so order within the lane holds.
    """
    claimed: list[Outgoing] = []
    with db.session() as session:  # most cycles find nothing: no write lock for them
        waiting = [d for d in queries_outbox.destinations_due(session, now=now) if capacity(d) > 0]
    if not waiting and not delivered and not deferred:
        return claimed
    with db.write() as session:
        _record(session, delivered, deferred, now=now)
        for destination in waiting:
            limit = capacity(destination)
            if limit <= 0:
                continue
            rows = queries_outbox.claim(
                session,
                destination=destination,
                now=now,
                limit=limit,
                first_kinds=first_kinds,
                aged_before=now - URGENT_AFTER,
            )
            for row in rows:
                row.uncertain = row.uncertain or row.claimed_by is not None
                row.status = OutboxStatus.SENDING
                row.claimed_by, row.lease_until = owner, now + lease
                row.attempts += 1
                _bundle(session, row)
                session.add(row)
                claimed.append(_outgoing(row, interrupted=row.uncertain))
    return claimed


def renew(db: Database, ids: Sequence[int], *, owner: str, until: datetime) -> int:
    with db.write() as session:
        return queries_outbox.renew(session, ids, owner=owner, lease_until=until)


def _settle(db: Database, message_id: int, change: Callable[[OutboxMessage], None]) -> None:
    with db.write() as session:
        row = session.get(OutboxMessage, message_id)
        if row is not None:
            change(row)
            row.claimed_by, row.lease_until = None, None
            session.add(row)


def _record(
    session: Session,
    delivered: Sequence[Outgoing],
    deferred: Sequence[tuple[Outgoing, datetime]],
    *,
    now: datetime,
) -> None:
    """Delivered rows are sent; after a failed attempt that also means the peer is back,
    so its other rows waiting out a backoff may go now. Deferred rows wait again."""
    queries_outbox.lock_in_id_order(
        session, [m.id for m, _ in deferred] + [m.id for m in delivered]
    )
    for message, due in deferred:
        queries_outbox.put_back(session, message.id, due=due)
    if not delivered:
        return
    queries_outbox.mark_sent(session, [m.id for m in delivered], now=now)
    for destination in {m.destination for m in delivered if m.attempt > 1}:
        queries_outbox.retry_sooner(session, destination=destination, now=now)


def settle(
    db: Database,
    delivered: Sequence[Outgoing],
    deferred: Sequence[tuple[Outgoing, datetime]],
    *,
    now: datetime,
) -> None:
    """Record deliveries and put deferred rows back without claiming more (a sender
    that is stopping)."""
    if delivered or deferred:
        with db.write() as session:
            _record(session, delivered, deferred, now=now)


def retry(db: Database, message_id: int, *, error: str, at: datetime) -> None:
    def change(row: OutboxMessage) -> None:
        row.status, row.error, row.next_attempt_at = OutboxStatus.PENDING, error[:2000], at

    _settle(db, message_id, change)


def failed(db: Database, message_id: int, *, error: str) -> None:
    def change(row: OutboxMessage) -> None:
        row.status, row.error = OutboxStatus.FAILED, error[:2000]

    _settle(db, message_id, change)


def cancelled(db: Database, message_id: int, *, reason: str) -> None:
    def change(row: OutboxMessage) -> None:
        row.status, row.error = OutboxStatus.CANCELLED, reason[:2000]

    _settle(db, message_id, change)


@dataclass(frozen=True)
class Backlog:
    destination: str
    waiting: int
    oldest_age: float  # seconds since the oldest waiting row was queued


def backlog(db: Database, *, now: datetime) -> list[Backlog]:
    with db.session() as session:
        rows = queries_outbox.backlog(session)
    return [
        Backlog(d, n, max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        for d, n, oldest in rows
    ]


def failures(db: Database) -> list[tuple[str, int]]:
    with db.session() as session:
        return queries_outbox.failed_counts(session)


def waiting(db: Database, destination: str | None = None) -> int:
    with db.session() as session:
        return queries_outbox.count_waiting(session, destination)


def messages_of(db: Database, incident_id: int) -> list[OutboxMessage]:
    with db.session() as session:
        return queries_outbox.messages_of(session, incident_id)


def take_shared_slot(
    db: Database, rates: Pacer, key: str, *, now: float, within: float
) -> tuple[bool, float]:
    """:meth:`Pacer.take` on the key's pace shared by every replica (``outbox_pace``),
    at ``rates``' rate and burst; ``now`` in seconds of the Unix epoch."""
    pace = Pacer(rates.rate, rates.burst)
    with db.write() as session:
        stored = queries_outbox.lock_pace(session, key)
        pace.load(key, tat=stored.tat, held_until=stored.held_until)
        taken, wait = pace.take(key, now, within=within)
        if taken:
            stored.tat, stored.held_until = pace.state(key)
            session.add(stored)
    return taken, wait


def hold_shared(db: Database, key: str, *, until: float) -> None:
    """Stop the key for every replica until ``until`` (seconds of the Unix epoch)."""
    with db.write() as session:
        stored = queries_outbox.lock_pace(session, key)
        stored.held_until = max(stored.held_until, until)
        session.add(stored)
