"""Pure automation decisions: how a step is gated, given plain facts and the clock.

The runner loads the facts from the database and stores the decision; ``fireline
simulate`` builds the same facts from a payload and prints the decision. Neither
re-derives the gating tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

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


def unmet_condition(step: Step, results: Mapping[str, StepState]) -> str | None:
    """The first ``when`` condition that earlier steps' results do not satisfy."""
    for condition in step.when:
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
    unmet = unmet_condition(step, facts.results)
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
