"""Runbook runs as a persisted state machine, one transaction per decision.

A run is planned inside triage's transaction when an incident opens with a runbook. The
runner then claims it and asks ``next_work`` what to do: each call walks the plan in
order, records every step it can decide without running anything (skipped, throttled,
awaiting approval), and returns the next step to execute, already moved to ``running``
and committed. The runner executes it outside any transaction and hands the outcome to
``finish_step``. A process that dies mid-step leaves a ``running`` row whose lease runs
out; ``sweep`` marks it interrupted and it is never run again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from actions.base import Action
from actions.engine import StepOutcome
from actions.gates import (
    GuardFacts,
    Limits,
    Mode,
    Refusal,
    StepState,
    args_hash,
    effective_mode,
    idempotency_key,
    run_key,
    target_of,
)
from actions.registry import ActionRegistry, is_mutating
from bot.automation.decide import (
    ApprovalFacts,
    StepFacts,
    after_verdict,
    approval_refusal,
    decide_breaker,
    decide_step,
    decide_verification,
    needs_guards,
)
from bot.automation.plan import RunPlan
from bot.changes import service as changes
from bot.durations import format_duration
from bot.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from bot.escalation import service as escalation
from bot.escalation.decide import Requester
from bot.escalation.service import EscalationRules
from bot.events import EventKind
from bot.incidents.decide import IncidentStatus
from bot.maintenance.service import Maintenance
from bot.runbooks.model import Runbook, Step, StepKind
from bot.runbooks.params import ParamResolution, resolve_params
from storage import queries
from storage import queries_automation as q
from storage.db import Database
from storage.errors import IntegrityError
from storage.tables import Incident
from storage.tables_automation import (
    ApprovalRequest,
    AutomationPause,
    RunbookRun,
    StepRun,
)

log = logging.getLogger(__name__)
ACTOR = "fireline"
OUTPUT_ON_TIMELINE = 4000
# A run waiting for a maintenance window to end (not claimed by the runner meanwhile).
HELD = "held"


@dataclass(frozen=True)
class AutomationRules:
    registry: ActionRegistry
    mode: Mode = "auto"
    budget: int = 20
    budget_per: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(seconds=30)
    approval_timeout: timedelta = timedelta(minutes=15)
    approvers: tuple[str, ...] = ()
    escalation: EscalationRules | None = None
    # Windows during which no remediation runs (read-only steps still do); None: none.
    maintenance: Maintenance | None = None


@dataclass(frozen=True)
class StepWork:
    """A step the runner must execute now; its row is already ``running``."""

    run_id: int
    step_run_id: int
    incident_id: int
    step_id: str
    kind: str
    action: str
    args: dict[str, Any]
    timeout: float
    retries: int
    poll: bool
    dry_run: bool
    mutating: bool
    trusted: bool
    params: dict[str, str] = field(default_factory=dict)


def _event(
    session: Session,
    incident_id: int,
    kind: str,
    text: str,
    *,
    now: datetime,
    actor: str = ACTOR,
    data: dict[str, Any] | None = None,
) -> None:
    queries.add_event(
        session,
        incident_id=incident_id,
        kind=kind,
        text=text,
        actor=actor,
        at=now,
        recorded_at=now,
        data=data or {},
    )


# --- planning -----------------------------------------------------------------------------


def plan_run(
    session: Session,
    incident: Incident,
    runbook: Runbook,
    resolution: ParamResolution,
    *,
    fingerprint: str,
    starts_at: datetime,
    trusted: bool,
    triggered_by: str,
    now: datetime,
    key: str | None = None,
) -> RunbookRun | None:
    """Create the run of ``runbook`` for this alert episode, once; None if it exists.
    A person's run passes a ``key`` of its own, so it is not the alert's run."""
    assert incident.id is not None
    key = key or run_key(runbook.id, runbook.hash, fingerprint, starts_at)
    params = {k: str(v) for k, v in resolution.as_json().items()}
    run = RunbookRun(
        incident_id=incident.id,
        runbook_id=runbook.id,
        runbook_hash=runbook.hash,
        run_key=key,
        fingerprint=fingerprint,
        alert_starts_at=starts_at,
        target=target_of(runbook.id, params),
        service=incident.service,
        status="pending",
        params=params,
        param_errors=dict(resolution.errors),
        plan=RunPlan.of(runbook).as_json(),
        trusted=trusted,
        triggered_by=triggered_by,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        return None
    return run


def start_manual_run(
    db: Database,
    incident_id: int,
    runbook: Runbook,
    *,
    by: str,
    trusted: bool,
    now: datetime,
) -> RunbookRun:
    """A person runs the incident's runbook again, with the parameters of its first
    firing alert. The run goes through every gate like any other, and its mutating steps
    can be approved by anyone listed except the person who started it."""
    with db.write() as session:
        incident = queries.lock_incident(session, incident_id)
        if incident is None:
            raise NotFoundError(f"incident {incident_id} does not exist")
        if incident.status == IncidentStatus.RESOLVED:
            raise ConflictError(f"incident {incident_id} is resolved")
        alerts = [a for a in queries.alerts_of(session, incident_id) if a.status == "firing"]
        if not alerts:
            raise ConflictError(
                f"incident {incident_id} has no firing alert to take parameters from"
            )
        alert = alerts[0]
        resolution = resolve_params(
            runbook.params,
            labels=alert.labels,
            annotations=alert.annotations,
            deploy=changes.deploy_of(session, incident_id),
        )
        alert_run = run_key(runbook.id, runbook.hash, alert.fingerprint, alert.starts_at)
        key = f"{alert_run}|by:{by}@{now.isoformat()}"
        run = plan_run(
            session,
            incident,
            runbook,
            resolution,
            fingerprint=alert.fingerprint,
            starts_at=alert.starts_at,
            trusted=trusted,
            triggered_by=by,
            now=now,
            key=key,
        )
        if run is None:
            raise ConflictError("that run was started already")
        _event(
            session,
            incident_id,
            EventKind.RUN_STARTED,
            f"{by} started runbook {runbook.id}",
            now=now,
            actor=by,
            data={"run_id": run.id, "runbook_id": runbook.id, "triggered_by": by},
        )
        return run


# --- choosing the next step ---------------------------------------------------------------


def next_work(
    db: Database, run_id: int, *, owner: str, rules: AutomationRules, now: datetime
) -> StepWork | None:
    """Record every step that can be decided now and return the next one to execute, or
    None when the run waits (approval, verification), has finished, or is not ours."""
    with db.write() as session:
        run = q.lock_run(session, run_id)
        if run is None or run.claimed_by != owner or run.status not in q.RUNNABLE:
            return None
        assert run.id is not None
        incident = session.get(Incident, run.incident_id)
        assert incident is not None
        if run.param_errors:
            _refuse(session, run, incident, rules, now)
            return None
        run.status, run.updated_at = "running", now
        session.add(run)
        plan = RunPlan.from_json(run.plan)
        rows = {s.step_id: s for s in q.steps_of_run(session, run.id)}
        results: dict[str, StepState] = {}
        steps = list(plan.main_steps())
        if run.verification == "failed":
            succeeded = {sid for sid, row in rows.items() if row.state == StepState.SUCCEEDED}
            steps += plan.rollback_steps(succeeded)
        for position, step in enumerate(steps):
            row = rows.get(step.id)
            if row is None and _held(session, run, incident, step, rules, now):
                _release(run, HELD, now)
                session.add(run)
                return None
            if row is None:
                row = _decide_step(
                    session, run, incident, plan, step, position, results, rules, now
                )
                if row is None:
                    return None  # another replica recorded it first; let it carry on
            state = StepState(row.state)
            if state.finished:
                results[step.id] = state
                continue
            if state is StepState.AWAITING_APPROVAL:
                _release(run, "waiting", now)
                session.add(run)
                return None
            if state is StepState.PENDING:  # decided to run, or approved
                return _start(session, run, row, step, owner=owner, rules=rules, now=now)
            return None  # running elsewhere; the sweep takes it if its owner died
        _conclude_steps(session, run, incident, plan, results, rules, now)
        return None


def _held(
    session: Session,
    run: RunbookRun,
    incident: Incident,
    step: Step,
    rules: AutomationRules,
    now: datetime,
) -> bool:
    """A step that would change something waits while a maintenance window holds the
    incident; the run is ``held`` until the window's end releases it. Read-only
    (diagnostic) steps are not held: they change nothing, and their output helps."""
    if rules.maintenance is None:
        return False
    action = rules.registry.get(step.uses)
    args = step.resolved_args(run.params)
    if action is not None and not is_mutating(action, args, read_only=step.read_only):
        return False
    return rules.maintenance.hold(session, incident, held="automation", now=now) is not None


def release_held(session: Session, incident_id: int, *, now: datetime) -> int:
    """Runs held by maintenance go on (the runner takes them again); how many."""
    runs = q.runs_in_status(session, incident_id, HELD)
    for run in runs:
        _release(run, "pending", now)
        session.add(run)
    return len(runs)


def _decide_step(
    session: Session,
    run: RunbookRun,
    incident: Incident,
    plan: RunPlan,
    step: Step,
    position: int,
    results: Mapping[str, StepState],
    rules: AutomationRules,
    now: datetime,
) -> StepRun | None:
    """Decide a step not yet recorded, store its row and announce the decision; None when
    another replica recorded the step first."""
    assert run.id is not None
    action = rules.registry.get(step.uses)
    row = _new_step_row(run, step, action, position, now)
    facts = _step_facts(
        session, run, incident, plan, step, action is not None, row.mutating, results, rules
    )
    limits = _limits(plan, rules)
    guards = (
        guard_facts(session, run, now=now, rules=rules, limits=limits)
        if needs_guards(facts)
        else None
    )
    decision = decide_step(facts, guards, limits, now=now)
    row.state = decision.state.value
    row.reason, row.dry_run = decision.reason, decision.dry_run
    if not _insert_step_row(session, row):
        return None
    data = _step_data(run, row, step)
    if decision.refusal is not None:
        _announce_refusal(session, run, step, decision.refusal, data, now)
    if row.state == StepState.SKIPPED:
        _event(
            session,
            run.incident_id,
            EventKind.STEP_SKIPPED,
            f"Step {step.id} skipped: {row.reason}",
            now=now,
            data=data,
        )
    elif row.state == StepState.FAILED:
        _event(
            session,
            run.incident_id,
            EventKind.STEP_FAILED,
            f"Step {step.id} failed: {row.reason}",
            now=now,
            data=data,
        )
    elif row.state == StepState.AWAITING_APPROVAL:
        _request_approval(session, run, plan, step, row, decision.reason, data, rules, now)
    return row


def _new_step_row(
    run: RunbookRun, step: Step, action: type[Action] | None, position: int, now: datetime
) -> StepRun:
    """The pending row for a step, with its resolved arguments and whether it changes
    anything; an unknown action counts as mutating."""
    assert run.id is not None
    args = step.resolved_args(run.params)
    return StepRun(
        run_id=run.id,
        incident_id=run.incident_id,
        step_id=step.id,
        position=position,
        kind=step.kind.value,
        action=step.uses,
        mutating=action is None or is_mutating(action, args, read_only=step.read_only),
        state=StepState.PENDING.value,
        idempotency_key=idempotency_key(run.run_key, step.id),
        args=args,
        args_hash=args_hash(args),
        created_at=now,
    )


def _step_facts(
    session: Session,
    run: RunbookRun,
    incident: Incident,
    plan: RunPlan,
    step: Step,
    action_known: bool,
    mutating: bool,
    results: Mapping[str, StepState],
    rules: AutomationRules,
) -> StepFacts:
    mode, mode_reason = _mode(session, run, plan, step, rules)
    asks_deploy = any(c.outcome == "preceded" for c in step.when)
    return StepFacts(
        step=step,
        action_known=action_known,
        mutating=mutating,
        results=results,
        run_mutated=run.mutated,
        incident_resolved=incident.status == IncidentStatus.RESOLVED,
        mode=mode,
        mode_reason=mode_reason,
        alert_starts_at=run.alert_starts_at,
        stale_after=plan.policy.limits.stale_after,
        deploy_preceded=asks_deploy and bool(changes.deploy_of(session, incident.id)),
    )


def _insert_step_row(session: Session, row: StepRun) -> bool:
    """Store the decided row; False when another replica stored the same step first."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    assert row.id is not None
    return True


def _announce_refusal(
    session: Session,
    run: RunbookRun,
    step: Step,
    refusal: Refusal,
    data: dict[str, Any],
    now: datetime,
) -> None:
    kind = (
        EventKind.AUTOMATION_PAUSED if refusal.code == "paused" else EventKind.AUTOMATION_THROTTLED
    )
    _event(
        session,
        run.incident_id,
        kind,
        f"Step {step.id} held back: {refusal.reason}",
        now=now,
        data={**data, "code": refusal.code},
    )


def _request_approval(
    session: Session,
    run: RunbookRun,
    plan: RunPlan,
    step: Step,
    row: StepRun,
    reason: str,
    data: dict[str, Any],
    rules: AutomationRules,
    now: datetime,
) -> None:
    assert run.id is not None
    assert row.id is not None
    approvers = list(plan.approvers or rules.approvers)
    session.add(
        ApprovalRequest(
            step_run_id=row.id,
            run_id=run.id,
            incident_id=run.incident_id,
            args_hash=row.args_hash,
            approvers=approvers,
            triggered_by=run.triggered_by,
            reason=reason,
            requested_at=now,
            expires_at=now + rules.approval_timeout,
        )
    )
    who = ", ".join(approvers) if approvers else "nobody (no approvers are configured)"
    _event(
        session,
        run.incident_id,
        EventKind.STEP_AWAITING_APPROVAL,
        f"Step {step.id} ({step.uses}) needs approval ({reason}); may approve: {who}",
        now=now,
        data={
            **data,
            "approvers": approvers,
            "expires_at": (now + rules.approval_timeout).isoformat(),
        },
    )


def _mode(
    session: Session, run: RunbookRun, plan: RunPlan, step: Step, rules: AutomationRules
) -> tuple[Mode, str]:
    promoted = q.is_promoted(session, run.runbook_id, run.runbook_hash)
    return effective_mode(rules.mode, plan.mode, step.mode, promoted=promoted)


def _limits(plan: RunPlan, rules: AutomationRules) -> Limits:
    limits = plan.policy.limits
    max_runs, per = limits.rate
    return Limits(
        cooldown=limits.cooldown,
        max_runs=max_runs,
        per=per,
        stale_after=limits.stale_after,
        budget=rules.budget,
        budget_per=rules.budget_per,
    )


def guard_facts(
    session: Session, run: RunbookRun, *, now: datetime, rules: AutomationRules, limits: Limits
) -> GuardFacts:
    assert run.id is not None
    pauses = [
        _describe_pause(p)
        for p in q.active_pauses(session, now=now)
        if p.scope == "global"
        or (p.scope == "runbook" and p.target == run.runbook_id)
        or (p.scope == "service" and run.service is not None and p.target == run.service)
    ]
    holder = q.target_holder(session, run.target)
    return GuardFacts(
        pauses=pauses,
        last_run_on_target=q.last_change_on_target(session, run.target, other_than=run.id),
        runs_of_runbook=q.runs_changing(
            session, run.runbook_id, since=now - limits.per, other_than=run.id
        ),
        budget_used=q.mutating_steps_since(session, now - limits.budget_per),
        target_held_by=holder if holder not in (None, run.id) else None,
    )


def _describe_pause(pause: AutomationPause) -> str:
    scope = "everything" if pause.scope == "global" else f"{pause.scope} {pause.target}"
    until = f" until {pause.expires_at.isoformat()}" if pause.expires_at else ""
    what = "circuit breaker" if pause.kind == "breaker" else f"paused by {pause.paused_by}"
    return f"{scope} ({what}{until}: {pause.reason})"


def _start(
    session: Session,
    run: RunbookRun,
    row: StepRun,
    step: Step,
    *,
    owner: str,
    rules: AutomationRules,
    now: datetime,
) -> StepWork | None:
    assert run.id is not None
    assert row.id is not None
    dry_run = row.dry_run
    if (
        row.mutating
        and not dry_run
        and not q.take_target(session, run.target, run_id=run.id, now=now)
    ):
        holder = q.target_holder(session, run.target)
        row.state, row.reason = StepState.SKIPPED.value, f"run {holder} is changing the same target"
        session.add(row)
        _event(
            session,
            run.incident_id,
            EventKind.STEP_SKIPPED,
            f"Step {step.id} skipped: {row.reason}",
            now=now,
            data=_step_data(run, row, step),
        )
        return None
    if not q.start_step(session, row.id, owner=owner, now=now, lease=now + rules.lease):
        return None
    if row.mutating and not dry_run:
        run.mutated = True
        session.add(run)
    action = rules.registry.get(step.uses)
    assert action is not None
    timeout = step.timeout.total_seconds() if step.timeout else action.default_timeout
    _event(
        session,
        run.incident_id,
        EventKind.STEP_STARTED,
        f"Step {step.id} ({step.uses}) started" + (" as a dry run" if dry_run else ""),
        now=now,
        data=_step_data(run, row, step),
    )
    return StepWork(
        run_id=run.id,
        step_run_id=row.id,
        incident_id=run.incident_id,
        step_id=step.id,
        kind=step.kind.value,
        action=step.uses,
        args=dict(row.args),
        timeout=timeout,
        retries=step.retries if step.idempotent else 0,
        poll=step.kind is StepKind.VERIFY,
        dry_run=dry_run,
        mutating=row.mutating,
        trusted=run.trusted,
        params=dict(run.params),
    )


def _step_data(run: RunbookRun, row: StepRun, step: Step | None = None) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "step_run_id": row.id,
        "step_id": row.step_id,
        "runbook_id": run.runbook_id,
        "action": row.action,
        "kind": row.kind,
        "mutating": row.mutating,
        "params": row.args,
        "args_hash": row.args_hash,
        "reason": row.reason,
        "description": step.description if step else None,
    }


# --- results ------------------------------------------------------------------------------


def finish_step(
    db: Database,
    work: StepWork,
    outcome: StepOutcome,
    *,
    owner: str,
    rules: AutomationRules,
    now: datetime,
) -> None:
    """Store a step's outcome. A step the sweep already marked interrupted stays so: its
    late result is recorded, never acted on."""
    with db.write() as session:
        row = session.get(StepRun, work.step_run_id, populate_existing=True)
        run = q.lock_run(session, work.run_id)
        assert row is not None
        assert run is not None
        data = {
            **_step_data(run, row),
            "summary": outcome.summary,
            "output": outcome.output[:OUTPUT_ON_TIMELINE],
            "exit_code": outcome.exit_code,
            "attempts": outcome.attempts,
            "refused": bool(outcome.data.get("refused")),
        }
        if row.state != StepState.RUNNING or row.claimed_by != owner:
            _event(
                session,
                work.incident_id,
                EventKind.STEP_LATE_RESULT,
                f"Step {work.step_id} finished after it was marked {row.state}: "
                f"{outcome.summary} (not acted on)",
                now=now,
                data=data,
            )
            return
        row.state = outcome.state.value
        row.summary, row.output = outcome.summary, outcome.output
        row.exit_code, row.attempts = outcome.exit_code, outcome.attempts
        row.finished_at, row.lease_until = now, None
        if outcome.data.get("refused"):
            row.reason = outcome.summary
        session.add(row)
        verb = {
            StepState.SUCCEEDED: "succeeded",
            StepState.FAILED: "failed",
            StepState.TIMED_OUT: "timed out",
            StepState.DRY_RUN: "dry run",
        }.get(outcome.state, outcome.state.value)
        _event(
            session,
            work.incident_id,
            EventKind.step(outcome.state.value),
            f"Step {work.step_id} ({work.action}) {verb}: {outcome.summary}",
            now=now,
            data=data,
        )
        run.updated_at = now
        session.add(run)
        if outcome.state is StepState.INTERRUPTED:
            _finish(session, run, "interrupted", now, f"step {work.step_id} was interrupted")
            incident = session.get(Incident, run.incident_id)
            if incident is not None:
                _escalate(session, incident, rules, now, f"step {work.step_id} was interrupted")


def _conclude_steps(
    session: Session,
    run: RunbookRun,
    incident: Incident,
    plan: RunPlan,
    results: Mapping[str, StepState],
    rules: AutomationRules,
    now: datetime,
) -> None:
    """Every step is decided: judge the run, or wait for the alert to resolve."""
    if run.verification is not None:  # the rollbacks after a failed verification are done
        _finish(session, run, "failed", now, f"rolled back after verification {run.verification}")
        return
    if not run.mutated:
        _finish(session, run, "finished", now, "nothing was changed")
        return
    verify_states = [
        results[s.id] for s in plan.steps if s.kind is StepKind.VERIFY and s.id in results
    ]
    decision = decide_verification(
        verify_states,
        wait_for_resolution=plan.verify is not None and plan.verify.alert_resolved,
        incident_resolved=incident.status == IncidentStatus.RESOLVED,
    )
    if decision.verdict is not None:
        _verdict(session, run, incident, plan, decision.verdict, decision.detail, rules, now)
        return
    assert plan.verify is not None
    run.status, run.verify_deadline = "verifying", now + plan.verify.within
    _release(run, "verifying", now)
    session.add(run)
    _event(
        session,
        run.incident_id,
        EventKind.VERIFICATION_WAITING,
        f"Waiting up to {format_duration(plan.verify.within)} for the alert to resolve",
        now=now,
        data={"run_id": run.id, "deadline": run.verify_deadline.isoformat()},
    )


def _verdict(
    session: Session,
    run: RunbookRun,
    incident: Incident,
    plan: RunPlan,
    verdict: str,
    detail: str,
    rules: AutomationRules,
    now: datetime,
) -> None:
    """Record the verification; a failure rolls back where declared, feeds the circuit
    breaker and escalates."""
    run.verification = verdict
    run.updated_at = now
    text = {
        "passed": "Verification passed",
        "failed": "Verification failed",
        "inconclusive": "Verification inconclusive",
    }[verdict]
    _event(
        session,
        run.incident_id,
        EventKind.verification(verdict),
        f"{text}: {detail}",
        now=now,
        data={"run_id": run.id, "runbook_id": run.runbook_id, "detail": detail},
    )
    if verdict == "passed":
        _finish(session, run, "succeeded", now, detail)
        return
    _trip_breaker_if_due(session, run, plan, now)
    _escalate(session, incident, rules, now, f"verification {verdict} for runbook {run.runbook_id}")
    assert run.id is not None
    rows = {r.step_id: r for r in q.steps_of_run(session, run.id)}
    succeeded = {sid for sid, r in rows.items() if r.state == StepState.SUCCEEDED}
    rollbacks_left = any(s.id not in rows for s in plan.rollback_steps(succeeded))
    if after_verdict(verdict, rollbacks_left=rollbacks_left) == "rollback":
        _release(run, "pending", now)  # the runner comes back for the rollback steps
        session.add(run)
        return
    _finish(session, run, "failed", now, detail)


def _trip_breaker_if_due(session: Session, run: RunbookRun, plan: RunPlan, now: datetime) -> None:
    threshold = plan.policy.circuit_breaker.consecutive_failures
    session.flush()
    breaker = decide_breaker(
        q.recent_verdicts(session, run.runbook_id, limit=threshold + 1),
        threshold=threshold,
        reset_at=q.last_breaker_reset(session, run.runbook_id),
        current_unfinished=run.finished_at is None,
        already_paused=any(
            p.scope == "runbook" and p.target == run.runbook_id and p.kind == "breaker"
            for p in q.active_pauses(session, now=now)
        ),
    )
    if not breaker.trip:
        return
    streak = breaker.streak
    reason = f"{streak} consecutive failed or inconclusive verifications"
    session.add(
        AutomationPause(
            scope="runbook",
            target=run.runbook_id,
            kind="breaker",
            paused_by=ACTOR,
            reason=reason,
            created_at=now,
        )
    )
    _event(
        session,
        run.incident_id,
        EventKind.AUTOMATION_BREAKER_TRIPPED,
        f"Circuit breaker: runbook {run.runbook_id} is paused after {reason}; "
        "a person must resume it",
        now=now,
        data={"runbook_id": run.runbook_id, "streak": streak},
    )


def _finish(session: Session, run: RunbookRun, status: str, now: datetime, detail: str) -> None:
    assert run.id is not None
    run.status, run.finished_at, run.updated_at = status, now, now
    run.claimed_by, run.lease_until = None, None
    session.add(run)
    q.release_target(session, run_id=run.id)
    _event(
        session,
        run.incident_id,
        EventKind.RUN_FINISHED,
        f"Runbook {run.runbook_id} run {run.id} {status}: {detail}",
        now=now,
        data={
            "run_id": run.id,
            "runbook_id": run.runbook_id,
            "status": status,
            "verification": run.verification,
        },
    )


def _release(run: RunbookRun, status: str, now: datetime) -> None:
    run.status, run.updated_at = status, now
    run.claimed_by, run.lease_until = None, None


def _refuse(
    session: Session, run: RunbookRun, incident: Incident, rules: AutomationRules, now: datetime
) -> None:
    bad = "; ".join(f"{k}: {v}" for k, v in sorted(run.param_errors.items()))
    _event(
        session,
        run.incident_id,
        EventKind.AUTOMATION_REFUSED,
        f"Runbook {run.runbook_id} will not run: parameters refused ({bad})",
        now=now,
        data={"run_id": run.id, "runbook_id": run.runbook_id, "param_errors": run.param_errors},
    )
    run.status, run.finished_at, run.updated_at = "refused", now, now
    run.claimed_by, run.lease_until = None, None
    session.add(run)
    _escalate(session, incident, rules, now, f"runbook {run.runbook_id} refused its parameters")


def _escalate(
    session: Session, incident: Incident, rules: AutomationRules, now: datetime, why: str
) -> None:
    if rules.escalation is None or incident.status == IncidentStatus.RESOLVED:
        return
    try:
        escalation.jump(
            session,
            incident,
            rules=rules.escalation,
            now=now,
            actor=f"{ACTOR} ({why})",
            requester=Requester.AUTOMATION,
        )
    except ConflictError as exc:
        log.info("incident %s not escalated: %s", incident.id, exc)


# --- the sweep ----------------------------------------------------------------------------


def sweep(db: Database, *, rules: AutomationRules, now: datetime) -> int:
    """Interrupt steps whose owner died, expire approvals, judge waiting verifications.
    Returns how many runs became runnable again."""
    with db.session() as session:  # most ticks find nothing: no write lock for them
        if not q.sweep_due(session, now=now):
            return 0
    woken = 0
    with db.write() as session:
        for row in q.abandoned_steps(session, now=now):
            run = q.lock_run(session, row.run_id)
            assert run is not None
            row.state, row.finished_at = StepState.INTERRUPTED.value, now
            row.reason = "the process running it stopped; it is not run again"
            session.add(row)
            _event(
                session,
                row.incident_id,
                EventKind.STEP_INTERRUPTED,
                f"Step {row.step_id} ({row.action}) was interrupted: {row.reason}",
                now=now,
                data=_step_data(run, row),
            )
            incident = session.get(Incident, run.incident_id)
            _finish(session, run, "interrupted", now, f"step {row.step_id} was interrupted")
            if incident is not None:
                _escalate(session, incident, rules, now, f"step {row.step_id} was interrupted")
        for approval in q.expired_approvals(session, now=now):
            waiting = session.get(StepRun, approval.step_run_id, populate_existing=True)
            run = q.lock_run(session, approval.run_id)
            assert waiting is not None
            assert run is not None
            row = waiting
            approval.decision, approval.decided_at = "expired", now
            session.add(approval)
            if row.state == StepState.AWAITING_APPROVAL:
                row.state, row.finished_at = StepState.REJECTED.value, now
                row.reason = "nobody approved it in time"
                session.add(row)
                _event(
                    session,
                    row.incident_id,
                    EventKind.STEP_REJECTED,
                    f"Step {row.step_id}: the approval request expired unanswered",
                    now=now,
                    data=_step_data(run, row),
                )
                _release(run, "pending", now)
                session.add(run)
                woken += 1
                incident = session.get(Incident, run.incident_id)
                if incident is not None:
                    _escalate(session, incident, rules, now, f"approval of {row.step_id} expired")
        for run in q.verifying_runs(session):
            incident = session.get(Incident, run.incident_id)
            assert incident is not None
            assert run.verify_deadline is not None
            plan = RunPlan.from_json(run.plan)
            if incident.status == IncidentStatus.RESOLVED:
                _verdict(session, run, incident, plan, "passed", "the alert resolved", rules, now)
            elif now >= run.verify_deadline:
                _verdict(
                    session,
                    run,
                    incident,
                    plan,
                    "failed",
                    "the alert still fires after the verification window",
                    rules,
                    now,
                )
                woken += run.status == "pending"
    return woken


# --- people -------------------------------------------------------------------------------


def approvers_of(db: Database, step_run_id: int) -> tuple[int | None, tuple[str, ...]]:
    """The step's incident and who its approval request names (empty when there is none),
    read before deciding so user groups are resolved outside the deciding transaction."""
    with db.session() as session:
        row = session.get(StepRun, step_run_id)
        if row is None:
            return None, ()
        return row.incident_id, tuple(q.approvers_of(session, step_run_id))


def decide_approval(
    db: Database,
    step_run_id: int,
    *,
    by: str,
    approve: bool,
    expected_hash: str | None,
    note: str | None,
    now: datetime,
    by_aliases: frozenset[str] = frozenset(),
) -> StepRun:
    """Approve or reject a step waiting for approval. A refusal (not allowed, own run,
    changed parameters, expired) is recorded on the timeline and raised."""
    refusal: Exception | None = None
    with db.write() as session:
        row = session.get(StepRun, step_run_id, populate_existing=True)
        if row is None:
            raise NotFoundError(f"step run {step_run_id} does not exist")
        approval = q.approval_for(session, step_run_id)
        run = q.lock_run(session, row.run_id)
        assert run is not None
        if approval is None or row.state != StepState.AWAITING_APPROVAL or approval.decision:
            raise ConflictError(f"step run {step_run_id} is {row.state}, not awaiting approval")
        refused = approval_refusal(
            ApprovalFacts(
                triggered_by=approval.triggered_by,
                approvers=tuple(approval.approvers),
                args_hash=approval.args_hash,
                stored_args_hash=args_hash(row.args),
                expires_at=approval.expires_at,
            ),
            by=by,
            expected_hash=expected_hash,
            now=now,
            by_aliases=by_aliases,
        )
        if refused is not None:
            error = ConflictError if refused.kind == "conflict" else PermissionDeniedError
            refusal = error(refused.message)
        verb = "approve" if approve else "reject"
        if refusal is not None:
            _event(
                session,
                row.incident_id,
                EventKind.APPROVAL_REFUSED,
                f"{by} may not {verb} step {row.step_id}: {refusal}",
                now=now,
                actor=by,
                data={**_step_data(run, row), "by": by},
            )
        else:
            approval.decision = "approved" if approve else "rejected"
            approval.decided_by, approval.decided_at, approval.note = by, now, note
            session.add(approval)
            if approve:
                row.state = StepState.PENDING.value
                row.reason = f"approved by {by}"
            else:
                row.state, row.finished_at = StepState.REJECTED.value, now
                row.reason = f"rejected by {by}" + (f": {note}" if note else "")
            session.add(row)
            kind = EventKind.STEP_APPROVED if approve else EventKind.STEP_REJECTED
            _event(
                session,
                row.incident_id,
                kind,
                f"Step {row.step_id} {'approved' if approve else 'rejected'} by {by}"
                + (f": {note}" if note else ""),
                now=now,
                actor=by,
                data={**_step_data(run, row), "approved_by": by if approve else None},
            )
            _release(run, "pending", now)
            session.add(run)
    if refusal is not None:
        raise refusal
    return row


def pause(
    db: Database,
    *,
    scope: str,
    target: str,
    by: str,
    reason: str,
    until: datetime | None,
    now: datetime,
) -> AutomationPause:
    if scope not in ("global", "runbook", "service"):
        raise InvalidInputError(f"scope is global, runbook or service, not {scope!r}")
    if scope != "global" and not target:
        raise InvalidInputError(f"a {scope} pause names its {scope}")
    with db.write() as session:
        row = AutomationPause(
            scope=scope,
            target="" if scope == "global" else target,
            paused_by=by,
            reason=reason,
            created_at=now,
            expires_at=until,
        )
        session.add(row)
        session.flush()
    log.warning("automation paused (%s %s) by %s: %s", scope, target or "", by, reason)
    return row


def resume(
    db: Database, *, scope: str, target: str, by: str, now: datetime
) -> list[AutomationPause]:
    """Lift every active pause of this scope (a circuit breaker included): recorded with who."""
    with db.write() as session:
        lifted = [
            p
            for p in q.active_pauses(session, now=now)
            if p.scope == scope and (scope == "global" or p.target == target)
        ]
        for pause_row in lifted:
            pause_row.lifted_at, pause_row.lifted_by = now, by
            session.add(pause_row)
    log.warning(
        "automation resumed (%s %s) by %s: %d pauses lifted", scope, target, by, len(lifted)
    )
    return lifted


def pauses(db: Database, *, now: datetime) -> list[AutomationPause]:
    with db.session() as session:
        return q.active_pauses(session, now=now)


def promote(db: Database, runbook: Runbook, *, by: str, now: datetime) -> bool:
    with db.write() as session:
        return q.promote(session, runbook.id, runbook.hash, by=by, now=now)


def is_promoted(db: Database, runbook: Runbook) -> bool:
    with db.session() as session:
        return q.is_promoted(session, runbook.id, runbook.hash)


def runs_of(db: Database, incident_id: int) -> list[tuple[RunbookRun, list[StepRun]]]:
    with db.session() as session:
        if session.get(Incident, incident_id) is None:
            raise NotFoundError(f"incident {incident_id} does not exist")
        return [
            (run, q.steps_of_run(session, run.id))
            for run in q.runs_of_incident(session, incident_id)
            if run.id is not None
        ]


def post_message(db: Database, incident_id: int, text: str, *, now: datetime) -> None:
    """What a ``notify`` step says, on the incident's timeline (Slack posts it from there)."""
    with db.write() as session:
        _event(session, incident_id, EventKind.RUNBOOK_MESSAGE, text, now=now)
