"""SQLite's write gate: ingest's commits go before ordinary writes, never twice in a row
while an ordinary write waits."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.events import EventKind
from bot.incidents import triage
from bot.outbox import projection
from storage import queries
from storage.db import Database, WriteGate
from tests.escalation.support import FakeClock, open_incident, rules
from tests.support import alert, payload


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def writer(gate: WriteGate, name: str, *, urgent: bool, order: list[str]) -> threading.Thread:
    def run() -> None:
        with gate.hold(urgent=urgent):
            order.append(name)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def turns_after(holder: str, *, urgent: bool) -> list[str]:
    """Who holds the gate, in order, when ``holder`` (urgent or not) holds it while an
    ordinary writer ("triage") and then an urgent one ("ingest") queue behind it."""
    gate, order = WriteGate(), []
    release = threading.Event()

    def hold() -> None:
        with gate.hold(urgent=urgent):
            order.append(holder)
            release.wait(10)

    first = threading.Thread(target=hold)
    first.start()
    until(lambda: order == [holder], "the first writer to hold the gate")
    ordinary = writer(gate, "triage", urgent=False, order=order)
    until(lambda: gate.queued == (0, 1), "the ordinary writer to queue")
    urgent_one = writer(gate, "ingest", urgent=True, order=order)
    until(lambda: gate.queued == (1, 1), "the urgent writer to queue")
    release.set()
    for thread in (first, ordinary, urgent_one):
        thread.join(10)
    assert gate.queued == (0, 0)
    return order


def test_an_urgent_writer_goes_before_the_ordinary_ones_already_waiting() -> None:
    assert turns_after("holder", urgent=False) == ["holder", "ingest", "triage"]


def test_urgent_writers_take_turns_with_an_ordinary_one_that_waits() -> None:
    assert turns_after("ingest 1", urgent=True) == ["ingest 1", "triage", "ingest"]


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """SQLite whatever the suite's database: the write gate is SQLite's alone."""
    path = tmp_path / "fireline.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    try:
        yield db
    finally:
        db.dispose()


def webhook_arrives(db: Database, *, then_work: float) -> threading.Thread:
    """A receipt that waits for the write lock held by the caller, who then goes on
    working ``then_work`` seconds more, past its batch's yield point."""

    def receipt() -> None:
        with db.urgent_write() as connection:
            connection.execute(text("SELECT 1"))

    thread = threading.Thread(target=receipt)
    thread.start()
    until(db.urgent_waiting, "the receipt to wait for the lock")
    time.sleep(then_work)
    return thread


def test_a_projection_batch_commits_early_for_a_webhook_waiting_on_it(
    sqlite_db: Database,
) -> None:
    """With a receipt waiting for the lock, a batch past ``YIELD_AFTER`` commits what it
    has handled; the next batch goes on from there and nothing is handled twice."""
    db = sqlite_db
    clock = FakeClock()
    projection.start_cursor(db, "yield-test")
    incident_id = open_incident(db, rules(), now=clock())
    with db.write() as session:
        for n in range(5):
            queries.add_event(
                session,
                incident_id=incident_id,
                kind=EventKind.NOTE_ADDED,
                text=f"note {n}",
                actor="ann",
                at=clock(),
                recorded_at=clock(),
            )
    seen: list[str] = []
    webhook: list[threading.Thread] = []

    def handle(session: Any, event: Any, now: datetime) -> None:
        seen.append(event.text)
        if event.text == "note 0":
            webhook.append(webhook_arrives(db, then_work=projection.YIELD_AFTER * 1.5))

    first = projection.project(db, "yield-test", handle, now=clock())
    webhook[0].join(10)
    assert not db.urgent_waiting()
    assert [t for t in seen if t.startswith("note ")] == ["note 0"]
    assert first == len(seen)
    projection.project(db, "yield-test", handle, now=clock())
    assert [t for t in seen if t.startswith("note ")] == [f"note {n}" for n in range(5)]


def test_a_triage_batch_commits_early_for_a_webhook_waiting_on_it(
    sqlite_db: Database,
) -> None:
    """The receipts it did not reach stay pending and are the next batch's."""
    db = sqlite_db
    rows = []
    for n in range(3):
        body = payload([alert(f"Yield{n}", fingerprint=f"{n:016x}")])
        rows.append(
            {
                "received_at": datetime.now(UTC),
                "receiver": body["receiver"],
                "group_key": f"{{}}:{{alertname=Yield{n}}}",
                "status": "firing",
                "alert_count": 1,
                "body": json.dumps(body),
                "processed_at": None,
                "error": None,
            }
        )
    with db.urgent_write() as connection:
        queries.insert_receipts(connection, rows)
    webhook: list[threading.Thread] = []

    def clock() -> datetime:
        if not webhook:  # while the first receipt is triaged
            webhook.append(webhook_arrives(db, then_work=triage.YIELD_AFTER * 1.5))
        return datetime.now(UTC)

    def pending() -> int:
        with db.session() as session:
            return queries.count_pending_receipts(session)

    first, _ = triage.process_pending(db, rules=(), flap_window=timedelta(0), clock=clock)
    webhook[0].join(10)
    assert (first, pending()) == (1, 2)
    rest, _ = triage.process_pending(db, rules=(), flap_window=timedelta(0), clock=clock)
    assert (rest, pending()) == (2, 0)
