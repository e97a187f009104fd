"""The pure automation decisions: modes, gates and guards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from actions.gates import (
    Gate,
    GuardFacts,
    Limits,
    Mode,
    args_hash,
    check_guards,
    decide_gate,
    strictest,
    target_of,
)

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
LIMITS = Limits(
    cooldown=timedelta(minutes=30),
    max_runs=3,
    per=timedelta(hours=1),
    stale_after=timedelta(minutes=15),
    budget=20,
    budget_per=timedelta(hours=1),
)


def test_the_strictest_mode_wins() -> None:
    assert strictest("auto", "approve") == "approve"
    assert strictest("auto", "dry-run", "approve") == "dry-run"
    assert strictest("approve", "suggest", "auto") == "suggest"
    assert strictest("auto", "off") == "off"
    assert strictest("auto") == "auto"


@pytest.mark.parametrize(
    ("mode", "mutating", "safe", "stale", "gate"),
    [
        ("off", False, True, False, Gate.SKIP),
        ("suggest", False, False, False, Gate.RUN),  # diagnosis runs in every mode but off
        ("suggest", True, True, False, Gate.SKIP),
        ("dry-run", True, True, False, Gate.DRY_RUN),
        ("approve", True, True, False, Gate.APPROVAL),
        ("auto", True, False, False, Gate.APPROVAL),  # not marked safe
        ("auto", True, True, True, Gate.APPROVAL),  # stale alert: never automatic
        ("auto", True, True, False, Gate.RUN),
    ],
)
def test_the_gate_a_step_meets(
    mode: Mode, mutating: bool, safe: bool, stale: bool, gate: Gate
) -> None:
    plan = decide_gate(
        mode=mode, mode_reason="test", mutating=mutating, safe=safe, stale=stale, refusal=None
    )
    assert plan.gate is gate


def test_a_guard_refusal_skips_even_an_approval() -> None:
    refusal = check_guards(
        GuardFacts(pauses=["everything (paused by U1: deploy)"]), LIMITS, now=NOW
    )
    assert refusal is not None
    plan = decide_gate(
        mode="approve", mode_reason="x", mutating=True, safe=True, stale=False, refusal=refusal
    )
    assert plan.gate is Gate.SKIP
    assert "paused" in plan.reason


@pytest.mark.parametrize(
    ("facts", "code"),
    [
        (GuardFacts(), None),
        (GuardFacts(pauses=["runbook x"]), "paused"),
        (GuardFacts(target_held_by=7), "busy"),
        (GuardFacts(last_run_on_target=NOW - timedelta(minutes=10)), "cooldown"),
        (GuardFacts(last_run_on_target=NOW - timedelta(minutes=31)), None),
        (GuardFacts(runs_of_runbook=3), "rate_limited"),
        (GuardFacts(runs_of_runbook=2), None),
        (GuardFacts(budget_used=20), "budget"),
    ],
)
def test_guards(facts: GuardFacts, code: str | None) -> None:
    refusal = check_guards(facts, LIMITS, now=NOW)
    assert (refusal.code if refusal else None) == code


def test_identity_is_canonical() -> None:
    assert args_hash({"a": 1, "b": [1, 2]}) == args_hash({"b": [1, 2], "a": 1})
    assert args_hash({"a": 1}) != args_hash({"a": 2})
    assert target_of("rb", {"namespace": "shop", "deployment": "web"}) == (
        "deployment=web,namespace=shop"
    )
    assert target_of("rb", {}) == "runbook:rb"
