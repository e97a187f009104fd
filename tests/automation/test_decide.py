"""The step gating tree as a pure function: plain facts in, a decision out, a fixed clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from actions.gates import GuardFacts, Limits, StepState
from bot.automation.decide import StepFacts, decide_step, needs_guards, unmet_condition
from bot.runbooks.model import Step, StepCondition, StepKind

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = Limits(
    cooldown=timedelta(minutes=10),
    max_runs=3,
    per=timedelta(hours=1),
    stale_after=timedelta(minutes=30),
    budget=20,
    budget_per=timedelta(hours=1),
)


def _step(**changes: object) -> Step:
    base: dict[str, object] = {
        "id": "restart",
        "kind": StepKind.REMEDIATE,
        "uses": "kubernetes.restart",
        "safe": True,
        "file": "r.md",
        "line": 1,
    }
    return Step.model_validate({**base, **changes})


def _facts(**changes: object) -> StepFacts:
    facts = StepFacts(
        step=_step(),
        action_known=True,
        mutating=True,
        results={},
        run_mutated=False,
        incident_resolved=False,
        mode="auto",
        mode_reason="global mode",
        alert_starts_at=NOW - timedelta(minutes=1),
        stale_after=timedelta(minutes=30),
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def test_a_safe_fresh_mutating_step_in_auto_mode_runs() -> None:
    decision = decide_step(_facts(), GuardFacts(), LIMITS, now=NOW)
    assert decision.state is StepState.PENDING
    assert not decision.dry_run
    assert decision.refusal is None


def test_an_unknown_action_fails_before_anything_else() -> None:
    decision = decide_step(_facts(action_known=False), None, LIMITS, now=NOW)
    assert decision.state is StepState.FAILED
    assert "unknown action 'kubernetes.restart'" in decision.reason


def test_dry_run_is_a_flag_and_not_part_of_the_reason() -> None:
    decision = decide_step(_facts(mode="dry-run"), None, LIMITS, now=NOW)
    assert decision.state is StepState.PENDING
    assert decision.dry_run
    assert not decision.reason.startswith("dry-run:")


def test_approve_mode_waits_for_a_person() -> None:
    decision = decide_step(_facts(mode="approve"), GuardFacts(), LIMITS, now=NOW)
    assert decision.awaits_approval
    assert decision.reason.startswith("approve mode")


def test_suggest_and_off_skip_mutating_steps() -> None:
    for mode in ("suggest", "off"):
        decision = decide_step(_facts(mode=mode), None, LIMITS, now=NOW)
        assert decision.state is StepState.SKIPPED, mode


def test_a_read_only_step_runs_in_suggest_mode_but_not_when_off() -> None:
    assert decide_step(_facts(mutating=False, mode="suggest"), None, LIMITS, now=NOW).state is (
        StepState.PENDING
    )
    assert decide_step(_facts(mutating=False, mode="off"), None, LIMITS, now=NOW).state is (
        StepState.SKIPPED
    )


def test_a_pause_holds_the_step_back_with_its_refusal() -> None:
    guards = GuardFacts(pauses=["everything (paused by ana: deploy freeze)"])
    decision = decide_step(_facts(), guards, LIMITS, now=NOW)
    assert decision.state is StepState.SKIPPED
    assert decision.refusal is not None
    assert decision.refusal.code == "paused"


def test_the_cooldown_is_measured_against_the_given_clock() -> None:
    recent = GuardFacts(last_run_on_target=NOW - timedelta(minutes=5))
    old = GuardFacts(last_run_on_target=NOW - timedelta(minutes=11))
    assert decide_step(_facts(), recent, LIMITS, now=NOW).refusal is not None
    assert decide_step(_facts(), old, LIMITS, now=NOW).state is StepState.PENDING


def test_a_stale_alert_or_an_unsafe_step_needs_approval() -> None:
    stale = _facts(alert_starts_at=NOW - timedelta(minutes=31))
    assert decide_step(stale, GuardFacts(), LIMITS, now=NOW).awaits_approval
    unsafe = _facts(step=_step(safe=False))
    assert decide_step(unsafe, GuardFacts(), LIMITS, now=NOW).awaits_approval


def test_a_condition_on_an_earlier_step_gates_the_step() -> None:
    step = _step(when=[StepCondition(step="check", outcome="failed")])
    unmet = decide_step(
        _facts(step=step, results={"check": StepState.SUCCEEDED}), None, LIMITS, now=NOW
    )
    assert unmet.state is StepState.SKIPPED
    assert "check.failed does not hold" in unmet.reason
    met = _facts(step=step, results={"check": StepState.TIMED_OUT})
    assert decide_step(met, GuardFacts(), LIMITS, now=NOW).state is StepState.PENDING
    assert unmet_condition(step, {}) == "condition check.failed does not hold (check did not run)"


def test_verify_is_skipped_when_nothing_changed_and_mutations_wait_on_resolved() -> None:
    verify = _facts(step=_step(kind=StepKind.VERIFY), mutating=False)
    assert decide_step(verify, None, LIMITS, now=NOW).state is StepState.SKIPPED
    assert decide_step(replace(verify, run_mutated=True), None, LIMITS, now=NOW).state is (
        StepState.PENDING
    )
    resolved = decide_step(_facts(incident_resolved=True), None, LIMITS, now=NOW)
    assert resolved.reason == "the incident resolved before this step"


def test_guards_are_loaded_only_for_mutating_steps_that_could_run() -> None:
    assert needs_guards(_facts(mode="auto"))
    assert needs_guards(_facts(mode="approve"))
    assert not needs_guards(_facts(mode="dry-run"))
    assert not needs_guards(_facts(mutating=False))


def test_a_failed_verify_step_fails_the_run_before_anything_else() -> None:
    from bot.automation.decide import decide_verification

    failed = decide_verification(
        [StepState.SUCCEEDED, StepState.FAILED, StepState.TIMED_OUT],
        wait_for_resolution=True,
        incident_resolved=True,
    )
    assert failed.verdict == "failed"
    timed_out = decide_verification(
        [StepState.TIMED_OUT], wait_for_resolution=True, incident_resolved=True
    )
    assert timed_out.verdict == "inconclusive"


def test_verification_waits_for_the_alert_only_while_it_fires() -> None:
    from bot.automation.decide import decide_verification

    firing = decide_verification([], wait_for_resolution=True, incident_resolved=False)
    assert firing.verdict is None
    resolved = decide_verification([], wait_for_resolution=True, incident_resolved=True)
    assert (resolved.verdict, resolved.detail) == ("passed", "the alert resolved")
    held = decide_verification(
        [StepState.SUCCEEDED], wait_for_resolution=False, incident_resolved=False
    )
    assert held.verdict == "passed"
    nothing = decide_verification([], wait_for_resolution=False, incident_resolved=True)
    assert nothing.verdict == "inconclusive"
    assert "no verification" in nothing.detail


def test_only_a_failed_verdict_with_rollbacks_left_rolls_back() -> None:
    from bot.automation.decide import after_verdict

    assert after_verdict("passed", rollbacks_left=True) == "succeeded"
    assert after_verdict("failed", rollbacks_left=True) == "rollback"
    assert after_verdict("failed", rollbacks_left=False) == "failed"
    assert after_verdict("inconclusive", rollbacks_left=True) == "failed"


def test_the_breaker_counts_back_to_the_last_pass_or_reset() -> None:
    from bot.automation.decide import decide_breaker

    hour = timedelta(hours=1)
    recent = [("failed", NOW - hour), ("inconclusive", NOW - 2 * hour), ("passed", NOW - 3 * hour)]
    tripped = decide_breaker(
        recent, threshold=3, reset_at=None, current_unfinished=True, already_paused=False
    )
    assert (tripped.trip, tripped.streak) == (True, 3)
    finished = decide_breaker(
        recent, threshold=3, reset_at=None, current_unfinished=False, already_paused=False
    )
    assert (finished.trip, finished.streak) == (False, 2)
    after_reset = decide_breaker(
        recent,
        threshold=3,
        reset_at=NOW - 90 * timedelta(minutes=1),
        current_unfinished=True,
        already_paused=False,
    )
    assert (after_reset.trip, after_reset.streak) == (False, 2)
    paused = decide_breaker(
        recent, threshold=3, reset_at=None, current_unfinished=True, already_paused=True
    )
    assert (paused.trip, paused.streak) == (False, 3)


def test_approval_rules_in_order() -> None:
    from bot.automation.decide import ApprovalFacts, approval_refusal

    facts = ApprovalFacts(
        triggered_by="U-ON-CALL",
        approvers=("U-LEAD",),
        args_hash="h1",
        stored_args_hash="h1",
        expires_at=NOW + timedelta(minutes=15),
    )
    assert approval_refusal(facts, by="U-LEAD", expected_hash="h1", now=NOW) is None
    assert approval_refusal(facts, by="U-LEAD", expected_hash=None, now=NOW) is None

    def refused(f: ApprovalFacts, by: str = "U-LEAD", expected: str | None = None) -> str:
        refusal = approval_refusal(f, by=by, expected_hash=expected, now=NOW)
        assert refusal is not None
        return f"{refusal.kind}: {refusal.message}"

    expired = replace(facts, expires_at=NOW)
    assert refused(expired, by="U-ON-CALL") == "conflict: the approval request has expired"
    assert refused(replace(facts, triggered_by="U-LEAD")).startswith("permission: U-LEAD started")
    assert "no approvers are configured" in refused(replace(facts, approvers=()))
    assert refused(facts, by="U-OTHER") == (
        "permission: U-OTHER is not among this runbook's approvers"
    )
    assert "changed since the request" in refused(facts, expected="h2")
    assert "stored parameters do not match" in refused(replace(facts, stored_args_hash="h2"))
