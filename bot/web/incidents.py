"""The incidents list and the incident page, with the actions a person's role allows.

Each action calls the API's own route function for it, with the signed-in identity: the
same permission check (``bot.people.http.allowed``, refusals recorded on the timeline),
the same service call and the same wake-ups of the workers as ``/api``. A refusal is
shown on the page with its status code; a success redirects back (POST → 303).

Live updates poll a fragment rather than hold an event stream: a poll is one cheap
indexed query answered 204 when nothing changed (htmx swaps nothing), it needs no
long-lived connection through proxies or a worker per viewer, and a missed poll is
simply the next one.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse

from bot.automation import api as automation_api
from bot.errors import FirelineError
from bot.escalation import api as escalation_api
from bot.graphs import service as graphs
from bot.incidents import api as incidents_api
from bot.incidents import service as incidents
from bot.routing import Id, call_service
from bot.status import api as status_api
from bot.status.service import MAX_TEXT
from bot.web.csrf import CsrfChecked
from bot.web.incident_view import load_incident_page, load_timeline
from bot.web.pages import render, see_other
from bot.web.session import SignedIn, flash
from storage.queries_console import IncidentFilter

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

LIST_PAGE = 50
STATUSES = ("open", "acknowledged", "resolved")
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")

Cursor = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
Since = Annotated[int | None, Query(ge=0, le=2**63 - 1)]
"""An ``after`` cursor: 0 is "since the start", what an empty list or timeline polls with."""


def _filter(
    status: list[str], severity: list[str], service: str, opened_from: str, opened_to: str, q: str
) -> IncidentFilter:
    return IncidentFilter(
        statuses=[s for s in status if s in STATUSES],
        severities=[s for s in severity if s in SEVERITIES],
        services=[s.strip() for s in service.split(",") if s.strip()],
        opened_from=_moment(opened_from),
        opened_to=_moment(opened_to, through_the_day=True),
        search=q.strip()[:200],
    )


def _moment(text: str, *, through_the_day: bool = False) -> datetime | None:
    """A date or date-and-time from the form (``2026-12-05`` or ``2026-12-05T12:00``),
    read as UTC; None when empty or unreadable, so a typo widens the list, never errors.
    ``through_the_day``: a bare date as an end means the end of that day ("to 5 December"
    includes the 5th)."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if moment is not None and through_the_day and len(text) == len("2026-12-05"):
        moment += timedelta(days=1)
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class ListQuery:
    """The list's query string, read once and passed to the page and its fragment."""

    def __init__(
        self,
        status: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
        severity: Annotated[list[str], Query()] = [],  # noqa: B006
        service: Annotated[str, Query(max_length=500)] = "",
        opened_from: Annotated[str, Query(alias="from", max_length=40)] = "",
        opened_to: Annotated[str, Query(alias="to", max_length=40)] = "",
        q: Annotated[str, Query(max_length=500)] = "",
    ) -> None:
        self.where = _filter(status, severity, service, opened_from, opened_to, q)
        self.params: list[tuple[str, str]] = [
            *(("status", s) for s in self.where.statuses),
            *(("severity", s) for s in self.where.severities),
            *(("service", s) for s in ([service.strip()] if service.strip() else [])),
            *(("from", v) for v in ([opened_from] if opened_from else [])),
            *(("to", v) for v in ([opened_to] if opened_to else [])),
            *(("q", v) for v in ([q.strip()] if q.strip() else [])),
        ]

    def url(self, path: str, **more: int | None) -> str:
        extra = [(k, str(v)) for k, v in more.items() if v is not None]
        query = urlencode([*self.params, *extra])
        return f"{path}?{query}" if query else path


@router.get("/incidents")
async def incident_list(
    request: Request,
    me: SignedIn,
    query: Annotated[ListQuery, Depends()],
    before: Cursor = None,
) -> HTMLResponse:
    runtime = request.app.state.runtime
    items = incidents.find_incidents(runtime.db, query.where, before_id=before, limit=LIST_PAGE + 1)
    page, more = items[:LIST_PAGE], len(items) > LIST_PAGE
    newest = page[0].id if page and before is None else None
    return render(
        request,
        "incidents/list.html.j2",
        {
            "incidents": page,
            "where": query.where,
            "statuses": STATUSES,
            "severities": SEVERITIES,
            "service": ",".join(query.where.services),
            "opened_from": dict(query.params).get("from", ""),
            "opened_to": dict(query.params).get("to", ""),
            "live_url": query.url("/incidents/rows", after=newest or 0) if before is None else None,
            "older_url": query.url("/incidents", before=page[-1].id) if more else None,
        },
    )


@router.get("/incidents/rows", response_model=None)
async def incident_rows(
    request: Request, me: SignedIn, query: Annotated[ListQuery, Depends()], after: Since = None
) -> Response:
    """The incidents opened since ``after`` that match, for the list's poll; 204 when none."""
    runtime = request.app.state.runtime
    items = incidents.find_incidents(runtime.db, query.where, after_id=after or 0, limit=LIST_PAGE)
    if not items:
        return Response(status_code=204)
    return render(
        request,
        "incidents/_rows.html.j2",
        {"incidents": items, "live_url": query.url("/incidents/rows", after=items[0].id)},
    )


@router.get("/incidents/{incident_id}", response_model=None)
async def incident_page(
    request: Request, me: SignedIn, incident_id: Id, before: Cursor = None
) -> Response:
    return await _page(request, incident_id, before=before)


async def _page(
    request: Request,
    incident_id: int,
    *,
    before: int | None = None,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    """The incident page; ``refusal`` is shown in the flash's place, with its status."""
    return await _incident_template(
        request,
        incident_id,
        "incidents/incident.html.j2",
        before=before,
        refusal=refusal,
        status_code=status_code,
    )


@router.get("/incidents/{incident_id}/graphs/{graph_id}.png", response_model=None)
async def incident_graph(
    _me: SignedIn, request: Request, incident_id: Id, graph_id: Id
) -> Response:
    """A graph's PNG, for the page and the post-mortem that embed it."""
    png = await call_service(graphs.png_of, request.app.state.runtime.db, incident_id, graph_id)
    if png is None:
        raise HTTPException(status_code=404, detail="no such graph")
    return Response(
        png, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"}
    )


@router.get("/incidents/{incident_id}/live", response_model=None)
async def incident_live(request: Request, me: SignedIn, incident_id: Id) -> Response:
    """The card, alerts, runs and ladder again: fetched when the timeline's poll finds new
    events (every change to an incident writes one), so they need no poll of their own."""
    return await _incident_template(request, incident_id, "incidents/_live.html.j2")


async def _incident_template(
    request: Request,
    incident_id: int,
    template: str,
    *,
    before: int | None = None,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    runtime = request.app.state.runtime
    try:
        view = load_incident_page(
            runtime.db,
            incident_id,
            policies=runtime.escalation.rules.policies,
            before_id=before,
        )
    except FirelineError as exc:
        return render(
            request,
            "error.html.j2",
            {"title": f"Incident {incident_id}", "message": str(exc)},
            status_code=exc.http_status,
        )
    context: dict[str, Any] = {
        "page": view,
        "incident_id": incident_id,
        "before": before,
        "status_max_text": MAX_TEXT,
    }
    if refusal is not None:
        context["flash"] = refusal
    return render(request, template, context, status_code=status_code)


@router.get("/incidents/{incident_id}/timeline", response_model=None)
async def timeline_rows(
    request: Request,
    me: SignedIn,
    incident_id: Id,
    after: Since = None,
    before: Cursor = None,
) -> Response:
    """Events written since ``after`` (the page's poll; 204 when none) or the page of
    events older than ``before`` (the "Older events" button)."""
    runtime = request.app.state.runtime
    try:
        window = load_timeline(runtime.db, incident_id, before_id=before, after_id=after)
    except FirelineError as exc:
        return Response(str(exc), status_code=exc.http_status, media_type="text/plain")
    if after is not None and not window.rows:
        return Response(status_code=204)
    if after is not None and window.older is not None:
        # More were written than one page holds: reload the page rather than leave a gap.
        return Response(headers={"HX-Refresh": "true"})
    if before is not None:
        older = {"incident_id": incident_id, "window": window}
        return render(request, "incidents/_timeline_older.html.j2", older)
    return render(
        request,
        "incidents/_timeline_new.html.j2",
        {"incident_id": incident_id, "window": window, "after": after},
        headers={"HX-Trigger": "incident-changed"},
    )


# --- actions: each the API's own route function, called as the signed-in person ------


async def _act(
    request: Request, incident_id: int, action: Awaitable[object], *, done: str
) -> Response:
    """Back to the page with ``done`` flashed; or the page again with the refusal's own
    sentence and its status (403 from the role table, 409 from the incident's state), so
    a refused form says why and a script sees the refusal."""
    try:
        await action
    except FirelineError as exc:
        return await _page(request, incident_id, refusal=str(exc), status_code=exc.http_status)
    except HTTPException as exc:
        return await _page(
            request, incident_id, refusal=str(exc.detail), status_code=exc.status_code
        )
    flash(request, done)
    return see_other(request, f"/incidents/{incident_id}")


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


@router.post("/incidents/{incident_id}/acknowledge", response_model=None)
async def acknowledge(request: Request, me: SignedIn, _: CsrfChecked, incident_id: Id) -> Response:
    action = incidents_api.acknowledge(incident_id, _runtime(request), me)
    return await _act(request, incident_id, action, done="Acknowledged.")


@router.post("/incidents/{incident_id}/unacknowledge", response_model=None)
async def unacknowledge(
    request: Request, me: SignedIn, _: CsrfChecked, incident_id: Id
) -> Response:
    action = incidents_api.unacknowledge(incident_id, _runtime(request), me)
    return await _act(request, incident_id, action, done="Un-acknowledged: escalation resumes.")


@router.post("/incidents/{incident_id}/escalate", response_model=None)
async def escalate(request: Request, me: SignedIn, _: CsrfChecked, incident_id: Id) -> Response:
    action = escalation_api.escalate(incident_id, _runtime(request), me)
    return await _act(request, incident_id, action, done="Escalated: the next level is paged.")


@router.post("/incidents/{incident_id}/resolve", response_model=None)
async def resolve(
    request: Request,
    me: SignedIn,
    _: CsrfChecked,
    incident_id: Id,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    body = incidents_api.ResolveIn(reason=reason.strip())
    action = incidents_api.resolve(incident_id, _runtime(request), me, body)
    return await _act(request, incident_id, action, done="Resolved.")


@router.post("/incidents/{incident_id}/severity", response_model=None)
async def change_severity(
    request: Request,
    me: SignedIn,
    _: CsrfChecked,
    incident_id: Id,
    severity: Annotated[incidents_api.SeverityName, Form()],
) -> Response:
    body = incidents_api.SeverityIn(severity=severity)
    action = incidents_api.change_severity(incident_id, body, _runtime(request), me)
    return await _act(request, incident_id, action, done=f"Severity is {severity}.")


@router.post("/incidents/{incident_id}/commander", response_model=None)
async def assign_commander(
    request: Request,
    me: SignedIn,
    _: CsrfChecked,
    incident_id: Id,
    user: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    body = incidents_api.CommanderIn(user=user.strip() or user)
    action = incidents_api.assign_commander(incident_id, body, _runtime(request), me)
    return await _act(request, incident_id, action, done=f"{body.user} is the commander.")


@router.post("/incidents/{incident_id}/notes", response_model=None)
async def add_note(
    request: Request,
    me: SignedIn,
    _: CsrfChecked,
    incident_id: Id,
    text: Annotated[str, Form(min_length=1, max_length=10_000)],
) -> Response:
    body = incidents_api.NoteIn(text=text)
    action = incidents_api.add_note(incident_id, body, _runtime(request), me)
    return await _act(request, incident_id, action, done="Note added.")


@router.post("/incidents/{incident_id}/steps/{step_run_id}/approve", response_model=None)
async def approve_step(
    request: Request,
    me: SignedIn,
    _: CsrfChecked,
    incident_id: Id,
    step_run_id: Id,
    args_hash: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """``args_hash`` is the parameters' hash the page showed: an approval never covers
    parameters the person did not see."""
    body = automation_api.DecisionIn(args_hash=args_hash or None)
    action = automation_api.approve_step(step_run_id, body, _runtime(request), me)
    return await _act(request, incident_id, action, done="Step approved.")


@router.post("/incidents/{incident_id}/steps/{step_run_id}/reject", response_model=None)
async def reject_step(
    request: Request,
    me: SignedIn,
    _: CsrfChecked,
    incident_id: Id,
    step_run_id: Id,
    args_hash: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    body = automation_api.DecisionIn(args_hash=args_hash or None)
    action = automation_api.reject_step(step_run_id, body, _runtime(request), me)
    return await _act(request, incident_id, action, done="Step rejected.")


@router.post("/incidents/{incident_id}/status", response_model=None)
async def post_status(
    request: Request,
    me: SignedIn,
    _: CsrfChecked,
    incident_id: Id,
    phase: Annotated[status_api.PhaseName, Form()],
    text: Annotated[str, Form(min_length=1, max_length=MAX_TEXT)],
) -> Response:
    """A public update for the status page, written by the commander: only this text
    (never the alert's) is shown there."""
    body = status_api.StatusUpdateIn(phase=phase, text=text)
    action = status_api.post_status(incident_id, body, _runtime(request), me)
    return await _act(request, incident_id, action, done=f"Posted to the status page ({phase}).")
