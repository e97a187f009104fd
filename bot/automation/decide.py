"""Pure automation decisions: how a step is gated, given plain facts and the clock.

The runner loads the facts from the database and stores the decision; ``fireline
simulate`` builds the same facts from a payload and prints the decision. Neither
re-derives the gating tree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from actions.gates import (
    Gate,
    GuardFacts,
    Limits,
    Mode,
    Refusal,
    StepState,
    check_guards,
    decide_gate,
)
from bot.runbooks.model import Step, StepKind

# What ``when: STEP.OUTCOME`` sees of each finished state.
CONDITION_OUTCOME = {
    StepState.SUCCEEDED: "succeeded",
    StepState.FAILED: "failed",
    StepState.TIMED_OUT: "failed",
}


@dataclass(frozen=True)
class StepFacts:
    """What gating one step depends on, already loaded."""

    step: Step
    action_known: bool
    mutating: bool
    results: Mapping[str, StepState]
    run_mutated: bool
    incident_resolved: bool
    mode: Mode
    mode_reason: str
    alert_starts_at: datetime
    stale_after: timedelta
    deploy_preceded: bool = False  # a deploy of the service came shortly before the alert


@dataclass(frozen=True)
class StepDecision:
    """The state a new step row starts in, why, and whether it runs as a dry run."""

    state: StepState
    reason: str
    dry_run: bool = False
    refusal: Refusal | None = None
    gate: Gate = Gate.SKIP

    @property
    def awaits_approval(self) -> bool:
        return self.state is StepState.AWAITING_APPROVAL


def unmet_condition(
    step: Step, results: Mapping[str, StepState], *, deploy_preceded: bool = False
) -> str | None:
    """The first ``when`` condition that earlier steps' results (or the incident's
    changes, for ``deploy.preceded``) do not satisfy."""
    for condition in step.when:
        if condition.outcome == "preceded":
            if not deploy_preceded:
                return f"condition {condition} does not hold (no deploy preceded the alert)"
            continue
        state = results.get(condition.step)
        seen = CONDITION_OUTCOME.get(state, "skipped") if state is not None else "skipped"
        if seen != condition.outcome:
            return (
                f"condition {condition} does not hold ({condition.step} {state or 'did not run'})"
            )
    return None


def needs_guards(facts: StepFacts) -> bool:
    """Whether the guards (pauses, cooldown, rate, budget) must be loaded for this step."""
    return facts.mutating and facts.mode in ("auto", "approve")


def decide_step(
    facts: StepFacts, guards: GuardFacts | None, limits: Limits, *, now: datetime
) -> StepDecision:
    """Gate one step. ``guards`` is needed only when ``needs_guards(facts)``; None there
    means no guard holds the step back."""
    step = facts.step
    if not facts.action_known:
        return StepDecision(StepState.FAILED, f"unknown action {step.uses!r}", gate=Gate.SKIP)
    unmet = unmet_condition(step, facts.results, deploy_preceded=facts.deploy_preceded)
    if unmet:
        return StepDecision(StepState.SKIPPED, unmet)
    if step.kind is StepKind.VERIFY and not facts.run_mutated:
        return StepDecision(StepState.SKIPPED, "nothing was changed, so nothing to verify")
    if facts.mutating and facts.incident_resolved:
        return StepDecision(StepState.SKIPPED, "the incident resolved before this step")
    refusal = (
        check_guards(guards, limits, now=now)
        if guards is not None and needs_guards(facts)
        else None
    )
    gate = decide_gate(
        mode=facts.mode,
        mode_reason=facts.mode_reason,
        mutating=facts.mutating,
        safe=step.safe,
        stale=now - facts.alert_starts_at > facts.stale_after,
        refusal=refusal,
    )
    state = {
        Gate.SKIP: StepState.SKIPPED,
        Gate.APPROVAL: StepState.AWAITING_APPROVAL,
    }.get(gate.gate, StepState.PENDING)
    return StepDecision(
        state, gate.reason, dry_run=gate.gate is Gate.DRY_RUN, refusal=refusal, gate=gate.gate
    )


def assumed_results(step: Step) -> dict[str, StepState]:
    """Earlier steps' results that satisfy every ``when`` of ``step``: what a preview
    assumes so that it shows the gate the step meets once its conditions hold."""
    wanted = {"succeeded": StepState.SUCCEEDED, "failed": StepState.FAILED}
    return {c.step: wanted[c.outcome] for c in step.when if c.outcome in wanted}


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationDecision:
    """A run's verdict and why; ``verdict`` None means wait for the alert to resolve."""

    verdict: str | None
    detail: str


def decide_verification(
    verify_states: Sequence[StepState], *, wait_for_resolution: bool, incident_resolved: bool
) -> VerificationDecision:
    """Judge a run that changed something, from its verify steps' states and whether the
    runbook waits for the alert to resolve."""
    if StepState.FAILED in verify_states:
        return VerificationDecision("failed", "a verify step's condition did not hold")
    if StepState.TIMED_OUT in verify_states:
        return VerificationDecision("inconclusive", "a verify step timed out")
    if wait_for_resolution:
        if incident_resolved:
            return VerificationDecision("passed", "the alert resolved")
        return VerificationDecision(None, "waiting for the alert to resolve")
    if StepState.SUCCEEDED in verify_states:
        return VerificationDecision("passed", "every verify step's condition held")
    return VerificationDecision("inconclusive", "the runbook declares no verification")


def after_verdict(verdict: str, *, rollbacks_left: bool) -> str:
    """What a recorded verdict does to its run: ``succeeded``, ``rollback`` (the runner
    comes back for the rollback steps) or ``failed``."""
    if verdict == "passed":
        return "succeeded"
    if verdict == "failed" and rollbacks_left:
        return "rollback"
    return "failed"


# --- circuit breaker ----------------------------------------------------------------------


@dataclass(frozen=True)
class BreakerDecision:
    trip: bool
    streak: int


def decide_breaker(
    recent: Sequence[tuple[str, datetime]],
    *,
    threshold: int,
    reset_at: datetime | None,
    current_unfinished: bool,
    already_paused: bool,
) -> BreakerDecision:
    """Whether a non-passing verdict trips the runbook's breaker. ``recent`` holds the
    runbook's latest verdicts, newest first; the streak stops at a pass or at the last
    reset. The current run, not yet finished, is not among them and counts too."""
    streak = 0
    for verdict, finished_at in recent:
        if verdict == "passed" or (reset_at is not None and finished_at <= reset_at):
            break
        streak += 1
    streak += 1 if current_unfinished else 0
    return BreakerDecision(trip=streak >= threshold and not already_paused, streak=streak)


# --- approvals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalFacts:
    """A pending approval request and the step row it guards."""

    triggered_by: str
    approvers: Sequence[str]
    args_hash: str
    stored_args_hash: str
    expires_at: datetime


@dataclass(frozen=True)
class ApprovalRefusal:
    """Why a person may not decide; ``conflict`` is about the request's state, the
    other kind (``permission``) about who asks."""

    kind: Literal["conflict", "permission"]
    message: str


def approval_refusal(
    facts: ApprovalFacts,
    *,
    by: str,
    expected_hash: str | None,
    now: datetime,
    by_aliases: frozenset[str] = frozenset(),
) -> ApprovalRefusal | None:
    """Whether ``by`` may approve or reject the step: the request has not expired, they
    did not start the run, they are an approver, and the parameters are the ones asked.
    ``by_aliases`` are the other names ``by`` is known by: their person id, Slack user and
    the Slack user groups they are in, so an approver listed as a group matches."""
    names = by_aliases | {by}
    if now >= facts.expires_at:
        return ApprovalRefusal("conflict", "the approval request has expired")
    if facts.triggered_by in names:
        return ApprovalRefusal("permission", f"{by} started this run and cannot approve its steps")
    if not facts.approvers:
        return ApprovalRefusal(
            "permission",
            "no approvers are configured: list them in the runbook's approvers "
            "or in FIRELINE_APPROVERS",
        )
    if not names.intersection(facts.approvers):
        return ApprovalRefusal("permission", f"{by} is not among this runbook's approvers")
    if expected_hash is not None and expected_hash != facts.args_hash:
        return ApprovalRefusal(
            "conflict", "the step's parameters changed since the request was made"
        )
    if facts.stored_args_hash != facts.args_hash:
        return ApprovalRefusal(
            "conflict", "the step's stored parameters do not match the approved ones"
        )
    return None
