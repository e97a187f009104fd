"""``/runbooks``: the runbook library (match, mode, promotion, problems, coverage,
effectiveness) and one runbook with its steps, their gates, and its markdown rendered.
The data is ``GET /api/reports/runbooks`` and ``GET /api/runbooks/{id}``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from actions.gates import effective_mode
from bot.postmortem.library import library_for
from bot.web.markdown import runbook_html
from bot.web.pages import render
from bot.web.session import SignedIn

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/runbooks")
async def library_page(request: Request, _who: SignedIn) -> Response:
    view = await run_in_threadpool(library_for, request.app.state.runtime)
    return render(request, "runbooks/index.html.j2", {"library": view})


@router.get("/runbooks/{runbook_id}")
async def runbook_page(request: Request, runbook_id: str, _who: SignedIn) -> Response:
    runtime = request.app.state.runtime
    runbook = runtime.runbooks.snapshot.get(runbook_id)
    if runbook is None:
        refusal = {"title": "No such runbook", "message": f"No loaded runbook {runbook_id!r}."}
        return render(request, "error.html.j2", refusal, status_code=404)
    view = await run_in_threadpool(library_for, runtime)
    row = view.get(runbook.id)
    gates = [
        effective_mode(
            runtime.settings.automation_mode,
            runbook.policy.mode,
            step.mode,
            promoted=bool(row and row.promoted),
        )
        for step in runbook.steps
    ]
    context: dict[str, Any] = {
        "runbook": runbook,
        "row": row,
        "steps": list(zip(runbook.steps, gates, strict=True)),
        "html": runbook_html(runbook),
    }
    return render(request, "runbooks/show.html.j2", context)
