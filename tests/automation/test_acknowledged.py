"""Automation never pages an acknowledged incident: an interrupted step or refused
parameters escalate an open incident but only leave a note on an acknowledged one. Through
the real automation and escalation services on both databases, with an injected clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from actions.registry import default_registry
from bot.automation import service as automation
from bot.automation.service import AutomationRules
from bot.escalation import service as escalation
from bot.escalation.hooks import EscalationHooks
from bot.incidents import service as incidents
from bot.runbooks.model import Runbook
from bot.runbooks.params import resolve_params
from bot.runbooks.parser import parse_runbook
from storage import queries_automation as q
from storage.db import Database
from storage.tables import Incident
from tests.escalation.support import FakeClock, Recorder, events, open_incident, rules, timer

RUNBOOK = b"""---
id: look
title: Look at the service
owners: ["@web"]
match:
  alertname: HighErrorRate
params:
  base: {from: labels.base, pattern: "http://127\\\\.0\\\\.0\\\\.1:[0-9]{1,5}"}
---
# Look

## Steps

Read the service's metrics.

```action {"id": "look", "kind": "diagnose"}
uses: http.request
with:
  method: GET
  url: http://127.0.0.1:9/metrics
```
"""
BASE = {"base": "http://127.0.0.1:9"}
LEASE = timedelta(seconds=30)
ESCALATION = rules()


def runbook() -> Runbook:
    parsed = parse_runbook(RUNBOOK, file="look.md")
    assert parsed.runbook is not None, parsed.problems
    return parsed.runbook


def automation_rules() -> AutomationRules:
    return AutomationRules(registry=default_registry(), lease=LEASE, escalation=ESCALATION)


def claimed_run(db: Database, incident_id: int, clock: FakeClock, labels: dict[str, str]) -> int:
    book = runbook()
    with db.write() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        resolution = resolve_params(book.params, labels=labels, annotations={})
        run = automation.plan_run(
            session,
            incident,
            book,
            resolution,
            fingerprint="0123456789abcdef",
            starts_at=clock(),
            trusted=False,
            triggered_by="alertmanager",
            now=clock(),
        )
        assert run is not None
        [run_id] = q.claim_runs(
            session, owner="runner", now=clock(), lease_until=clock() + LEASE, limit=1
        )
    return run_id


def interrupt_a_step(db: Database, incident_id: int, clock: FakeClock) -> None:
    """The runner starts the step, dies, and the sweep finds its lease run out."""
    run_id = claimed_run(db, incident_id, clock, BASE)
    work = automation.next_work(db, run_id, owner="runner", rules=automation_rules(), now=clock())
    assert work is not None
    assert work.step_id == "look"
    clock.advance(seconds=LEASE.total_seconds() + 1)
    automation.sweep(db, rules=automation_rules(), now=clock())
    assert events(db, incident_id, "step.interrupted")


def refuse_parameters(db: Database, incident_id: int, clock: FakeClock) -> None:
    run_id = claimed_run(db, incident_id, clock, {"base": "http://169.254.169.254"})
    assert (
        automation.next_work(db, run_id, owner="runner", rules=automation_rules(), now=clock())
        is None
    )
    assert events(db, incident_id, "automation.refused")


CAUSES = {"interrupted step": interrupt_a_step, "refused parameters": refuse_parameters}


def paged_once(db: Database, clock: FakeClock, sent: Recorder) -> int:
    incident_id = open_incident(db, ESCALATION, now=clock())
    assert sent.record(escalation.fire_due(db, rules=ESCALATION, owner="t", clock=clock)) == 1
    return incident_id


@pytest.mark.parametrize("cause", CAUSES)
def test_automation_escalates_an_open_incident(db: Database, cause: str) -> None:
    clock, sent = FakeClock(), Recorder()
    incident_id = paged_once(db, clock, sent)
    CAUSES[cause](db, incident_id, clock)
    assert sent.record(escalation.fire_due(db, rules=ESCALATION, owner="t", clock=clock)) == 1
    assert sent.levels() == [1, 2]
    assert events(db, incident_id, "escalation.held") == []


@pytest.mark.parametrize("cause", CAUSES)
def test_automation_pages_nobody_on_an_acknowledged_incident(db: Database, cause: str) -> None:
    clock, sent = FakeClock(), Recorder()
    incident_id = paged_once(db, clock, sent)
    incidents.acknowledge(
        db, incident_id, actor="ann", hooks=EscalationHooks(ESCALATION), clock=clock
    )
    CAUSES[cause](db, incident_id, clock)
    clock.advance(hours=2)
    assert sent.record(escalation.fire_due(db, rules=ESCALATION, owner="t", clock=clock)) == 0
    assert sent.levels() == [1]
    assert timer(db, incident_id).status == "stopped"
    (held,) = events(db, incident_id, "escalation.held")
    assert held.actor == "fireline"
    assert held.data["acknowledged_by"] == "ann"
    assert held.data["requested_by"].startswith("fireline (")
    assert "ann acknowledged the incident" in held.text

    # A person asking is a decision of their own: it still pages, once.
    escalation.escalate(db, incident_id, actor="ann", rules=ESCALATION, clock=clock)
    assert sent.record(escalation.fire_due(db, rules=ESCALATION, owner="t", clock=clock)) == 1
    assert sent.levels() == [1, 2]
