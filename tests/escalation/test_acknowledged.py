"""Acknowledged means quiet: only a person, a timed-out acknowledgement or a severity rise
pages an acknowledged incident's responders again (real databases, injected clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.app import wiring
from bot.app.settings import Settings
from bot.escalation import service
from bot.escalation.hooks import EscalationHooks
from bot.escalation.service import EscalationRules
from bot.incidents import service as incidents
from storage import queries_escalation as timers_q
from storage.db import Database
from storage.tables import Incident
from tests.escalation.support import FakeClock, Recorder, events, open_incident, rules, timer

HALF_HOUR = timedelta(minutes=30)


def fire(db: Database, clock: FakeClock, sent: Recorder, escalation: EscalationRules) -> int:
    return sent.record(service.fire_due(db, rules=escalation, owner="test", clock=clock))


def status(db: Database, incident_id: int) -> str:
    with db.session() as session:
        incident = session.get(Incident, incident_id)
    assert incident is not None
    return incident.status


def acknowledge(
    db: Database, incident_id: int, escalation: EscalationRules, clock: FakeClock
) -> None:
    incidents.acknowledge(
        db, incident_id, actor="ann", hooks=EscalationHooks(escalation), clock=clock
    )


def paged_twice_then_acknowledged(
    db: Database, clock: FakeClock, sent: Recorder, escalation: EscalationRules
) -> int:
    """Levels 1 and 2 paged, then ann acknowledges at T0 + 5m."""
    incident_id = open_incident(db, escalation, now=clock())
    fire(db, clock, sent, escalation)
    clock.advance(minutes=5)
    fire(db, clock, sent, escalation)
    acknowledge(db, incident_id, escalation, clock)
    assert sent.levels() == [1, 2]
    return incident_id


# --- the acknowledgement timeout -------------------------------------------------------


def test_the_acknowledgement_timeout_is_off_by_default(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    assert wiring.escalation_rules(make_settings()).ack_timeout is None
    assert wiring.escalation_rules(make_settings(ack_timeout="")).ack_timeout is None
    assert wiring.escalation_rules(make_settings(ack_timeout="0s")).ack_timeout is None
    assert wiring.escalation_rules(make_settings(ack_timeout="30m")).ack_timeout == HALF_HOUR

    escalation = rules()
    clock, sent = FakeClock(), Recorder()
    incident_id = paged_twice_then_acknowledged(db, clock, sent, escalation)
    assert timer(db, incident_id).ack_due_at is None
    clock.advance(days=2)
    assert fire(db, clock, sent, escalation) == 0
    assert status(db, incident_id) == "acknowledged"
    assert sent.levels() == [1, 2]


def test_an_acknowledgement_times_out_and_escalation_restarts_where_it_was(db: Database) -> None:
    escalation = rules(ack_timeout=HALF_HOUR)
    clock, sent = FakeClock(), Recorder()
    incident_id = paged_twice_then_acknowledged(db, clock, sent, escalation)
    acknowledged_at = clock()
    assert timer(db, incident_id).ack_due_at == acknowledged_at + HALF_HOUR
    with db.session() as session:
        assert timers_q.next_due(session) == acknowledged_at + HALF_HOUR

    clock.advance(minutes=29, seconds=59)
    assert fire(db, clock, sent, escalation) == 0
    assert status(db, incident_id) == "acknowledged"

    clock.advance(seconds=1)
    assert fire(db, clock, sent, escalation) == 1
    assert status(db, incident_id) == "open"
    assert sent.levels() == [1, 2, 2]
    (withdrawn,) = events(db, incident_id, "incident.unacknowledged")
    reason = "the acknowledgement timed out after 30m"
    assert (withdrawn.actor, withdrawn.data) == ("fireline", {"reason": reason})
    assert withdrawn.text == f"Un-acknowledged by fireline: {reason}"
    assert events(db, incident_id, "escalation.notified")[-1].data["reason"] == reason
    assert timer(db, incident_id).ack_due_at is None

    # The ladder carries on from there, as after a person's un-acknowledge.
    clock.advance(minutes=10)
    assert fire(db, clock, sent, escalation) == 1
    assert sent.levels() == [1, 2, 2, 3]


def test_the_timeout_is_stored_and_fires_after_a_restart(db: Database) -> None:
    escalation = rules(ack_timeout=HALF_HOUR)
    clock, sent = FakeClock(), Recorder()
    incident_id = paged_twice_then_acknowledged(db, clock, sent, escalation)
    clock.advance(hours=1)
    restarted = Database(db.url)
    try:
        assert fire(restarted, clock, sent, rules(ack_timeout=HALF_HOUR)) == 1
    finally:
        restarted.dispose()
    assert status(db, incident_id) == "open"
    assert sent.levels() == [1, 2, 2]


def test_acknowledging_again_starts_the_wait_again(db: Database) -> None:
    escalation = rules(ack_timeout=HALF_HOUR)
    hooks = EscalationHooks(escalation)
    clock, sent = FakeClock(), Recorder()
    incident_id = paged_twice_then_acknowledged(db, clock, sent, escalation)
    clock.advance(minutes=20)
    incidents.unacknowledge(db, incident_id, actor="ann", hooks=hooks, clock=clock)
    assert timer(db, incident_id).ack_due_at is None
    assert fire(db, clock, sent, escalation) == 1  # the person's un-acknowledge pages
    clock.advance(minutes=1)
    acknowledge(db, incident_id, escalation, clock)

    clock.advance(minutes=29, seconds=59)
    assert fire(db, clock, sent, escalation) == 0
    assert status(db, incident_id) == "acknowledged"
    clock.advance(seconds=1)
    assert fire(db, clock, sent, escalation) == 1
    assert sent.levels() == [1, 2, 2, 2]

    # After the timeout, acknowledging once more sets a new deadline.
    clock.advance(minutes=2)
    acknowledge(db, incident_id, escalation, clock)
    assert timer(db, incident_id).ack_due_at == clock() + HALF_HOUR


def test_resolving_stops_the_timeout(db: Database) -> None:
    escalation = rules(ack_timeout=HALF_HOUR)
    clock, sent = FakeClock(), Recorder()
    incident_id = paged_twice_then_acknowledged(db, clock, sent, escalation)
    incidents.resolve(db, incident_id, actor="ann", hooks=EscalationHooks(escalation), clock=clock)
    assert timer(db, incident_id).ack_due_at is None
    clock.advance(hours=2)
    assert fire(db, clock, sent, escalation) == 0
    assert status(db, incident_id) == "resolved"
    assert events(db, incident_id, "incident.unacknowledged") == []


def test_a_persons_one_off_page_leaves_the_timeout_standing(db: Database) -> None:
    escalation = rules(ack_timeout=HALF_HOUR)
    clock, sent = FakeClock(), Recorder()
    incident_id = paged_twice_then_acknowledged(db, clock, sent, escalation)
    acknowledged_at = clock()
    clock.advance(minutes=1)
    service.escalate(db, incident_id, actor="ann", rules=escalation, clock=clock)
    assert fire(db, clock, sent, escalation) == 1
    assert sent.levels() == [1, 2, 3]
    assert status(db, incident_id) == "acknowledged"
    assert timer(db, incident_id).ack_due_at == acknowledged_at + HALF_HOUR

    clock.advance(minutes=29)
    assert fire(db, clock, sent, escalation) == 1
    assert status(db, incident_id) == "open"
    assert sent.levels() == [1, 2, 3, 3]


def test_a_timeout_switched_off_after_acknowledging_is_dropped(db: Database) -> None:
    clock, sent = FakeClock(), Recorder()
    incident_id = paged_twice_then_acknowledged(db, clock, sent, rules(ack_timeout=HALF_HOUR))
    clock.advance(hours=1)
    assert fire(db, clock, sent, rules()) == 0
    assert status(db, incident_id) == "acknowledged"
    assert timer(db, incident_id).ack_due_at is None


# --- a person asks ---------------------------------------------------------------------


def test_a_persons_escalate_pages_an_acknowledged_incident_once(db: Database) -> None:
    escalation = rules()
    clock, sent = FakeClock(), Recorder()
    incident_id = paged_twice_then_acknowledged(db, clock, sent, escalation)
    service.escalate(db, incident_id, actor="bob", rules=escalation, clock=clock)
    assert fire(db, clock, sent, escalation) == 1
    clock.advance(hours=2)
    assert fire(db, clock, sent, escalation) == 0
    assert sent.levels() == [1, 2, 3]
    assert status(db, incident_id) == "acknowledged"
    assert events(db, incident_id, "escalation.held") == []


# --- severity rises --------------------------------------------------------------------


def raise_to_sev1(db: Database, escalation: EscalationRules, clock: FakeClock) -> None:
    """A critical alert joins the incident's group: triage raises it to SEV1 (whose start
    level in the seed policy is 2)."""
    open_incident(db, escalation, now=clock(), fingerprint="f" * 16, severity="critical")


def test_a_severity_rise_pages_an_acknowledged_incident_once_at_the_higher_start(
    db: Database,
) -> None:
    escalation = rules()
    clock, sent = FakeClock(), Recorder()
    incident_id = open_incident(db, escalation, now=clock())
    fire(db, clock, sent, escalation)
    acknowledge(db, incident_id, escalation, clock)
    clock.advance(minutes=3)
    raise_to_sev1(db, escalation, clock)
    assert fire(db, clock, sent, escalation) == 1
    assert sent.levels() == [1, 2]
    notified = events(db, incident_id, "escalation.notified")[-1]
    assert notified.data["reason"] == "severity raised to SEV1 while acknowledged"
    assert status(db, incident_id) == "acknowledged"
    clock.advance(hours=3)
    assert fire(db, clock, sent, escalation) == 0
    assert sent.levels() == [1, 2]


def test_a_severity_rise_pages_the_level_notified_last_when_it_is_higher(db: Database) -> None:
    escalation = rules()
    clock, sent = FakeClock(), Recorder()
    incident_id = open_incident(db, escalation, now=clock())
    for minutes in (0, 5, 10):
        clock.advance(minutes=minutes)
        fire(db, clock, sent, escalation)
    acknowledge(db, incident_id, escalation, clock)
    raise_to_sev1(db, escalation, clock)
    assert fire(db, clock, sent, escalation) == 1
    assert sent.levels() == [1, 2, 3, 3]
    assert status(db, incident_id) == "acknowledged"
    clock.advance(hours=3)
    assert fire(db, clock, sent, escalation) == 0


def test_a_severity_rise_keeps_the_acknowledgement_timeout(db: Database) -> None:
    escalation = rules(ack_timeout=HALF_HOUR)
    clock, sent = FakeClock(), Recorder()
    incident_id = open_incident(db, escalation, now=clock())
    fire(db, clock, sent, escalation)
    acknowledge(db, incident_id, escalation, clock)
    acknowledged_at = clock()
    clock.advance(minutes=10)
    raise_to_sev1(db, escalation, clock)
    assert fire(db, clock, sent, escalation) == 1
    assert timer(db, incident_id).ack_due_at == acknowledged_at + HALF_HOUR
    clock.advance(minutes=20)
    assert fire(db, clock, sent, escalation) == 1
    assert status(db, incident_id) == "open"
    assert sent.levels() == [1, 2, 2]
