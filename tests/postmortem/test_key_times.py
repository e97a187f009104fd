"""Key times come from when events happened, whatever order they were recorded in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.postmortem import postmortem_data
from bot.postmortem.facts import build_postmortem
from bot.postmortem.model import AlertInfo, IncidentInfo, PostmortemData
from bot.postmortem.service import DraftOptions
from storage import queries
from storage.db import Database
from storage.tables import Incident

T0 = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass
class Event:
    at: datetime
    kind: str
    actor: str = "fireline"
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def _step(
    minutes: float,
    state: str,
    step_id: str = "undo",
    kind: str = "remediate",
    run: str = "r1",
    actor: str = "fireline",
    **data: Any,
) -> Event:
    return Event(
        m(minutes),
        f"step.{state}",
        actor,
        f"step {step_id} {state}",
        {"run_id": run, "step_id": step_id, "action": "k8s.undo", "kind": kind, **data},
    )


EVENTS = [
    Event(m(1), "incident.opened", "alertmanager"),
    Event(m(1), "triage.decided", data={"severity": "SEV2", "service": "api"}),
    Event(m(2), "escalation.notified", "scheduler", data={"level": 1, "targets": ["a"]}),
    _step(3, "started", run="r1"),
    _step(4, "failed", run="r1", reason="exit 1"),
    Event(m(5), "escalation.notified", "scheduler", data={"level": 2, "targets": ["b"]}),
    _step(6, "started", run="r2"),
    _step(7, "succeeded", run="r2"),
    Event(m(8), "verification.failed", data={"run_id": "r2", "step_id": "undo"}),
    Event(m(9), "incident.acknowledged", "bob"),
    _step(10, "started", run="r3"),
    _step(11, "succeeded", run="r3"),
    Event(m(12), "verification.passed", data={"run_id": "r3", "step_id": "undo"}),
    Event(m(13), "incident.resolved", "alertmanager"),
    Event(m(14), "incident.reopened", "alertmanager", data={"reopen_count": 1}),
    Event(m(15), "incident.acknowledged", "carol"),
    Event(m(20), "incident.resolved", "dave"),
]

INCIDENT = IncidentInfo(
    id=1,
    title="t",
    status="resolved",
    severity="SEV2",
    service="api",
    signal=None,
    labels={},
    started_at=m(0),
    opened_at=m(1),
    acknowledged_at=m(15),
    acknowledged_by="carol",
    resolved_at=m(20),
    resolved_by="dave",
    reopen_count=1,
)
ALERTS = [AlertInfo("E", "f", "resolved", {"alertname": "E"}, m(-1), m(19))]


def build(events: list[Event]) -> PostmortemData:
    return build_postmortem(
        incident=INCIDENT,
        alerts=ALERTS,
        events=events,
        followups=[],
        display=UTC,
        display_name="UTC",
        generated_at=m(30),
    )


def test_key_times_in_order() -> None:
    times = build(EVENTS).key_times
    assert times.impact_start == m(-1)
    assert times.detected == m(1)
    assert (times.acknowledged, times.acknowledged_by) == (m(9), "bob")
    assert times.mitigated == m(11)  # r2 succeeded but failed its verification
    assert (times.resolved, times.resolved_by) == (m(20), "dave")
    assert times.time_to_detect == 120
    assert times.time_to_acknowledge == 8 * 60
    assert times.time_to_mitigate == 12 * 60
    assert times.time_to_resolve == 21 * 60


ORDERS = {
    "reversed": EVENTS[::-1],
    "odd then even": EVENTS[1::2] + EVENTS[0::2],
    "rotated": EVENTS[7:] + EVENTS[:7],
    "by kind": sorted(EVENTS, key=lambda e: e.kind),
}


@pytest.mark.parametrize("order", ORDERS)
def test_key_times_whatever_the_order(order: str) -> None:
    shuffled = ORDERS[order]
    expected = build(EVENTS)
    got = build(shuffled)
    assert got.key_times == expected.key_times
    assert got.escalations_before_ack == expected.escalations_before_ack == 1
    times = [line.utc for line in got.timeline]
    assert times == sorted(times)
    assert sorted((x.utc, x.kind) for x in got.timeline) == sorted(
        (x.utc, x.kind) for x in expected.timeline
    )


def test_reopened_without_a_later_resolve_is_not_resolved() -> None:
    times = build([e for e in EVENTS if e.at < m(16)]).key_times
    assert times.resolved is None
    assert times.time_to_resolve is None


def test_prompts_seeded_from_the_data() -> None:
    data = build(EVENTS)
    assert "Escalated once before acknowledgement (acknowledged 8m after detection)." in (
        data.went_badly
    )
    assert "Remediation `undo` (k8s.undo) failed verification." in data.went_badly
    assert "Step `undo` (k8s.undo) failed: exit 1." in data.went_badly
    assert "Re-opened once (flapping)." in data.went_badly
    assert "Step `undo` (k8s.undo) succeeded and passed verification." in data.went_well
    assert not any("no human action" in line for line in data.went_well)


def test_automation_only_incident_is_resolved_without_humans() -> None:
    events = [
        Event(m(1), "incident.opened", "alertmanager"),
        _step(2, "started"),
        _step(3, "succeeded"),
        Event(m(4), "verification.passed", data={"run_id": "r1", "step_id": "undo"}),
        Event(m(5), "incident.resolved", "alertmanager"),
    ]
    data = build(events)
    assert "Resolved with no human action." in data.went_well
    assert data.responders == []


def test_database_events_recorded_out_of_order(db: Database) -> None:
    """Events inserted latest first still give the same key times from the database."""
    with db.write() as session:
        incident = Incident(
            title="t",
            status="resolved",
            severity="SEV2",
            started_at=m(0),
            opened_at=m(1),
            updated_at=m(20),
            reopen_count=1,
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        for event in reversed(EVENTS):
            queries.add_event(
                session,
                incident_id=incident.id,
                kind=event.kind,
                text=event.text or event.kind,
                actor=event.actor,
                at=event.at,
                recorded_at=m(40),
                data=event.data,
            )
        incident_id = incident.id
    data = postmortem_data(db, incident_id, DraftOptions(), clock=lambda: m(50))
    times = data.key_times
    assert times.impact_start == m(0)  # no alerts: the incident's own start
    assert (times.detected, times.acknowledged, times.mitigated, times.resolved) == (
        m(1),
        m(9),
        m(11),
        m(20),
    )
