"""Races on the real databases: replicas firing at once, acknowledge against a due timer."""

from __future__ import annotations

import threading
import time

from sqlmodel import select

from bot.escalation import service
from bot.escalation.hooks import EscalationHooks
from bot.escalation.notify import Notification
from bot.incidents import service as incidents
from storage.db import Database
from storage.tables import Incident, TimelineEvent
from tests.escalation.support import FakeClock, Recorder, open_incident, rules

INCIDENTS = 60


def test_two_schedulers_racing_fire_each_escalation_exactly_once(database_url: str) -> None:
    clock = FakeClock()
    setup = Database(database_url)
    ids = [
        open_incident(setup, rules(), now=clock(), fingerprint=f"{i:016x}", name=f"A{i}")
        for i in range(INCIDENTS)
    ]
    clock.advance(minutes=1)
    sent = Recorder()
    barrier = threading.Barrier(2)
    fired: dict[str, int] = {}

    def replica(name: str) -> None:
        db = Database(database_url)
        total = 0
        try:
            barrier.wait()
            # Small batches so the two replicas interleave many times.
            while (
                n := sent.record(
                    service.fire_due(db, rules=rules(), owner=name, clock=clock, limit=7)
                )
            ) or total == 0:
                total += n
                if n == 0:
                    break
            # One more look, after the other replica may have left some behind.
            total += sent.record(service.fire_due(db, rules=rules(), owner=name, clock=clock))
        finally:
            fired[name] = total
            db.dispose()

    threads = [threading.Thread(target=replica, args=(f"r{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert sorted(n.incident_id for n in sent.sent) == sorted(ids)
        assert sum(fired.values()) == INCIDENTS
        with setup.session() as session:
            notified = session.exec(
                select(TimelineEvent).where(TimelineEvent.kind == "escalation.notified")
            ).all()
        assert sorted(e.incident_id for e in notified) == sorted(ids)
    finally:
        setup.dispose()


class PageChecker:
    """Keeps the pages a replica decided and, the moment each decision has committed,
    asks the outbox's own question through a connection of its own: would this page
    still go out?"""

    def __init__(self, database_url: str) -> None:
        self.db = Database(database_url)
        self.sent: list[int] = []
        self.still_wanted: dict[int, bool] = {}

    def record(self, pages: list[Notification]) -> int:
        for page in pages:
            self.sent.append(page.incident_id)
        return len(pages)

    def after_ack(self) -> list[int]:
        """Pages decided that would still be delivered although the incident is acknowledged."""
        return [
            incident_id
            for incident_id in self.sent
            if service.page_still_wanted(self.db, incident_id, once=False) is None
        ]


def test_acknowledge_racing_a_due_timer_never_notifies_after_the_ack(database_url: str) -> None:
    clock = FakeClock()
    db = Database(database_url)
    sender = PageChecker(database_url)
    rounds = 25
    acked_first = 0
    try:
        for i in range(rounds):
            incident_id = open_incident(
                db, rules(), now=clock(), fingerprint=f"{i:016x}", name=f"R{i}"
            )
            clock.advance(seconds=1)
            barrier = threading.Barrier(2)
            other = Database(database_url)

            def fire(other: Database = other, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                sender.record(service.fire_due(other, rules=rules(), owner="r", clock=clock))

            thread = threading.Thread(target=fire)
            thread.start()
            barrier.wait()
            time.sleep(0.001 * (i % 5))
            incidents.acknowledge(
                db, incident_id, actor="ann", hooks=EscalationHooks(rules()), clock=clock
            )
            thread.join(30)
            other.dispose()
            if incident_id not in sender.sent:
                acked_first += 1
            # Whatever won, nothing is due any more once the acknowledgement committed.
            clock.advance(minutes=30)
            assert sender.record(service.fire_due(db, rules=rules(), owner="x", clock=clock)) == 0
            clock.advance(seconds=-(30 * 60))
            clock.advance(minutes=1)
        assert sender.after_ack() == []  # every page decided before the ack is dropped
        assert len(sender.sent) + acked_first == rounds
    finally:
        sender.db.dispose()
        db.dispose()


def test_a_stale_timer_for_an_acknowledged_incident_is_stopped_not_fired(db: Database) -> None:
    clock, sent = FakeClock(), Recorder()
    incident_id = open_incident(db, rules(), now=clock())
    with db.write() as session:  # acknowledged by a path that left the timer running
        incident = session.get(Incident, incident_id)
        assert incident is not None
        incident.status = "acknowledged"
        session.add(incident)
    clock.advance(minutes=10)
    assert sent.record(service.fire_due(db, rules=rules(), owner="t", clock=clock)) == 0
    assert sent.sent == []
    with db.session() as session:
        stopped = session.exec(
            select(TimelineEvent).where(TimelineEvent.kind == "escalation.stopped")
        ).one()
    assert stopped.data["reason"] == "the incident is acknowledged"
