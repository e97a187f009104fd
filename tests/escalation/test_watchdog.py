"""The Watchdog dead man's switch: heartbeats, the pipeline-down incident, its resolution."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.escalation import service, watchdog
from bot.escalation.config import WatchdogConfig
from bot.escalation.service import EscalationRules
from storage.db import Database
from storage.tables import Incident
from storage.tables_escalation import Heartbeat
from tests.escalation.support import FakeClock, Recorder, events, open_incident, rules

ON = WatchdogConfig(missing_after=timedelta(minutes=10))


def heartbeat(db: Database, escalation_rules: EscalationRules, clock: FakeClock) -> int:
    return open_incident(db, escalation_rules, now=clock(), name="Watchdog", severity="none")


def test_watchdog_payloads_are_heartbeats_not_incidents(db: Database) -> None:
    clock, escalation_rules = FakeClock(), rules(watchdog=ON)
    assert heartbeat(db, escalation_rules, clock) == 0
    clock.advance(minutes=1)
    heartbeat(db, escalation_rules, clock)  # an identical repeat still counts
    with db.session() as session:
        assert session.exec(select(Incident)).all() == []
        beat = session.get(Heartbeat, "Watchdog")
    assert beat is not None
    assert beat.last_seen_at == clock()


def test_silence_opens_a_sev1_incident_that_escalates_and_the_next_beat_resolves_it(
    db: Database,
) -> None:
    clock, escalation_rules, sent = FakeClock(), rules(watchdog=ON), Recorder()
    heartbeat(db, escalation_rules, clock)
    clock.advance(minutes=9)
    assert watchdog.check(db, rules=escalation_rules, now=clock()) is None
    clock.advance(minutes=1)
    incident_id = watchdog.check(db, rules=escalation_rules, now=clock())
    assert incident_id is not None
    assert watchdog.check(db, rules=escalation_rules, now=clock()) is None  # only one
    with db.session() as session:
        incident = session.get(Incident, incident_id)
    assert incident is not None
    assert (incident.title, incident.severity) == ("Alerting pipeline down", "SEV1")
    assert sent.record(service.fire_due(db, rules=escalation_rules, owner="t", clock=clock)) == 1
    assert sent.sent[0].incident_id == incident_id
    assert sent.sent[0].level == 2  # the seed test policy starts SEV1 at level 2

    clock.advance(minutes=3)
    heartbeat(db, escalation_rules, clock)
    with db.session() as session:
        incident = session.get(Incident, incident_id)
    assert incident is not None
    assert incident.status == "resolved"
    assert events(db, incident_id, "incident.resolved")
    clock.advance(hours=1)
    assert sent.record(service.fire_due(db, rules=escalation_rules, owner="t", clock=clock)) == 0


def test_a_fresh_install_gets_the_full_grace_period(db: Database) -> None:
    clock, escalation_rules = FakeClock(), rules(watchdog=ON)
    assert watchdog.check(db, rules=escalation_rules, now=clock()) is None
    clock.advance(minutes=9)
    assert watchdog.check(db, rules=escalation_rules, now=clock()) is None
    clock.advance(minutes=2)
    assert watchdog.check(db, rules=escalation_rules, now=clock()) is not None


def test_disabled_unless_configured(db: Database) -> None:
    clock, escalation_rules = FakeClock(), rules()
    assert heartbeat(db, escalation_rules, clock) != 0  # an ordinary alert then
    clock.advance(days=1)
    assert watchdog.check(db, rules=escalation_rules, now=clock()) is None
