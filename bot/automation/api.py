"""Automation routes: approve or reject a step, pause and resume, promote a runbook, and
see an incident's runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated as _Annotated
from typing import Any, Protocol

from fastapi import Depends, HTTPException
from pydantic import BaseModel, Field

from bot.automation import service
from bot.automation.runner import AutomationRunner
from bot.durations import Duration
from bot.incidents import service as incidents
from bot.people.http import Caller, allowed
from bot.people.model import Action, Identity
from bot.routing import (
    Id,
    ServiceCore,
    call_service,
    protected_router,
    refusals,
    runtime_of,
)
from bot.runbooks.lint import is_under
from bot.runbooks.loader import RunbookLibrary
from storage.tables_automation import AutomationPause, RunbookRun, StepRun


class TrustedDirs(Protocol):
    @property
    def trusted_runbook_dirs(self) -> list[Path]: ...


class AutomationRuntime(ServiceCore, Protocol):
    """What the automation routes use of the running service."""

    @property
    def automation(self) -> AutomationRunner: ...

    @property
    def runbooks(self) -> RunbookLibrary: ...

    @property
    def settings(self) -> TrustedDirs: ...


RuntimeDep = _Annotated[AutomationRuntime, Depends(runtime_of)]

router = protected_router(prefix="/api", tags=["automation"])


# Who acts, as the body names them; taken only with the shared token or none.
ClaimedBy = _Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=200,
        description="Who acts; taken only with the shared FIRELINE_API_TOKEN or without any "
        "token, a named token acts as its own identity",
    ),
]


class DecisionIn(BaseModel):
    by: ClaimedBy = None
    args_hash: str | None = Field(
        default=None, description="The parameters hash the person was shown; must still match"
    )
    note: str | None = Field(default=None, max_length=2000)


class PauseIn(BaseModel):
    scope: str = Field(default="global", pattern="^(global|runbook|service)$")
    target: str = Field(default="", max_length=200)
    by: ClaimedBy = None
    reason: str = Field(min_length=1, max_length=2000)
    for_: Duration | None = Field(
        default=None, alias="for", description="e.g. 2h; none: until resumed"
    )


class ResumeIn(BaseModel):
    scope: str = Field(default="global", pattern="^(global|runbook|service)$")
    target: str = Field(default="", max_length=200)
    by: ClaimedBy = None


class PromoteIn(BaseModel):
    by: ClaimedBy = None


def step_out(row: StepRun) -> dict[str, Any]:
    return {
        "id": row.id,
        "step_id": row.step_id,
        "kind": row.kind,
        "action": row.action,
        "mutating": row.mutating,
        "state": row.state,
        "reason": row.reason,
        "summary": row.summary,
        "exit_code": row.exit_code,
        "attempts": row.attempts,
        "args": row.args,
        "args_hash": row.args_hash,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
    }


def run_out(run: RunbookRun, steps: list[StepRun]) -> dict[str, Any]:
    return {
        "id": run.id,
        "incident_id": run.incident_id,
        "runbook_id": run.runbook_id,
        "runbook_hash": run.runbook_hash,
        "status": run.status,
        "target": run.target,
        "params": run.params,
        "param_errors": run.param_errors,
        "verification": run.verification,
        "triggered_by": run.triggered_by,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "steps": [step_out(s) for s in steps],
    }


def pause_out(row: AutomationPause) -> dict[str, Any]:
    return {
        "id": row.id,
        "scope": row.scope,
        "target": row.target,
        "kind": row.kind,
        "paused_by": row.paused_by,
        "reason": row.reason,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "lifted_at": row.lifted_at,
        "lifted_by": row.lifted_by,
    }


@router.get("/incidents/{incident_id}/runs", responses=refusals(404))
async def incident_runs(incident_id: Id, runtime: RuntimeDep) -> list[dict[str, Any]]:
    runs = await call_service(service.runs_of, runtime.db, incident_id)
    return [run_out(run, steps) for run, steps in runs]


async def _decide(
    step_run_id: Id, body: DecisionIn, runtime: Any, who: Identity, approve: bool
) -> dict[str, Any]:
    incident_id, _ = await call_service(service.approvers_of, runtime.db, step_run_id)
    by = await allowed(runtime, who, Action.APPROVE_STEP, incident_id=incident_id, claimed=body.by)
    row = await call_service(
        service.decide_approval,
        runtime.db,
        step_run_id,
        by=by,
        by_aliases=who.aliases if by == who.actor else frozenset(),
        approve=approve,
        expected_hash=body.args_hash,
        note=body.note,
        now=runtime.clock(),
    )
    runtime.automation.poke()
    return step_out(row)


class RunIn(BaseModel):
    by: ClaimedBy = None
    runbook_id: str | None = Field(default=None, description="Default: the incident's runbook")


@router.post("/incidents/{incident_id}/runs", status_code=201, responses=refusals(403, 404, 409))
async def start_run(
    incident_id: Id, body: RunIn, runtime: RuntimeDep, who: Caller
) -> dict[str, Any]:
    """Run a runbook for the incident again (its current, loaded version)."""
    by = await allowed(runtime, who, Action.RUN_RUNBOOK, incident_id=incident_id, claimed=body.by)
    detail = await call_service(incidents.get_incident, runtime.db, incident_id)
    runbook_id = body.runbook_id or detail.incident.runbook_id
    runbook = runtime.runbooks.snapshot.get(runbook_id) if runbook_id else None
    if runbook is None:
        raise HTTPException(status_code=404, detail=f"no loaded runbook {runbook_id!r}")
    trusted = is_under(Path(runbook.file), runtime.settings.trusted_runbook_dirs)
    run = await call_service(
        service.start_manual_run,
        runtime.db,
        incident_id,
        runbook,
        by=by,
        trusted=trusted,
        now=runtime.clock(),
    )
    runtime.automation.poke()
    return run_out(run, [])


@router.post("/steps/{step_run_id}/approve", responses=refusals(403, 404, 409))
async def approve_step(
    step_run_id: Id, body: DecisionIn, runtime: RuntimeDep, who: Caller
) -> dict[str, Any]:
    """Approve a step awaiting approval: only a listed approver, never the run's trigger."""
    return await _decide(step_run_id, body, runtime, who, approve=True)


@router.post("/steps/{step_run_id}/reject", responses=refusals(403, 404, 409))
async def reject_step(
    step_run_id: Id, body: DecisionIn, runtime: RuntimeDep, who: Caller
) -> dict[str, Any]:
    return await _decide(step_run_id, body, runtime, who, approve=False)


@router.get("/automation")
async def automation_status(runtime: RuntimeDep) -> dict[str, Any]:
    pauses = await call_service(service.pauses, runtime.db, now=runtime.clock())
    rules = runtime.automation.rules
    return {
        "mode": rules.mode,
        "budget": {"steps": rules.budget, "per_seconds": rules.budget_per.total_seconds()},
        "pauses": [pause_out(p) for p in pauses],
    }


@router.post("/automation/pause", status_code=201)
async def pause_automation(body: PauseIn, runtime: RuntimeDep, who: Caller) -> dict[str, Any]:
    by = await allowed(runtime, who, Action.PAUSE_AUTOMATION, claimed=body.by)
    now: datetime = runtime.clock()
    until = now + body.for_ if body.for_ else None
    row = await call_service(
        service.pause,
        runtime.db,
        scope=body.scope,
        target=body.target,
        by=by,
        reason=body.reason,
        until=until,
        now=now,
    )
    return pause_out(row)


@router.post("/automation/resume")
async def resume_automation(body: ResumeIn, runtime: RuntimeDep, who: Caller) -> dict[str, Any]:
    by = await allowed(runtime, who, Action.RESUME_AUTOMATION, claimed=body.by)
    lifted = await call_service(
        service.resume,
        runtime.db,
        scope=body.scope,
        target=body.target,
        by=by,
        now=runtime.clock(),
    )
    runtime.automation.poke()
    return {"lifted": [pause_out(p) for p in lifted]}


@router.post("/runbooks/{runbook_id}/promote", responses=refusals(403, 404))
async def promote_runbook(
    runbook_id: str, body: PromoteIn, runtime: RuntimeDep, who: Caller
) -> dict[str, Any]:
    """Let this version (by content hash) of a runbook leave suggest mode."""
    by = await allowed(runtime, who, Action.PROMOTE_RUNBOOK, claimed=body.by)
    runbook = runtime.runbooks.snapshot.get(runbook_id)
    if runbook is None:
        raise HTTPException(status_code=404, detail=f"no loaded runbook {runbook_id!r}")
    new = await call_service(service.promote, runtime.db, runbook, by=by, now=runtime.clock())
    return {"runbook_id": runbook.id, "runbook_hash": runbook.hash, "promoted": True, "new": new}
