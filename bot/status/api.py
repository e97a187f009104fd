"""The public status page (no login: ``/status``, ``/status.json``, ``/status.atom``) and
the API that writes and lists its public updates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from bot.people.http import Caller, allowed
from bot.people.model import Action
from bot.routing import (
    MAX_ID,
    Id,
    ServiceCore,
    call_service,
    protected_router,
    refusals,
    runtime_of,
)
from bot.status import render, service
from bot.status.config import StatusConfig
from storage.tables_status import StatusUpdate

PUBLIC_HEADERS = {"Cache-Control": "no-cache"}
"""Feeds and the page are read often and change with every update; the
Content-Security-Policy and the other security headers come from the console's
middleware on every response."""


class StatusRuntime(ServiceCore, Protocol):
    """What the status routes use of the running service."""

    @property
    def status(self) -> StatusConfig: ...


RuntimeDep = Annotated[StatusRuntime, Depends(runtime_of)]

public_router = APIRouter(tags=["status"])
router = protected_router(prefix="/api", tags=["status"])

PhaseName = Literal["investigating", "identified", "monitoring", "resolved"]


class StatusUpdateIn(BaseModel):
    phase: PhaseName
    text: str = Field(min_length=1, max_length=service.MAX_TEXT)
    components: list[str] = Field(default_factory=list, max_length=50)
    actor: str = Field(default="api", min_length=1, max_length=200)


class StatusUpdateOut(BaseModel):
    id: int
    incident_id: int
    phase: str
    text: str
    author: str
    created_at: datetime
    components: list[str]

    @classmethod
    def of(cls, update: StatusUpdate) -> StatusUpdateOut:
        return cls.model_validate(update, from_attributes=True)


@public_router.get("/status", response_class=HTMLResponse, include_in_schema=False)
async def status_html(runtime: RuntimeDep) -> HTMLResponse:
    page = await call_service(service.status_page, runtime.db, runtime.status, now=runtime.clock())
    return HTMLResponse(render.render_html(page), headers=PUBLIC_HEADERS)


@public_router.get("/status.json", summary="The public status: components and open incidents")
async def status_json(runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    page = await call_service(service.status_page, runtime.db, runtime.status, now=runtime.clock())
    response.headers.update(PUBLIC_HEADERS)
    return render.page_json(page)


@public_router.get(
    "/status.atom",
    summary="The public updates as an Atom 1.0 feed",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}},
)
async def status_atom(runtime: RuntimeDep, request: Request) -> Response:
    updates = await call_service(service.feed, runtime.db, runtime.status)
    body = render.render_atom(
        updates, title=runtime.status.title, base_url=str(request.base_url), now=runtime.clock()
    )
    return Response(body, media_type="application/atom+xml", headers=PUBLIC_HEADERS)


@router.post(
    "/incidents/{incident_id}/status",
    summary="Post a public status update for an incident",
    response_model=StatusUpdateOut,
    status_code=201,
    responses=refusals(403, 404),
)
async def post_status(
    incident_id: Id, body: StatusUpdateIn, runtime: RuntimeDep, who: Caller
) -> StatusUpdateOut:
    actor = await allowed(
        runtime, who, Action.POST_STATUS, incident_id=incident_id, claimed=body.actor
    )
    update = await call_service(
        service.post_update,
        runtime.db,
        incident_id,
        author=actor,
        phase=body.phase,
        text=body.text,
        components=body.components,
        now=runtime.clock(),
        config=runtime.status,
    )
    return StatusUpdateOut.of(update)


@router.get("/status/updates", response_model=list[StatusUpdateOut])
def list_status_updates(
    runtime: RuntimeDep,
    incident_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[StatusUpdateOut]:
    updates = service.list_updates(runtime.db, incident_id=incident_id, limit=limit)
    return [StatusUpdateOut.of(u) for u in updates]
