"""Reports over many incidents: response times, escalations and how well runbooks work.

The numbers come from recorded facts: incident rows and their timeline events. The pure
functions (``summarize``, ``runs_of``, ``percentile``) take plain data; ``summary_report``
loads it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.clock import utcnow
from bot.errors import InvalidInputError
from bot.events import STEP_KINDS, EventKind
from bot.postmortem.facts import (
    FactEvent,
    escalations_before,
    escalations_of,
    first_successful_remediation,
    is_person,
    steps_of,
)
from bot.runbooks.freshness import ReviewState, review_text
from storage import queries_followups, queries_reports
from storage.db import Database
from storage.tables import Incident

RUN_FAILED = frozenset({"failed", "timed_out", "interrupted"})
RUNBOOK_SUCCESS_TARGET = 0.85
"""The share of a runbook's finished runs that should succeed: the target for procedures."""
AUTOMATION_SUCCESS_TARGET = 0.60
"""The share of all automation's finished runs, across runbooks, that should succeed."""


def meets(rate: float | None, target: float) -> bool | None:
    """Whether ``rate`` reaches ``target``; None when nothing finished to judge."""
    return None if rate is None else rate >= target


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """One run of a runbook within an incident."""

    incident_id: int
    runbook_id: str
    run_id: str
    result: str  # succeeded | failed | rejected | dry_run | pending
    verified: bool
    verification_failed: bool


def _run_result(final_states: Iterable[str]) -> str:
    states = set(final_states)
    if states & RUN_FAILED:
        return "failed"
    if "rejected" in states:
        return "rejected"
    if "succeeded" in states:
        return "succeeded"
    if states and states <= {"dry_run", "skipped"}:
        return "dry_run"
    return "pending"


def runs_of(incident_id: int, events: Sequence[FactEvent]) -> list[RunOutcome]:
    """The runbook runs recorded in one incident's events (in order of ``at``).

    A step event names its run; the run's runbook is the step's ``runbook_id`` when the
    event carries one, else the runbook selected last before the run began.
    """
    selected: list[tuple[datetime, str]] = []
    final: dict[str, dict[str, str]] = defaultdict(dict)
    runbook_of: dict[str, str] = {}
    verdicts: dict[str, set[str]] = defaultdict(set)
    order: list[str] = []
    for event in events:
        data = event.data
        if event.kind == EventKind.RUNBOOK_SELECTED:
            selected.append((event.at, str(data.get("runbook_id", "unknown"))))
        elif event.kind in STEP_KINDS:
            run_id = str(data.get("run_id", ""))
            if run_id not in runbook_of:
                order.append(run_id)
                if data.get("runbook_id"):
                    runbook_of[run_id] = str(data["runbook_id"])
                else:
                    before = [rb for at, rb in selected if at <= event.at]
                    chosen = before[-1] if before else (selected[0][1] if selected else None)
                    runbook_of[run_id] = chosen or "unknown"
            final[run_id][str(data.get("step_id", ""))] = EventKind(event.kind).step_state
        elif event.kind in (EventKind.VERIFICATION_PASSED, EventKind.VERIFICATION_FAILED):
            verdicts[str(data.get("run_id", ""))].add(event.kind.removeprefix("verification."))
    return [
        RunOutcome(
            incident_id=incident_id,
            runbook_id=runbook_of[run_id],
            run_id=run_id,
            result=_run_result(final[run_id].values()),
            verified="passed" in verdicts[run_id] and "failed" not in verdicts[run_id],
            verification_failed="failed" in verdicts[run_id],
        )
        for run_id in order
    ]


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    id: int
    severity: str
    service: str | None
    status: str
    started_at: datetime
    opened_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class Spread:
    count: int
    p50: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(count=len(values), p50=percentile(values, 50), p90=percentile(values, 90))


@dataclass(frozen=True, slots=True)
class RunbookEffectiveness:
    runbook_id: str
    runs: int
    succeeded: int
    verified: int
    success_rate: float | None
    verified_success_rate: float | None
    incidents: int
    resolved_without_humans: int
    # From impact start to the end of the first successful remediation step, over the
    # incidents this runbook's run mitigated.
    time_to_mitigate: Spread = field(default_factory=lambda: Spread.of(()))
    target: float = RUNBOOK_SUCCESS_TARGET  # for success_rate
    meets_target: bool | None = None


@dataclass(frozen=True, slots=True)
class AutomationSuccess:
    """Every runbook's runs together: the finished ones (not pending, not dry runs), how
    many succeeded, against automation's target."""

    runs: int
    succeeded: int
    success_rate: float | None
    target: float = AUTOMATION_SUCCESS_TARGET
    meets_target: bool | None = None

    @classmethod
    def of(cls, runs: Sequence[RunOutcome]) -> AutomationSuccess:
        finished = [r for r in runs if r.result not in ("pending", "dry_run")]
        succeeded = sum(1 for r in finished if r.result == "succeeded")
        rate = _rate(succeeded, len(finished))
        return cls(
            runs=len(finished),
            succeeded=succeeded,
            success_rate=rate,
            meets_target=meets(rate, AUTOMATION_SUCCESS_TARGET),
        )


FOLLOWUP_TARGET = 1.0  # the practice: every post-mortem action followed up


@dataclass(frozen=True, slots=True)
class FollowupCompletion:
    """The period's incidents' follow-ups: how many exist, are done, are open past due."""

    total: int
    done: int
    overdue: int
    completion_rate: float | None
    target: float = FOLLOWUP_TARGET

    @classmethod
    def of(
        cls, items: Iterable[tuple[str, datetime | None]], *, now: datetime
    ) -> FollowupCompletion:
        """From each follow-up's (status, due date)."""
        listed = list(items)
        done = sum(1 for status, _ in listed if status == "done")
        overdue = sum(
            1 for status, due in listed if status != "done" and due is not None and due < now
        )
        return cls(len(listed), done, overdue, _rate(done, len(listed)))


@dataclass(frozen=True, slots=True)
class SummaryReport:
    since: datetime | None
    until: datetime | None
    incidents: int
    by_severity: dict[str, int]
    by_service: dict[str, int]
    time_to_acknowledge: Spread
    time_to_resolve: Spread
    escalations_total: int
    escalations_per_incident: float | None
    runbooks: list[RunbookEffectiveness] = field(default_factory=list)
    automation: AutomationSuccess = field(default_factory=lambda: AutomationSuccess.of(()))
    followups: FollowupCompletion = field(default_factory=lambda: FollowupCompletion(0, 0, 0, None))


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _add_mitigation(
    into: dict[str, list[float]],
    incident: IncidentFacts,
    events: Sequence[FactEvent],
    runs: Sequence[RunOutcome],
) -> None:
    """Credit the runbook whose run mitigated ``incident`` with the time it took."""
    mitigation = first_successful_remediation(steps_of(events))
    if mitigation is None:
        return
    runbook = next((r.runbook_id for r in runs if r.run_id == mitigation.run_id), None)
    if runbook is not None:
        seconds = (mitigation.finished_at - incident.started_at).total_seconds()
        into[runbook].append(seconds)


def _effectiveness(
    runs: Sequence[RunOutcome],
    *,
    without_humans: set[int],
    mitigations: Mapping[str, Sequence[float]],
) -> list[RunbookEffectiveness]:
    """Each runbook's runs measured; ``without_humans``: resolved incidents no person acted on."""
    per_runbook: dict[str, list[RunOutcome]] = defaultdict(list)
    for run in runs:
        per_runbook[run.runbook_id].append(run)
    out = []
    for runbook_id, own_runs in sorted(per_runbook.items()):
        succeeded = sum(1 for r in own_runs if r.result == "succeeded")
        verified = sum(1 for r in own_runs if r.result == "succeeded" and r.verified)
        counted = [r for r in own_runs if r.result not in ("pending", "dry_run")]
        touched = {r.incident_id for r in own_runs}
        rate = _rate(succeeded, len(counted))
        out.append(
            RunbookEffectiveness(
                runbook_id=runbook_id,
                runs=len(own_runs),
                succeeded=succeeded,
                verified=verified,
                success_rate=rate,
                verified_success_rate=_rate(verified, len(counted)),
                incidents=len(touched),
                resolved_without_humans=len(touched & without_humans),
                time_to_mitigate=Spread.of(mitigations.get(runbook_id, ())),
                meets_target=meets(rate, RUNBOOK_SUCCESS_TARGET),
            )
        )
    return out


def summarize(
    incidents: Sequence[IncidentFacts],
    events: Mapping[int, Sequence[FactEvent]],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> SummaryReport:
    """The summary over ``incidents``; ``events`` holds each one's events in order of ``at``."""
    to_ack: list[float] = []
    to_resolve: list[float] = []
    escalations = 0
    runs: list[RunOutcome] = []
    humans: set[int] = set()
    mitigations: dict[str, list[float]] = defaultdict(list)
    for incident in incidents:
        own = events.get(incident.id, ())
        opened = next(
            (e.at for e in own if e.kind == EventKind.INCIDENT_OPENED), incident.opened_at
        )
        ack = next((e.at for e in own if e.kind == EventKind.INCIDENT_ACKNOWLEDGED), None)
        if ack is not None:
            to_ack.append((ack - opened).total_seconds())
        if incident.status == "resolved" and incident.resolved_at is not None:
            to_resolve.append((incident.resolved_at - incident.started_at).total_seconds())
        escalations += escalations_before(escalations_of(own), None)
        own_runs = runs_of(incident.id, own)
        runs.extend(own_runs)
        _add_mitigation(mitigations, incident, own, own_runs)
        if any(is_person(e.actor) and not e.kind.startswith(("followup.", "chat.")) for e in own):
            humans.add(incident.id)
    resolved = {i.id for i in incidents if i.status == "resolved"}
    runbooks = _effectiveness(runs, without_humans=resolved - humans, mitigations=mitigations)
    return SummaryReport(
        since=since,
        until=until,
        incidents=len(incidents),
        by_severity=dict(sorted(Counter(i.severity for i in incidents).items())),
        by_service=dict(sorted(Counter(i.service or "(none)" for i in incidents).items())),
        time_to_acknowledge=Spread.of(to_ack),
        time_to_resolve=Spread.of(to_resolve),
        escalations_total=escalations,
        escalations_per_incident=round(escalations / len(incidents), 4) if incidents else None,
        runbooks=runbooks,
        automation=AutomationSuccess.of(runs),
    )


def incident_facts(incident: Incident) -> IncidentFacts:
    assert incident.id is not None
    return IncidentFacts(
        id=incident.id,
        severity=incident.severity,
        service=incident.service,
        status=incident.status,
        started_at=incident.started_at,
        opened_at=incident.opened_at,
        resolved_at=incident.resolved_at,
    )


def summary_report(
    db: Database,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> SummaryReport:
    """The summary of incidents opened in ``[since, until)``, with their follow-ups'
    completion (overdue as of ``now``)."""
    with db.session() as session:
        incidents = queries_reports.incidents_between(session, since=since, until=until)
        ids = [i.id for i in incidents if i.id is not None]
        rows = queries_reports.events_of(session, ids)
        items = queries_followups.followups_of_incidents(session, ids)
    by_incident: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_incident[row.incident_id].append(row)
    report = summarize(
        [incident_facts(i) for i in incidents], by_incident, since=since, until=until
    )
    completion = FollowupCompletion.of(((f.status, f.due_at) for f in items), now=now or utcnow())
    return replace(report, followups=completion)


def parse_since(text: str, *, now: datetime, ahead: bool = False) -> datetime:
    """``2026-11-01``, ``2026-11-01T08:00:00+01:00`` (UTC if no zone), or ``7d`` meaning ago
    (``ahead``: meaning from now, as a follow-up's due date)."""
    from datetime import UTC

    from bot.durations import parse_duration

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            span = parse_duration(text)
            return now + span if ahead else now - span
        except ValueError:
            raise InvalidInputError(
                f"{text!r} is neither a time (2026-11-01T08:00:00Z) nor a duration (7d)"
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def against_target(rate: float | None, target: float) -> str:
    """``67% (target 85%: below)``; ``— (target 85%)`` when nothing finished."""
    verdict = {True: ": met", False: ": below", None: ""}[meets(rate, target)]
    shown = "—" if rate is None else f"{rate:.0%}"
    return f"{shown} (target {target:.0%}{verdict})"


def report_lines(
    report: SummaryReport, reviews: Mapping[str, ReviewState] | None = None
) -> list[str]:
    """The summary as plain text lines, for the CLI and chat. ``reviews``: the loaded
    runbooks' review states by id, shown beside their runs (or alone for those that did
    not run)."""
    from bot.incidents.timeline import format_seconds, format_time

    def window(at: datetime | None, default: str) -> str:
        return f"{format_time(at)} UTC" if at else default

    lines = [
        f"Incidents opened from {window(report.since, 'the beginning')} "
        f"to {window(report.until, 'now')}: {report.incidents}",
        "By severity: " + (", ".join(f"{k} {v}" for k, v in report.by_severity.items()) or "none"),
        "By service: " + (", ".join(f"{k} {v}" for k, v in report.by_service.items()) or "none"),
    ]
    for label, spread in (
        ("Time to acknowledge", report.time_to_acknowledge),
        ("Time to resolve", report.time_to_resolve),
    ):
        lines.append(
            f"{label}: p50 {format_seconds(spread.p50)}, p90 {format_seconds(spread.p90)} "
            f"({spread.count} incidents)"
        )
    per = report.escalations_per_incident
    lines.append(
        f"Escalations: {report.escalations_total} "
        f"({'—' if per is None else f'{per:.2f}'} per incident)"
    )
    return lines + _runbook_lines(report, reviews or {})


def _runbook_lines(report: SummaryReport, reviews: Mapping[str, ReviewState]) -> list[str]:
    automation = report.automation
    done = report.followups
    lines = [
        f"Follow-ups: {done.done} of {done.total} done, {done.overdue} overdue, completion "
        f"{against_target(done.completion_rate, done.target)}",
        f"Automation: {automation.succeeded} of {automation.runs} finished runs succeeded, "
        f"success {against_target(automation.success_rate, automation.target)}",
    ]
    if not report.runbooks:
        lines.append("Runbooks: none ran")
    for rb in report.runbooks:
        verified = "—" if rb.verified_success_rate is None else f"{rb.verified_success_rate:.0%}"
        line = (
            f"Runbook {rb.runbook_id}: {rb.runs} runs, success "
            f"{against_target(rb.success_rate, rb.target)}, verified {verified}, "
            f"{rb.resolved_without_humans} of {rb.incidents} incidents resolved with no "
            "human action"
        )
        review = reviews.get(rb.runbook_id)
        lines.append(line if review is None else f"{line}; {review_text(review)}")
    ran = {rb.runbook_id for rb in report.runbooks}
    for runbook_id, review in sorted(reviews.items()):
        if runbook_id not in ran:
            lines.append(f"Runbook {runbook_id}: no runs; {review_text(review)}")
    return lines
