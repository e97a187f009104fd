"""Routes for what an incident leaves behind: the post-mortem draft, follow-ups, reports."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Protocol
from typing import Annotated as _Annotated

from fastapi import Depends, Query, Response
from pydantic import AwareDatetime, BaseModel, Field

from bot.errors import InvalidInputError
from bot.people.http import Caller, allowed
from bot.people.model import Action
from bot.postmortem import followups, sections
from bot.postmortem.library import LibraryRuntime, library_for
from bot.postmortem.reports import summary_report
from bot.postmortem.series import Bucket, report_series
from bot.postmortem.service import DraftOptions, postmortem_data, postmortem_json, render_postmortem
from bot.routing import (
    Id,
    ServiceCore,
    call_service,
    protected_router,
    refusals,
    runtime_of,
)
from storage.tables_followups import FollowUp


class PostmortemRuntime(ServiceCore, Protocol):
    """What the post-mortem routes use of the running service."""

    @property
    def drafts(self) -> DraftOptions: ...


RuntimeDep = _Annotated[PostmortemRuntime, Depends(runtime_of)]

SERIES_DEFAULT_RANGE = timedelta(days=30)

router = protected_router(prefix="/api", tags=["post-mortem"])


class FollowUpIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    actor: str = Field(default="api", min_length=1, max_length=200)
    owner: str | None = Field(default=None, max_length=200)
    due: AwareDatetime | None = Field(default=None, description="default: 14 days from now")
    link: str | None = Field(
        default=None, max_length=2000, pattern=r"^https?://", description="its issue's page"
    )


class DoneIn(BaseModel):
    actor: str = Field(default="api", min_length=1, max_length=200)


class FollowUpOut(BaseModel):
    id: int
    incident_id: int
    text: str
    status: str
    owner: str | None
    created_by: str
    created_at: datetime
    done_by: str | None
    done_at: datetime | None
    due_at: datetime | None
    link: str | None
    overdue: bool

    @classmethod
    def of(cls, item: FollowUp, *, now: datetime) -> FollowUpOut:
        overdue = followups.is_overdue(item.status, item.due_at, now=now)
        return cls.model_validate({**item.model_dump(), "overdue": overdue})


class SectionIn(BaseModel):
    text: str = Field(max_length=sections.MAX_TEXT, description="empty: back to the placeholder")
    actor: str = Field(default="api", min_length=1, max_length=200)


class SectionVersionOut(BaseModel):
    version: int
    text: str
    author: str
    saved_at: datetime


class SectionOut(BaseModel):
    section: str
    title: str
    text: str | None
    author: str | None
    saved_at: datetime | None
    history: list[SectionVersionOut]

    @classmethod
    def of(cls, state: sections.SectionState) -> SectionOut:
        current = state.current
        return cls(
            section=state.section,
            title=state.title,
            text=current.text if current else None,
            author=current.author if current else None,
            saved_at=current.saved_at if current else None,
            history=[
                SectionVersionOut(
                    version=v.version, text=v.text, author=v.author, saved_at=v.saved_at
                )
                for v in state.history
            ],
        )


@router.get(
    "/incidents/{incident_id}/postmortem",
    summary="The post-mortem draft (Markdown), or the data behind it with ?format=json",
    response_model=None,
    responses={200: {"content": {"text/markdown": {}, "application/json": {}}}, **refusals(404)},
)
async def get_postmortem(
    incident_id: Id,
    runtime: RuntimeDep,
    output: Annotated[Literal["markdown", "json"], Query(alias="format")] = "markdown",
) -> Response | dict[str, Any]:
    drafts, db, clock = runtime.drafts, runtime.db, runtime.clock
    if output == "json":
        data = await call_service(postmortem_data, db, incident_id, drafts, clock=clock)
        return postmortem_json(data)
    text = await call_service(render_postmortem, db, incident_id, drafts, clock=clock)
    return Response(text, media_type="text/markdown; charset=utf-8")


@router.post(
    "/incidents/{incident_id}/followups",
    response_model=FollowUpOut,
    status_code=201,
    responses=refusals(403, 404),
)
async def add_followup(
    incident_id: Id, body: FollowUpIn, runtime: RuntimeDep, who: Caller
) -> FollowUpOut:
    await allowed(runtime, who, Action.ADD_NOTE, incident_id=incident_id)
    item = await call_service(
        followups.add_followup,
        runtime.db,
        incident_id,
        text=body.text,
        actor=who.actor_for(body.actor),
        owner=body.owner,
        due=body.due,
        link=body.link,
        clock=runtime.clock,
    )
    return FollowUpOut.of(item, now=runtime.clock())


@router.get("/followups", response_model=list[FollowUpOut])
def list_followups(
    runtime: RuntimeDep,
    status: Annotated[Literal["open", "done", "overdue"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[FollowUpOut]:
    now = runtime.clock()
    if status == "overdue":
        items = followups.list_followups(runtime.db, overdue_at=now, limit=limit)
    else:
        items = followups.list_followups(runtime.db, status=status, limit=limit)
    return [FollowUpOut.of(i, now=now) for i in items]


@router.post("/followups/{followup_id}/done", response_model=FollowUpOut, responses=refusals(404))
async def mark_done(
    followup_id: Id, runtime: RuntimeDep, who: Caller, body: DoneIn | None = None
) -> FollowUpOut:
    await allowed(runtime, who, Action.ADD_NOTE, incident_id=None)
    actor = who.actor_for((body or DoneIn()).actor)
    item = await call_service(
        followups.mark_done, runtime.db, followup_id, actor=actor, clock=runtime.clock
    )
    return FollowUpOut.of(item, now=runtime.clock())


@router.get(
    "/incidents/{incident_id}/postmortem/sections",
    response_model=list[SectionOut],
    responses=refusals(404),
)
async def list_sections(incident_id: Id, runtime: RuntimeDep) -> list[SectionOut]:
    states = await call_service(sections.section_states, runtime.db, incident_id)
    return [SectionOut.of(s) for s in states]


@router.put(
    "/incidents/{incident_id}/postmortem/sections/{section}",
    response_model=SectionOut,
    summary="Save a human section of the post-mortem; the previous version is kept",
    responses=refusals(403, 404),
)
async def save_section(
    incident_id: Id, section: str, body: SectionIn, runtime: RuntimeDep, who: Caller
) -> SectionOut:
    sections.check_section(section)
    await allowed(runtime, who, Action.EDIT_POSTMORTEM, incident_id=incident_id)
    await call_service(
        sections.save_section,
        runtime.db,
        incident_id,
        section,
        text=body.text,
        author=who.actor_for(body.actor),
        clock=runtime.clock,
    )
    states = await call_service(sections.section_states, runtime.db, incident_id)
    return next(SectionOut.of(s) for s in states if s.section == section)


@router.get("/reports/summary", tags=["reports"])
def report_summary(
    runtime: RuntimeDep,
    since: Annotated[datetime | None, Query(description="incidents opened at or after")] = None,
    until: Annotated[datetime | None, Query(description="incidents opened before")] = None,
) -> dict[str, Any]:
    _require_zones(since=since, until=until)
    return asdict(summary_report(runtime.db, since=since, until=until))


def _require_zones(**moments: datetime | None) -> None:
    for name, value in moments.items():
        if value is not None and value.tzinfo is None:
            raise InvalidInputError(f"{name} needs a time zone, such as 2026-11-01T00:00:00Z")


@router.get(
    "/reports/series",
    tags=["reports"],
    summary="Response times, incidents and automation success per day or week",
)
def report_series_route(
    runtime: RuntimeDep,
    since: Annotated[datetime | None, Query(description="incidents opened at or after")] = None,
    until: Annotated[datetime | None, Query(description="incidents opened before")] = None,
    bucket: Annotated[Bucket | None, Query(description="day or week; by the range")] = None,
) -> dict[str, Any]:
    _require_zones(since=since, until=until)
    end = until or runtime.clock()
    start = since or end - SERIES_DEFAULT_RANGE
    return asdict(report_series(runtime.db, since=start, until=end, bucket=bucket))


@router.get(
    "/reports/runbooks",
    tags=["reports"],
    summary="The runbook library: match, mode, promotion, problems, coverage, effectiveness",
)
def report_runbooks(
    runtime: _Annotated[LibraryRuntime, Depends(runtime_of)],
    since: Annotated[datetime | None, Query(description="effectiveness of runs since")] = None,
) -> dict[str, Any]:
    _require_zones(since=since)
    return asdict(library_for(runtime, since=since))
