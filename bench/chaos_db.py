"""Fireline's side of the chaos run, read from outside: whether it still has work in
flight (its database and ``/metrics``), and, afterwards, what it recorded."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
from sqlalchemy import MetaData, Table, func, inspect
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from bench.chaos_report import Event
from bot.events import EventKind
from storage.db import Database
from storage.tables import AlertRecord, Incident, TimelineEvent, WebhookReceipt

# Settled: nothing pending and nothing new anywhere for this long (longer than a crashed
# sender's lease takes to be taken over by the rebuilt delivery, 5 s).
QUIET_FOR = 6.0


BACKLOG = re.compile(r"^fireline_outbox_backlog(?:\{[^}]*\})?\s+([0-9.e+]+)\s*$", re.MULTILINE)


def outbox_backlog(base: str) -> float | None:
    """The outbox backlog from ``/metrics``, summed over destinations; None when the server
    does not say."""
    try:
        text = httpx.get(f"{base}/metrics", timeout=5, trust_env=False).text
    except httpx.HTTPError:
        return None
    found = BACKLOG.findall(text)
    return sum(float(value) for value in found) if found else None


def pending_deliveries(db: Database) -> int:
    """Rows waiting in the outbox (pending, or held by a sender)."""
    total = 0
    with db.engine.connect() as connection:
        for name in inspect(connection).get_table_names():
            if "outbox" not in name:
                continue
            table = Table(name, MetaData(), autoload_with=connection)
            if "status" in table.c:
                query = (
                    sa_select(func.count())
                    .select_from(table)
                    .where(table.c.status.in_(("pending", "sending")))
                )
                total += int(connection.execute(query).scalar_one())
    return total


def pending_work(db: Database) -> list[str]:
    """What the database still shows in flight: unprocessed receipts, incidents whose
    escalation has not ended, runs that have not finished."""
    with db.session() as session:
        receipts = session.exec(
            select(func.count()).where(col(WebhookReceipt.processed_at).is_(None))
        ).one()
        incidents = session.exec(select(func.count()).select_from(Incident)).one()

        def with_kind(kind: str) -> int:
            query = select(func.count(func.distinct(TimelineEvent.incident_id))).where(
                TimelineEvent.kind == kind
            )
            return int(session.exec(query).one())

        stopped = with_kind(EventKind.ESCALATION_STOPPED)
        started, finished = with_kind(EventKind.RUN_STARTED), with_kind(EventKind.RUN_FINISHED)
    out = []
    if receipts:
        out.append(f"{receipts} receipts to triage")
    if stopped < incidents:
        out.append(f"{incidents - stopped} incidents still escalating")
    if finished < started:
        out.append(f"{started - finished} runs unfinished")
    return out


def settle(
    db: Database,
    base: str,
    signature: Callable[[], tuple[int, ...]],
    *,
    within: float,
    say: Callable[[str], None],
) -> tuple[bool, float]:
    """Wait, polling, until nothing is pending and nothing has changed for a while."""
    began = time.monotonic()
    last, quiet_since, told = signature(), time.monotonic(), 0.0
    while time.monotonic() - began < within:
        time.sleep(0.5)
        now = signature()
        if now != last:
            last, quiet_since = now, time.monotonic()
        pending = pending_work(db)
        backlog = max(outbox_backlog(base) or 0, pending_deliveries(db))
        if backlog:
            pending.append(f"{backlog:.0f} messages in the outbox")
        if not pending and time.monotonic() - quiet_since >= QUIET_FOR:
            return True, time.monotonic() - began
        if time.monotonic() - told > 10:
            told = time.monotonic()
            say("settling: " + (", ".join(pending) or "waiting for quiet"))
    return False, time.monotonic() - began


def stored(db: Database) -> tuple[int, int, list[Event]]:
    with db.session() as session:
        alerts = int(session.exec(select(func.count()).select_from(AlertRecord)).one())
        incidents = int(session.exec(select(func.count()).select_from(Incident)).one())
        rows = session.exec(select(TimelineEvent).order_by(col(TimelineEvent.id))).all()
        events = [
            Event(
                id=row.id or 0,
                incident_id=row.incident_id,
                kind=row.kind,
                text=row.text,
                data=dict(row.data or {}),
                recorded_at=row.recorded_at,
            )
            for row in rows
        ]
    return alerts, incidents, events
