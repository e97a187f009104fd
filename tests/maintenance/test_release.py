"""The end of a window, in the database: deferred pages, holds claimed once, resolved
incidents left alone. A settable clock drives every step."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.app.main import MaintenanceRelease
from bot.escalation import service as escalation
from bot.escalation.hooks import EscalationHooks
from bot.incidents import service as incidents
from bot.maintenance import service
from bot.maintenance.decide import Window, parse_matchers
from storage.db import Database
from tests.escalation.support import T0, FakeClock, events, open_incident, rules, timer


def config_window(hours: float = 1) -> Window:
    return Window(
        key="config:freeze",
        matchers=parse_matchers(['alertname=~"Held.*"']),
        service=None,
        starts_at=T0 - timedelta(minutes=1),
        ends_at=T0 + timedelta(hours=hours),
        created_by="ops",
        reason="freeze",
    )


def test_a_page_deferred_to_a_window_ended_early_is_due_at_once(db: Database) -> None:
    clock = FakeClock()
    maintenance = service.Maintenance()
    held_rules = replace(rules(), maintenance=maintenance)
    incident = open_incident(db, held_rules, now=clock.now, name="Busy")
    assert timer(db, incident).due_at == T0  # no window yet: paging starts now
    window = service.create_window(
        db,
        matchers=['alertname="Busy"'],
        service=None,
        starts_at=None,
        ends_at=None,
        duration="2h",
        created_by="ann",
        reason="failover drill",
        now=clock.now,
    )
    clock.advance(seconds=1)
    assert escalation.fire_due(db, rules=held_rules, owner="t", clock=clock) == []
    assert timer(db, incident).due_at == window.ends_at
    (held,) = events(db, incident, "maintenance.held")
    assert held.text.startswith(f"Incident held by maintenance window {window.key}: failover")

    release = MaintenanceRelease(held_rules)
    clock.advance(minutes=10)
    assert service.release_ended(db, maintenance, release, now=clock.now).released == []
    service.end_window(db, int(window.key), by="ann", now=clock.now)
    first = service.release_ended(db, maintenance, release, now=clock.now)
    second = service.release_ended(db, maintenance, release, now=clock.now)
    assert (first.released, second.released) == ([incident], [])
    assert timer(db, incident).due_at == clock.now
    (released,) = events(db, incident, "maintenance.released")
    assert "the deferred page is due now" in released.text
    (page,) = escalation.fire_due(db, rules=held_rules, owner="t", clock=clock)
    assert page.incident_id == incident


def test_the_end_starts_escalation_for_what_still_fires_only(db: Database) -> None:
    clock = FakeClock()
    maintenance = service.Maintenance(configured=(config_window(),))
    held_rules = replace(rules(), maintenance=maintenance)
    firing = open_incident(db, held_rules, now=clock.now, name="Held", fingerprint="a" * 16)
    quiet = open_incident(db, held_rules, now=clock.now, name="HeldToo", fingerprint="b" * 16)
    assert firing != quiet
    assert events(db, firing, "escalation.started") == []
    assert len(events(db, firing, "maintenance.held")) == 1
    incidents.resolve(db, quiet, actor="ann", hooks=EscalationHooks(held_rules), clock=clock)

    release = MaintenanceRelease(held_rules)
    clock.advance(hours=1)
    outcome = service.release_ended(db, maintenance, release, now=clock.now)
    assert (outcome.released, outcome.left_alone) == ([firing], [quiet])
    (started,) = events(db, firing, "escalation.started")
    assert timer(db, firing).due_at == clock.now
    assert events(db, quiet, "escalation.started") == []
    assert events(db, quiet, "maintenance.released") == []
    assert started.data["reason"] == "maintenance ended"


def test_an_incident_another_window_covers_stays_held(db: Database) -> None:
    clock = FakeClock()
    short, long = config_window(), replace(config_window(hours=3), key="config:long")
    maintenance = service.Maintenance(configured=(short,))
    held_rules = replace(rules(), maintenance=maintenance)
    incident = open_incident(db, held_rules, now=clock.now, name="Held")
    later = service.Maintenance(configured=(short, long))
    clock.advance(hours=1)
    outcome = service.release_ended(db, later, MaintenanceRelease(held_rules), now=clock.now)
    assert (outcome.released, outcome.held_again) == ([], [incident])
    assert [e.data["window"] for e in events(db, incident, "maintenance.held")] == [
        "config:freeze",
        "config:long",
    ]


def test_a_window_ended_before_it_started_is_gone(db: Database) -> None:
    clock = FakeClock()
    later = service.create_window(
        db,
        matchers=['team="db"'],
        service=None,
        starts_at=T0 + timedelta(days=1),
        ends_at=None,
        duration="1h",
        created_by="ann",
        reason="next week's upgrade",
        now=clock.now,
    )
    assert [x.active for x in service.list_windows(db, service.Maintenance(), now=T0)] == [False]
    service.end_window(db, int(later.key), by="ann", now=clock.now)
    assert service.list_windows(db, service.Maintenance(), now=clock.now) == []
