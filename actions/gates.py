"""The safe-automation decisions, pure: which gate a step meets (mode, safety, guards,
staleness), the idempotency key that makes a mutating step at-most-once, and the hash that
binds an approval to a step's resolved parameters. ``actions.engine`` runs what they allow.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from actions.durations import format_duration

Mode = Literal["suggest", "approve", "auto", "dry-run", "off"]
# From most to least permissive: the effective mode is the strictest one that applies.
MODE_ORDER: tuple[Mode, ...] = ("auto", "approve", "dry-run", "suggest", "off")
SECRET_REF = "secrets."  # noqa: S105 - the prefix of a reference, not a secret


class StepState(StrEnum):
    PENDING = "pending"
    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    REJECTED = "rejected"
    DRY_RUN = "dry_run"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self not in (StepState.PENDING, StepState.AWAITING_APPROVAL, StepState.RUNNING)


class Gate(StrEnum):
    RUN = "run"
    DRY_RUN = "dry_run"
    APPROVAL = "approval"
    SKIP = "skip"


def strictest(*modes: Mode | None) -> Mode:
    given = [m for m in modes if m is not None]
    return max(given, key=MODE_ORDER.index) if given else "suggest"


def effective_mode(
    global_mode: Mode, runbook_mode: Mode, step_mode: Mode | None, *, promoted: bool | None
) -> tuple[Mode, str]:
    """The strictest of the global, runbook and step modes, and ``suggest`` for a runbook
    version nobody has promoted (``promoted`` None: not known), with the reason."""
    candidates: list[tuple[Mode, str]] = [
        (global_mode, "global mode"),
        (runbook_mode, "runbook mode"),
    ]
    if step_mode is not None:
        candidates.append((step_mode, "step mode"))
    if not promoted:
        why = (
            "this runbook version is not promoted yet"
            if promoted is False
            else ("promotion not known")
        )
        candidates.append(("suggest", why))
    mode = strictest(*(m for m, _ in candidates))
    return mode, next(why for m, why in reversed(candidates) if m == mode)


# --- guards -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    cooldown: timedelta
    max_runs: int
    per: timedelta
    stale_after: timedelta
    budget: int
    budget_per: timedelta


@dataclass(frozen=True)
class GuardFacts:
    """What the database says about the world just before a mutating step."""

    pauses: Sequence[str] = ()  # each active pause that applies, described for people
    last_run_on_target: datetime | None = None  # when a mutating run last started there
    runs_of_runbook: int = 0  # mutating runs of this runbook within ``Limits.per``
    budget_used: int = 0  # mutating steps anywhere within ``Limits.budget_per``
    target_held_by: int | None = None  # another run holding this target right now


@dataclass(frozen=True)
class Refusal:
    code: str  # paused | cooldown | rate_limited | budget | busy
    reason: str


def check_guards(facts: GuardFacts, limits: Limits, *, now: datetime) -> Refusal | None:
    """The first guard that stops a mutating step, or None when all pass."""
    if facts.pauses:
        return Refusal("paused", "automation is paused: " + "; ".join(facts.pauses))
    if facts.target_held_by is not None:
        return Refusal("busy", f"run {facts.target_held_by} is changing the same target")
    if facts.last_run_on_target is not None:
        quiet_until = facts.last_run_on_target + limits.cooldown
        if now < quiet_until:
            return Refusal(
                "cooldown",
                f"the target was changed {format_duration(now - facts.last_run_on_target)} ago; "
                f"its cooldown is {format_duration(limits.cooldown)}",
            )
    if facts.runs_of_runbook >= limits.max_runs:
        return Refusal(
            "rate_limited",
            f"{facts.runs_of_runbook} runs of this runbook in the last "
            f"{format_duration(limits.per)} (limit {limits.max_runs})",
        )
    if facts.budget_used >= limits.budget:
        return Refusal(
            "budget",
            f"{facts.budget_used} mutating steps in the last {format_duration(limits.budget_per)} "
            f"used the global budget of {limits.budget}",
        )
    return None


# --- gates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepPlan:
    """How a step is about to be treated, with the reason that goes on the timeline."""

    gate: Gate
    reason: str
    refusal: Refusal | None = None


def decide_gate(
    *,
    mode: Mode,
    mode_reason: str,
    mutating: bool,
    safe: bool,
    stale: bool,
    refusal: Refusal | None,
) -> StepPlan:
    """The gate a step meets. Read-only steps run unless automation is off; mutating ones
    meet the mode, then the guards, then safety and staleness."""
    if mode == "off":
        return StepPlan(Gate.SKIP, f"automation is off ({mode_reason})")
    if not mutating:
        return StepPlan(Gate.RUN, "read-only")
    if mode == "suggest":
        reason = f"suggest mode ({mode_reason}): the plan is posted, nothing runs"
        return StepPlan(Gate.SKIP, reason)
    if mode == "dry-run":
        return StepPlan(Gate.DRY_RUN, f"dry-run mode ({mode_reason})")
    if refusal is not None:
        return StepPlan(Gate.SKIP, refusal.reason, refusal)
    if mode == "approve":
        return StepPlan(Gate.APPROVAL, f"approve mode ({mode_reason})")
    if not safe:
        return StepPlan(Gate.APPROVAL, "the step is not marked safe for automatic runs")
    if stale:
        return StepPlan(Gate.APPROVAL, "the alert is older than stale_after")
    return StepPlan(Gate.RUN, "auto mode, marked safe, every guard passed")


# --- identity -----------------------------------------------------------------------------


def run_key(runbook_id: str, runbook_hash: str, fingerprint: str, starts_at: datetime) -> str:
    """One run per runbook version per alert episode."""
    return f"{runbook_id}@{runbook_hash[:16]}|{fingerprint}@{starts_at.isoformat()}"


def idempotency_key(run_key: str, step_id: str) -> str:
    return f"{run_key}|{step_id}"


def args_hash(args: Mapping[str, Any]) -> str:
    """What an approval is bound to: the step's resolved arguments, canonically."""
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def target_of(runbook_id: str, params: Mapping[str, Any]) -> str:
    """What a run changes: its parameters' values (two runbooks restarting the same
    deployment share a target), or the runbook itself when it takes none."""
    if not params:
        return f"runbook:{runbook_id}"
    return ",".join(f"{k}={params[k]}" for k in sorted(params))
