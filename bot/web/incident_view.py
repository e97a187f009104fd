"""What the incident pages show, as plain data built from the services' rows.

The builders are pure (rows and the clock's time in, view data out); ``load_incident_page``
is the one place that reads, through the same service functions the API uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from actions.gates import StepState
from bot.automation import service as automation
from bot.escalation import service as escalation
from bot.escalation.decide import Policy
from bot.graphs import service as graphs
from bot.incidents import service as incidents
from bot.incidents.timeline import TimelineLine, chronological, timeline_lines
from bot.ingest.model import safe_link
from storage.db import Database
from storage.tables import AlertRecord, Incident, TimelineEvent
from storage.tables_automation import RunbookRun, StepRun
from storage.tables_escalation import EscalationTimer

TIMELINE_PAGE = 200
"""Events shown at once: the newest ones, older ones by the cursor on demand."""


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class GraphView:
    """A drawn graph of the alert's expression; its PNG at ``url``."""

    url: str
    moment: str  # at open | after verification
    expression: str
    drawn_at: datetime


@dataclass(frozen=True)
class AlertView:
    id: int
    name: str
    status: str
    summary: str
    labels: dict[str, str]
    starts_at: datetime
    links: list[Link]


@dataclass(frozen=True)
class TimelineRow:
    """One event: its id (the cursor) and its line from the one timeline renderer."""

    id: int
    line: TimelineLine


@dataclass(frozen=True)
class TimelineWindow:
    rows: list[TimelineRow]
    older: int | None  # the cursor of the page before, None when this is the oldest
    newest: int | None  # the highest id shown, for "what was written since"


@dataclass(frozen=True)
class StepView:
    id: int
    step_id: str
    action: str
    state: str
    gate: str  # why the step met the gate it did (the runner's reason)
    summary: str
    output: str
    exit_code: int | None
    args_hash: str
    awaiting_approval: bool


@dataclass(frozen=True)
class RunView:
    id: int
    runbook_id: str
    status: str
    verification: str | None
    triggered_by: str
    created_at: datetime
    steps: list[StepView]


@dataclass(frozen=True)
class Rung:
    level: int  # 1-based, as people count
    targets: list[str]
    delay: timedelta
    state: str  # "paged" (this round), "next", or "later"


@dataclass(frozen=True)
class Page:
    at: datetime
    level: int
    notified: list[str]


@dataclass(frozen=True)
class Ladder:
    policy: str
    status: str
    round: int
    next_due_at: datetime | None
    ack_due_at: datetime | None
    rungs: list[Rung]
    pages: list[Page]


@dataclass(frozen=True)
class IncidentPage:
    incident: Incident
    alerts: list[AlertView]
    timeline: TimelineWindow
    runs: list[RunView]
    ladder: Ladder | None
    severities: Sequence[str] = field(default=("SEV1", "SEV2", "SEV3", "SEV4"))
    graphs: list[GraphView] = field(default_factory=list)


def alert_view(record: AlertRecord) -> AlertView:
    """An alert's card: its links only when they are absolute http(s) URLs, so that alert
    text can never become a ``javascript:`` link."""
    assert record.id is not None
    candidates = [("source", record.generator_url)]
    candidates.append(("runbook", record.annotations.get("runbook_url", "")))
    candidates.extend(sorted(record.links.items()))
    links = [Link(label, url) for label, raw in candidates if (url := safe_link(raw))]
    return AlertView(
        id=record.id,
        name=record.labels.get("alertname", "alert"),
        status=record.status,
        summary=record.annotations.get("summary") or record.annotations.get("description", ""),
        labels=dict(sorted(record.labels.items())),
        starts_at=record.starts_at,
        links=links,
    )


def timeline_window(events: Sequence[TimelineEvent], *, limit: int) -> TimelineWindow:
    """A page of events read newest first by id, shown in the order they happened."""
    ordered = chronological(events)
    rows = [
        TimelineRow(id=_id(event), line=line)
        for event, line in zip(ordered, timeline_lines(ordered), strict=True)
    ]
    ids = [_id(e) for e in events]
    return TimelineWindow(
        rows=rows,
        older=min(ids) if len(ids) >= limit else None,
        newest=max(ids) if ids else None,
    )


def _id(event: Any) -> int:
    value = event.id
    assert isinstance(value, int)
    return value


def run_view(run: RunbookRun, steps: Iterable[StepRun]) -> RunView:
    assert run.id is not None
    return RunView(
        id=run.id,
        runbook_id=run.runbook_id,
        status=run.status,
        verification=run.verification,
        triggered_by=run.triggered_by,
        created_at=run.created_at,
        steps=[
            StepView(
                id=s.id or 0,
                step_id=s.step_id,
                action=s.action,
                state=s.state,
                gate=s.reason or "",
                summary=s.summary or "",
                output=s.output or "",
                exit_code=s.exit_code,
                args_hash=s.args_hash,
                awaiting_approval=s.state == StepState.AWAITING_APPROVAL,
            )
            for s in steps
        ],
    )


def ladder_view(
    timer: EscalationTimer, policy: Policy | None, notified: Iterable[TimelineEvent]
) -> Ladder:
    """Where the incident stands on its policy's ladder and the pages sent so far."""
    pages = [
        Page(
            at=event.at,
            level=int(event.data.get("level", 0)) + 1,
            notified=[str(t) for t in event.data.get("targets") or ()],
        )
        for event in notified
    ]
    rungs = []
    if policy is not None:
        for index, level in enumerate(policy.levels):
            if timer.status in ("active", "once") and index == timer.level:
                state = "next"
            elif timer.current_level is not None and index <= timer.current_level:
                state = "paged"
            else:
                state = "later"
            rungs.append(
                Rung(
                    level=index + 1,
                    targets=[str(t) for t in level.targets],
                    delay=level.delay,
                    state=state,
                )
            )
    return Ladder(
        policy=timer.policy,
        status=timer.status,
        round=timer.round,
        next_due_at=timer.due_at if timer.status in ("active", "once") else None,
        ack_due_at=timer.ack_due_at,
        rungs=rungs,
        pages=pages,
    )


def load_timeline(
    db: Database, incident_id: int, *, before_id: int | None = None, after_id: int | None = None
) -> TimelineWindow:
    events = incidents.timeline_page(
        db, incident_id, before_id=before_id, after_id=after_id, limit=TIMELINE_PAGE
    )
    return timeline_window(events, limit=TIMELINE_PAGE)


def load_incident_page(
    db: Database,
    incident_id: int,
    *,
    policies: Sequence[Policy],
    before_id: int | None = None,
) -> IncidentPage:
    """Everything the incident page shows (NotFoundError when there is no such incident)."""
    detail = incidents.get_incident(db, incident_id)
    timer, notified = escalation.ladder_of(db, incident_id)
    policy = next((p for p in policies if timer and p.name == timer.policy), None)
    return IncidentPage(
        incident=detail.incident,
        alerts=[alert_view(a) for a in detail.alerts],
        timeline=load_timeline(db, incident_id, before_id=before_id),
        runs=[run_view(run, steps) for run, steps in automation.runs_of(db, incident_id)],
        ladder=ladder_view(timer, policy, notified) if timer is not None else None,
        graphs=[
            GraphView(
                url=graph_path(incident_id, g.id),
                moment="at open" if g.moment == "open" else "after verification",
                expression=g.expression,
                drawn_at=g.created_at,
            )
            for g in graphs.graphs_of(db, incident_id)
            if g.id is not None
        ],
    )


def graph_path(incident_id: int, graph_id: int) -> str:
    return f"/incidents/{incident_id}/graphs/{graph_id}.png"
