"""The safe-automation decisions and the one way a step's action is run.

Everything here is pure or touches only the action it runs: which gate a step meets
(mode, safety, guards, staleness), the idempotency key that makes a mutating step
at-most-once, and ``execute_step``, which enforces the timeout, retries idempotent steps
with backoff and jitter, and masks secrets in whatever comes back. ``bot`` loads the
facts from the database, calls these, and stores what they return.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import ValidationError

from actions.base import Action, ActionRefused, ActionResult
from actions.context import ActionContext
from actions.durations import format_duration
from actions.masking import mask_text, mask_value

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


def resolve_secrets(value: Any, secrets: Mapping[str, str]) -> Any:
    """Replace each ``secrets.NAME`` string by the secret's value, just before running."""
    if isinstance(value, str) and value.startswith(SECRET_REF):
        name = value[len(SECRET_REF) :]
        if name not in secrets:
            raise ActionRefused(f"secret {name!r} is not configured (FIRELINE_SECRETS)")
        return secrets[name]
    if isinstance(value, Mapping):
        return {k: resolve_secrets(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_secrets(v, secrets) for v in value]
    return value


# --- running ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepOutcome:
    state: StepState
    summary: str
    output: str = ""
    exit_code: int | None = None
    attempts: int = 1
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def inconclusive(self) -> bool:
        return bool(self.data.get("inconclusive"))


def backoff(attempt: int, *, base: float = 1.0, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter before retry ``attempt`` (1, 2, ...)."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))  # noqa: S311 - jitter


async def execute_step(
    action: Action,
    args: Mapping[str, Any],
    context: ActionContext,
    *,
    retries: int = 0,
    poll: bool = False,
    poll_interval: float = 1.0,
    backoff_base: float = 1.0,
) -> StepOutcome:
    """Run one step's action under its hard timeout.

    ``retries`` (idempotent steps only) re-runs a failed attempt after a backoff, inside
    the same timeout. ``poll`` (verify steps) re-checks a condition that does not hold yet
    until it does or the time is up. Nothing raised by an action escapes: a refusal, an
    error and a timeout are all outcomes. Every text is secret-masked.
    """
    secrets = list(context.secrets.values())
    outcome = await _attempts(action, args, context, retries, poll, poll_interval, backoff_base)
    return replace(
        outcome,
        summary=mask_text(outcome.summary, secrets),
        output=mask_text(outcome.output, secrets),
        data=mask_value(outcome.data, secrets),
    )


async def _attempts(
    action: Action,
    args: Mapping[str, Any],
    context: ActionContext,
    retries: int,
    poll: bool,
    poll_interval: float,
    backoff_base: float,
) -> StepOutcome:
    try:
        resolved = resolve_secrets(dict(args), context.secrets)
        typed = action.Args.model_validate(resolved)
    except ActionRefused as exc:
        return StepOutcome(StepState.FAILED, f"refused: {exc}", attempts=0, data=_refused())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
        )
        return StepOutcome(StepState.FAILED, f"refused: {problems}", attempts=0, data=_refused())
    started = time.monotonic()
    attempts = 0
    last: ActionResult | None = None
    try:
        async with asyncio.timeout(context.timeout):
            while True:
                attempts += 1
                if context.dry_run:
                    last = await action.dry_run(typed, context)
                else:
                    last = await action.run(typed, context)
                if last.ok:
                    break
                if poll:
                    await asyncio.sleep(poll_interval)
                    continue
                if attempts > retries or last.data.get("inconclusive"):
                    break
                await asyncio.sleep(backoff(attempts, base=backoff_base))
    except TimeoutError:
        waited = format_duration(timedelta(seconds=round(time.monotonic() - started)))
        if last is not None and poll:
            return _outcome(StepState.FAILED, last, attempts, suffix=f" (still so after {waited})")
        summary = f"timed out after {waited}" + (f"; last attempt: {last.summary}" if last else "")
        return StepOutcome(StepState.TIMED_OUT, summary, attempts=attempts)
    except ActionRefused as exc:
        return StepOutcome(StepState.FAILED, f"refused: {exc}", attempts=attempts, data=_refused())
    except Exception as exc:  # an action's bug must not take the engine down
        return StepOutcome(StepState.FAILED, f"error: {exc!r}", attempts=attempts)
    assert last is not None
    if context.dry_run:
        return _outcome(StepState.DRY_RUN, last, attempts)
    return _outcome(StepState.SUCCEEDED if last.ok else StepState.FAILED, last, attempts)


def _refused() -> dict[str, Any]:
    return {"refused": True}


def _outcome(
    state: StepState, result: ActionResult, attempts: int, suffix: str = ""
) -> StepOutcome:
    return StepOutcome(
        state,
        result.summary + suffix,
        output=result.output,
        exit_code=result.exit_code,
        attempts=attempts,
        data=dict(result.data),
    )
