"""GET /api/reports/summary on a small data set whose numbers are worked out by hand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from bot.app.settings import Settings
from bot.postmortem.reports import (
    RUNBOOK_SUCCESS_TARGET,
    AutomationSuccess,
    RunbookEffectiveness,
    Spread,
    SummaryReport,
    meets,
    percentile,
    report_lines,
)
from bot.runbooks.freshness import review_state
from storage import queries
from storage.db import Database
from storage.tables import Incident
from tests.support import running_app

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _incident(
    session: Session,
    *,
    severity: str,
    service: str | None,
    started: float,
    opened: float,
    status: str,
    resolved: float | None = None,
) -> int:
    incident = Incident(
        title=f"{severity} {service}",
        status=status,
        severity=severity,
        service=service,
        started_at=m(started),
        opened_at=m(opened),
        resolved_at=None if resolved is None else m(resolved),
        updated_at=m(opened),
    )
    session.add(incident)
    session.flush()
    assert incident.id is not None
    return incident.id


def _event(
    session: Session,
    incident_id: int,
    minutes: float,
    event: str,
    actor: str = "fireline",
    /,
    **data: Any,
) -> None:
    queries.add_event(
        session,
        incident_id=incident_id,
        kind=event,
        text=event,
        actor=actor,
        at=m(minutes),
        recorded_at=m(minutes),
        data=data,
    )


def _step(
    session: Session, incident_id: int, minutes: float, run: str, state: str, **extra: Any
) -> None:
    data = {"run_id": run, "step_id": "fix", "action": "x.fix", "kind": "remediate", **extra}
    _event(session, incident_id, minutes, f"step.{state}", **data)


def seed(db: Database) -> None:
    with db.write() as s:
        old = _incident(
            s,
            severity="SEV1",
            service="old",
            started=-999,
            opened=-999,
            status="resolved",
            resolved=-900,
        )
        _event(s, old, -999, "incident.opened", "alertmanager")

        a = _incident(
            s,
            severity="SEV1",
            service="checkout",
            started=-2,
            opened=0,
            status="resolved",
            resolved=20,
        )
        _event(s, a, 0, "incident.opened", "alertmanager")
        _event(s, a, 0, "escalation.notified", "scheduler", level=1, targets=["x"])
        _event(s, a, 2, "escalation.notified", "scheduler", level=2, targets=["y"])
        _event(s, a, 3, "runbook.selected", runbook_id="rb-a")
        _step(s, a, 3, "r1", "started")
        _step(s, a, 3.5, "r1", "succeeded")
        _event(s, a, 5, "verification.passed", run_id="r1", step_id="fix")
        _event(s, a, 4, "incident.acknowledged", "bob")  # recorded after, happened before

        b = _incident(
            s,
            severity="SEV2",
            service="checkout",
            started=99,
            opened=100,
            status="resolved",
            resolved=130,
        )
        _event(s, b, 100, "incident.opened", "alertmanager")
        _event(s, b, 101, "runbook.selected", runbook_id="rb-a")
        _step(s, b, 102, "r2", "started")
        _step(s, b, 103, "r2", "failed", reason="exit 1")
        _event(s, b, 110, "incident.acknowledged", "carol")

        c = _incident(
            s,
            severity="SEV2",
            service="payments",
            started=200,
            opened=200,
            status="resolved",
            resolved=205,
        )
        _event(s, c, 200, "incident.opened", "alertmanager")
        _event(s, c, 201, "runbook.selected", runbook_id="rb-b")
        _step(s, c, 202, "r3", "succeeded")
        _event(s, c, 203, "verification.failed", run_id="r3", step_id="fix")
        _event(s, c, 205, "incident.resolved", "alertmanager")
        _event(s, c, 206, "followup.added", "dave", followup_id=1, text="t")

        d = _incident(s, severity="SEV3", service=None, started=300, opened=300, status="open")
        _event(s, d, 300, "incident.opened", "alertmanager")
        for level in (1, 2, 3):
            _event(s, d, 300 + level, "escalation.notified", "scheduler", level=level)
        _step(s, d, 302, "r4", "succeeded", runbook_id="rb-a")
        _event(s, d, 303, "verification.passed", run_id="r4", step_id="fix")


async def test_summary_numbers(make_settings: Callable[..., Settings], db: Database) -> None:
    seed(db)
    async with running_app(make_settings()) as (_app, client):
        response = await client.get("/api/reports/summary", params={"since": m(-60).isoformat()})
        assert response.status_code == 200, response.text
        report = response.json()
        until = await client.get(
            "/api/reports/summary",
            params={"since": m(-60).isoformat(), "until": m(150).isoformat()},
        )
        naive = await client.get("/api/reports/summary", params={"since": "2026-10-01T00:00:00"})
    assert report["incidents"] == 4
    assert report["by_severity"] == {"SEV1": 1, "SEV2": 2, "SEV3": 1}
    assert report["by_service"] == {"(none)": 1, "checkout": 2, "payments": 1}
    assert report["time_to_acknowledge"] == {"count": 2, "p50": 420.0, "p90": 564.0}
    assert report["time_to_resolve"] == {"count": 3, "p50": 1320.0, "p90": 1752.0}
    assert report["escalations_total"] == 3
    assert report["escalations_per_incident"] == 0.75
    assert report["runbooks"] == [
        {
            "runbook_id": "rb-a",
            "runs": 3,
            "succeeded": 2,
            "verified": 2,
            "success_rate": 0.6667,
            "verified_success_rate": 0.6667,
            "incidents": 3,
            "resolved_without_humans": 0,
            "time_to_mitigate": {"count": 2, "p50": 225.0, "p90": 309.0},
            "target": 0.85,
            "meets_target": False,
        },
        {
            "runbook_id": "rb-b",
            "runs": 1,
            "succeeded": 1,
            "verified": 0,
            "success_rate": 1.0,
            "verified_success_rate": 0.0,
            "incidents": 1,
            "resolved_without_humans": 1,
            "time_to_mitigate": {"count": 0, "p50": None, "p90": None},  # verification failed
            "target": 0.85,
            "meets_target": True,
        },
    ]
    assert report["automation"] == {
        "runs": 4,
        "succeeded": 3,
        "success_rate": 0.75,
        "target": 0.6,
        "meets_target": True,
    }
    assert until.json()["incidents"] == 2
    assert naive.status_code == 422


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([], 50, None), ([5], 90, 5), ([1, 2, 3, 4], 50, 2.5), ([10, 20], 90, 19)],
)
def test_percentile(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == expected


def _effectiveness(runbook_id: str, runs: int, succeeded: int) -> RunbookEffectiveness:
    rate = succeeded / runs if runs else None
    return RunbookEffectiveness(
        runbook_id=runbook_id,
        runs=runs,
        succeeded=succeeded,
        verified=succeeded,
        success_rate=rate,
        verified_success_rate=rate,
        incidents=runs,
        resolved_without_humans=0,
        meets_target=meets(rate, RUNBOOK_SUCCESS_TARGET),
    )


def test_report_lines_hold_the_targets_and_each_runbooks_review() -> None:
    none = Spread.of(())
    report = SummaryReport(
        since=None,
        until=None,
        incidents=3,
        by_severity={},
        by_service={},
        time_to_acknowledge=none,
        time_to_resolve=none,
        escalations_total=0,
        escalations_per_incident=0.0,
        runbooks=[_effectiveness("steady", 10, 9), _effectiveness("shaky", 4, 2)],
        automation=AutomationSuccess(14, 11, 0.7857, meets_target=True),
    )
    today = date(2026, 12, 6)
    reviews = {
        "steady": review_state(date(2026, 11, 1), today=today, max_age=timedelta(days=90)),
        "shaky": review_state(date(2026, 6, 1), today=today, max_age=timedelta(days=90)),
        "idle": review_state(None, today=today, max_age=timedelta(days=90)),
    }
    lines = report_lines(report, reviews)
    assert lines[-4:] == [
        "Automation: 11 of 14 finished runs succeeded, success 79% (target 60%: met)",
        "Runbook steady: 10 runs, success 90% (target 85%: met), verified 90%, 0 of 10 "
        "incidents resolved with no human action; last reviewed 2026-11-01",
        "Runbook shaky: 4 runs, success 50% (target 85%: below), verified 50%, 0 of 4 "
        "incidents resolved with no human action; last reviewed 2026-06-01 (overdue)",
        "Runbook idle: no runs; never reviewed (overdue)",
    ]
    plain = report_lines(replace(report, runbooks=[], automation=AutomationSuccess.of(())))
    assert plain[-2:] == [
        "Automation: 0 of 0 finished runs succeeded, success — (target 60%)",
        "Runbooks: none ran",
    ]
