"""Escalation timers on the real databases: start, fire, acknowledge, escalate, restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import ConflictError
from bot.escalation import service
from bot.escalation.decide import Policy
from bot.escalation.hooks import EscalationHooks
from bot.escalation.service import EscalationRules
from bot.incidents import service as incidents
from storage.db import Database
from tests.escalation.support import (
    SEED,
    FakeClock,
    Recorder,
    events,
    open_incident,
    rules,
    timer,
    user_level,
)


def fire(
    db: Database,
    clock: FakeClock,
    recorder: Recorder,
    escalation_rules: EscalationRules | None = None,
) -> int:
    return recorder.record(
        service.fire_due(db, rules=escalation_rules or rules(), owner="test", clock=clock)
    )


def test_triage_starts_escalation_with_the_incident(db: Database) -> None:
    clock = FakeClock()
    incident_id = open_incident(db, rules(), now=clock())
    state = timer(db, incident_id)
    assert state is not None
    assert (state.status, state.level, state.due_at) == ("active", 0, clock())
    (started,) = events(db, incident_id, "escalation.started")
    assert started.data["policy"] == "default"


def test_the_ladder_fires_level_by_level_and_is_exhausted(db: Database) -> None:
    clock, sent = FakeClock(), Recorder()
    incident_id = open_incident(db, rules(), now=clock())
    assert fire(db, clock, sent) == 1
    clock.advance(minutes=4, seconds=59)
    assert fire(db, clock, sent) == 0
    for minutes in (1 / 60, 10, 15):
        clock.advance(minutes=minutes)
        assert fire(db, clock, sent) == 1
    assert sent.levels() == [1, 2, 3, 4]
    assert [n.users for n in sent.sent] == [("oncall",), ("secondary",), ("senior",), ("ic",)]
    changes = events(db, incident_id, "escalation.level_changed")
    assert [(e.data["from"], e.data["to"]) for e in changes] == [(1, 2), (2, 3), (3, 4)]
    assert changes[0].data["reason"] == "no acknowledgement within 5m"
    notified = events(db, incident_id, "escalation.notified")
    assert [e.data["level"] for e in notified] == [1, 2, 3, 4]
    assert notified[0].data["targets"] == ["user:oncall"]
    clock.advance(hours=5)
    assert fire(db, clock, sent) == 0
    assert timer(db, incident_id).status == "exhausted"
    (stopped,) = events(db, incident_id, "escalation.stopped")
    assert "exhausted" in stopped.data["reason"]


def test_repeat_walks_the_ladder_again(db: Database) -> None:
    policy = Policy("twice", (user_level("a", 5), user_level("b", 5)), repeat=1)
    escalation_rules = rules(policy)
    clock, sent = FakeClock(), Recorder()
    open_incident(db, escalation_rules, now=clock())
    for _ in range(6):
        fire(db, clock, sent, escalation_rules)
        clock.advance(minutes=5)
    assert [(n.level, n.round) for n in sent.sent] == [(1, 0), (2, 0), (1, 1), (2, 1)]


def test_sev1_starts_at_its_higher_level(db: Database) -> None:
    clock, sent = FakeClock(), Recorder()
    open_incident(db, rules(), now=clock(), severity="critical")
    fire(db, clock, sent)
    assert sent.levels() == [2]


def test_acknowledge_stops_and_unacknowledge_restarts_from_the_current_level(db: Database) -> None:
    clock, sent = FakeClock(), Recorder()
    incident_id = open_incident(db, rules(), now=clock())
    fire(db, clock, sent)
    clock.advance(minutes=5)
    fire(db, clock, sent)
    incidents.acknowledge(db, incident_id, actor="ann", hooks=EscalationHooks(rules()), clock=clock)
    assert timer(db, incident_id).status == "stopped"
    clock.advance(hours=1)
    assert fire(db, clock, sent) == 0
    incidents.unacknowledge(
        db, incident_id, actor="ann", hooks=EscalationHooks(rules()), clock=clock
    )
    assert fire(db, clock, sent) == 1
    assert sent.levels() == [1, 2, 2]
    assert events(db, incident_id, "incident.unacknowledged")
    assert events(db, incident_id, "escalation.notified")[-1].data["reason"] == (
        "un-acknowledged by ann"
    )


def test_escalate_jumps_to_the_next_level_now(db: Database) -> None:
    clock, sent = FakeClock(), Recorder()
    incident_id = open_incident(db, rules(), now=clock())
    fire(db, clock, sent)
    clock.advance(minutes=1)
    service.escalate(db, incident_id, actor="bob", rules=rules(), clock=clock)
    assert fire(db, clock, sent) == 1
    assert sent.levels() == [1, 2]
    change = events(db, incident_id, "escalation.level_changed")[-1]
    assert (change.data["to"], change.data["reason"]) == (2, "escalated by bob")
    # The ladder carries on from the new level.
    clock.advance(minutes=10)
    fire(db, clock, sent)
    assert sent.levels() == [1, 2, 3]


def test_escalating_an_acknowledged_incident_notifies_once(db: Database) -> None:
    clock, sent = FakeClock(), Recorder()
    incident_id = open_incident(db, rules(), now=clock())
    fire(db, clock, sent)
    incidents.acknowledge(db, incident_id, actor="ann", hooks=EscalationHooks(rules()), clock=clock)
    service.escalate(db, incident_id, actor="ann", rules=rules(), clock=clock)
    assert fire(db, clock, sent) == 1
    clock.advance(hours=2)
    assert fire(db, clock, sent) == 0
    assert sent.levels() == [1, 2]


def test_resolve_stops_everything(db: Database) -> None:
    clock, sent = FakeClock(), Recorder()
    incident_id = open_incident(db, rules(), now=clock())
    incidents.resolve(db, incident_id, actor="ann", hooks=EscalationHooks(rules()), clock=clock)
    clock.advance(hours=1)
    assert fire(db, clock, sent) == 0
    assert timer(db, incident_id).status == "stopped"
    with pytest.raises(ConflictError):
        service.escalate(db, incident_id, actor="ann", rules=rules(), clock=clock)


def test_triage_resolving_the_last_alert_stops_escalation(db: Database) -> None:
    clock, sent = FakeClock(), Recorder()
    incident_id = open_incident(db, rules(), now=clock())
    clock.advance(minutes=1)
    open_incident(db, rules(), now=clock(), status="resolved")
    assert timer(db, incident_id).status == "stopped"
    assert fire(db, clock, sent) == 0


def test_reopen_starts_again_at_the_first_level(db: Database) -> None:
    clock, sent = FakeClock(), Recorder()
    incident_id = open_incident(db, rules(), now=clock())
    fire(db, clock, sent)
    clock.advance(minutes=5)
    fire(db, clock, sent)
    clock.advance(minutes=1)
    open_incident(db, rules(), now=clock(), status="resolved")
    clock.advance(minutes=1)
    later_episode = datetime(2026, 12, 1, tzinfo=UTC)  # after the helper's default startsAt
    again = open_incident(db, rules(), now=clock(), starts_at=later_episode)
    assert again == incident_id
    assert fire(db, clock, sent) == 1
    assert sent.levels() == [1, 2, 1]
    assert events(db, incident_id, "escalation.started")[-1].data["reason"] == "re-opened"


def test_timers_due_while_stopped_fire_once_after_a_restart(database_url: str) -> None:
    clock = FakeClock()
    first = Database(database_url)
    ids = [
        open_incident(first, rules(), now=clock(), fingerprint=f"{i:016x}", name=f"A{i}")
        for i in range(5)
    ]
    first.dispose()  # the process stops before any timer fires
    clock.advance(minutes=30)
    second, sent = Database(database_url), Recorder()
    try:
        assert fire(second, clock, sent) == 5
        assert fire(second, clock, sent) == 0
        assert sorted(n.incident_id for n in sent.sent) == sorted(ids)
        assert all(n.level == 1 for n in sent.sent)
        # The next level waits its full delay from the late firing, not the old due time.
        assert timer(second, ids[0]).due_at == clock() + timedelta(minutes=5)
    finally:
        second.dispose()


def test_policy_for_a_service_is_chosen(db: Database) -> None:
    special = Policy("special", (user_level("x", 5),), services=frozenset({"nope"}))
    clock = FakeClock()
    incident_id = open_incident(db, rules(special, SEED), now=clock())
    assert timer(db, incident_id).policy == "default"
