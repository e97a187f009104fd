"""The one way a step's action is run (the decisions that allow it are ``actions.gates``).

Everything here is pure or touches only the action it runs: which gate a step meets
(mode, safety, guards, staleness), the idempotency key that makes a mutating step
at-most-once, and ``execute_step``, which enforces the timeout, retries idempotent steps
with backoff and jitter, and masks secrets in whatever comes back. ``bot`` loads the
facts from the database, calls these, and stores what they return.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from actions.base import Action, ActionRefused, ActionResult
from actions.context import ActionContext
from actions.durations import format_duration
from actions.gates import (
    SECRET_REF,
    StepState,
)
from actions.masking import mask_text, mask_value


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
