"""``/api/runbooks``: the loaded library, load failures, reload, and what an alert would get."""

from __future__ import annotations

from typing import Annotated as _Annotated
from typing import Any, Protocol

from fastapi import Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from bot.routing import protected_router, refusals, runtime_of
from bot.runbooks.loader import LibrarySnapshot, RunbookLibrary
from bot.runbooks.params import resolve_params
from bot.runbooks.selection import select_runbook


class RunbooksRuntime(Protocol):
    """What the runbook routes use of the running service."""

    @property
    def runbooks(self) -> RunbookLibrary: ...


RuntimeDep = _Annotated[RunbooksRuntime, Depends(runtime_of)]

router = protected_router(prefix="/api/runbooks", tags=["runbooks"])


def _library(snapshot: LibrarySnapshot) -> dict[str, Any]:
    return {
        "runbooks": [r.summary() for r in sorted(snapshot.runbooks, key=lambda r: r.id)],
        "failures": [f.as_dict() for f in snapshot.failures],
        "loaded_at": snapshot.loaded_at.isoformat() if snapshot.loaded_at else None,
        "generation": snapshot.generation,
    }


@router.get("")
def list_runbooks(runtime: RuntimeDep) -> dict[str, Any]:
    """Every loaded runbook, and every file that failed lint (with what it keeps)."""
    return _library(runtime.runbooks.snapshot)


@router.post("/reload")
async def reload_runbooks(runtime: RuntimeDep) -> dict[str, Any]:
    report = await run_in_threadpool(runtime.runbooks.reload)
    return {
        "loaded": report.loaded,
        "unchanged": report.unchanged,
        "removed": report.removed,
        "failed": report.failed,
        **_library(runtime.runbooks.snapshot),
    }


class MatchRequest(BaseModel):
    labels: dict[str, str] = Field(min_length=1)
    annotations: dict[str, str] = Field(default_factory=dict)


@router.post("/match")
def match_runbook(body: MatchRequest, runtime: RuntimeDep) -> dict[str, Any]:
    """Which runbook an alert with these labels would get, and why."""
    selection = select_runbook(runtime.runbooks.index, body.labels, body.annotations)
    out = selection.as_dict()
    if selection.chosen is not None:
        resolution = resolve_params(
            selection.chosen.params, labels=body.labels, annotations=body.annotations
        )
        out["params"] = resolution.as_json()
        out["param_errors"] = resolution.errors
    return out


@router.get("/{runbook_id}", responses=refusals(404))
def get_runbook(runbook_id: str, runtime: RuntimeDep) -> dict[str, Any]:
    runbook = runtime.runbooks.snapshot.get(runbook_id)
    if runbook is None:
        raise HTTPException(status_code=404, detail=f"no loaded runbook {runbook_id!r}")
    return {
        **runbook.summary(),
        "owners": list(runbook.owners),
        "escalation": runbook.escalation,
        "approvers": list(runbook.approvers),
        "policy": runbook.policy.model_dump(mode="json"),
        "verify": runbook.verify.model_dump(mode="json") if runbook.verify else None,
        "params": {n: s.model_dump(mode="json", by_alias=True) for n, s in runbook.params.items()},
        "steps": [s.model_dump(mode="json", exclude={"body", "arg_lines"}) for s in runbook.steps],
        "sections": [s.model_dump(mode="json") for s in runbook.sections],
    }
