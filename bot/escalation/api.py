"""Escalation and on-call routes: un-acknowledge, escalate, who is on call, the coming
shifts, overrides, and the calendar feeds (whose URL carries its own key)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Protocol
from typing import Annotated as _Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field, SecretStr, model_validator

from bot.escalation import service
from bot.escalation.oncall import (
    add_override,
    on_call_now,
    overrides_of,
    person_feed,
    remove_override,
    schedule_feed,
    shifts_of,
    swap_shifts,
)
from bot.escalation.timers import EscalationScheduler
from bot.incidents.api import ActorIn, IncidentOut
from bot.people.directory import Directory
from bot.people.http import Caller, allowed
from bot.people.model import Action
from bot.routing import (
    Id,
    ServiceCore,
    call_service,
    protected_router,
    refusals,
    runtime_of,
)
from bot.security import feed_key, feed_key_valid
from storage.tables_escalation import OnCallOverride


class CalendarSettings(Protocol):
    @property
    def calendar_secret(self) -> SecretStr | None: ...


class EscalationRuntime(ServiceCore, Protocol):
    """What the escalation routes use of the running service."""

    @property
    def escalation(self) -> EscalationScheduler: ...

    @property
    def settings(self) -> CalendarSettings: ...

    @property
    def people(self) -> Directory: ...


RuntimeDep = _Annotated[EscalationRuntime, Depends(runtime_of)]

router = protected_router(prefix="/api", tags=["escalation"])
# Calendar apps cannot send a bearer header: each feed's URL carries its key instead.
calendar_router = APIRouter(prefix="/calendar", tags=["calendar"])
FEEDS_OFF = "calendar feeds are off: set FIRELINE_CALENDAR_SECRET to turn them on"


class OnCallOut(BaseModel):
    schedule: str
    user: str | None
    source: str
    until: datetime | None
    at: datetime


class OverrideIn(BaseModel):
    user: str = Field(min_length=1, max_length=200)
    start: AwareDatetime
    end: AwareDatetime
    actor: str = Field(default="api", min_length=1, max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> OverrideIn:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class OverrideOut(BaseModel):
    id: int
    schedule: str
    user: str
    start: datetime
    end: datetime
    created_by: str

    @classmethod
    def of(cls, row: OnCallOverride) -> OverrideOut:
        assert row.id is not None
        return cls(
            id=row.id,
            schedule=row.schedule,
            user=row.user,
            start=row.start_at,
            end=row.end_at,
            created_by=row.created_by,
        )


class ShiftOut(BaseModel):
    schedule: str
    user: str | None
    start: datetime
    end: datetime
    source: str


class FeedOut(BaseModel):
    url: str


@router.post(
    "/incidents/{incident_id}/escalate", response_model=IncidentOut, responses=refusals(404, 409)
)
async def escalate(
    incident_id: Id, runtime: RuntimeDep, who: Caller, body: ActorIn | None = None
) -> IncidentOut:
    escalation = runtime.escalation
    await allowed(runtime, who, Action.ESCALATE, incident_id=incident_id)
    incident = await call_service(
        service.escalate,
        runtime.db,
        incident_id,
        actor=who.actor_for(body.actor if body else None),
        rules=escalation.rules,
        clock=runtime.clock,
    )
    escalation.poke()
    return IncidentOut.of(incident)


def _at(runtime: EscalationRuntime, at: datetime | None) -> datetime:
    if at is not None and at.tzinfo is None:
        raise HTTPException(status_code=422, detail="at needs a zone, such as Z or +01:00")
    return at or runtime.clock()


@router.get("/oncall", response_model=list[OnCallOut], responses=refusals(404))
async def oncall(
    runtime: RuntimeDep,
    schedule: Annotated[str | None, Query()] = None,
    at: Annotated[datetime | None, Query()] = None,
) -> list[OnCallOut]:
    when = _at(runtime, at)
    answers = await call_service(
        on_call_now, runtime.db, runtime.escalation.rules, schedule=schedule, at=when
    )
    return [
        OnCallOut(schedule=a.schedule, user=a.user, source=a.source, until=a.until, at=when)
        for a in answers
    ]


@router.post(
    "/schedules/{name}/overrides",
    response_model=OverrideOut,
    status_code=201,
    responses=refusals(403, 404),
)
async def create_override(
    name: str, body: OverrideIn, runtime: RuntimeDep, who: Caller
) -> OverrideOut:
    await allowed(runtime, who, Action.EDIT_SCHEDULES, incident_id=None)
    row = await call_service(
        add_override,
        runtime.db,
        runtime.escalation.rules,
        schedule=name,
        user=body.user,
        start=body.start,
        end=body.end,
        actor=who.actor_for(body.actor),
        clock=runtime.clock,
    )
    return OverrideOut.of(row)


class SwapIn(BaseModel):
    """``second`` covers the shift of ``first`` at ``first_at``, and the other way round."""

    first: str = Field(min_length=1, max_length=200)
    first_at: AwareDatetime
    second: str = Field(min_length=1, max_length=200)
    second_at: AwareDatetime
    actor: str = Field(default="api", min_length=1, max_length=200)


@router.post(
    "/schedules/{name}/swaps",
    response_model=list[OverrideOut],
    status_code=201,
    summary="Two people trade shifts: two overrides, written together",
    responses=refusals(403, 404),
)
async def create_swap(
    name: str, body: SwapIn, runtime: RuntimeDep, who: Caller
) -> list[OverrideOut]:
    await allowed(runtime, who, Action.EDIT_SCHEDULES, incident_id=None)
    rows = await call_service(
        swap_shifts,
        runtime.db,
        runtime.escalation.rules,
        schedule=name,
        first=body.first,
        first_at=body.first_at,
        second=body.second,
        second_at=body.second_at,
        actor=who.actor_for(body.actor),
        clock=runtime.clock,
    )
    return [OverrideOut.of(r) for r in rows]


@router.get(
    "/schedules/{name}/overrides", response_model=list[OverrideOut], responses=refusals(404)
)
async def list_overrides(name: str, runtime: RuntimeDep) -> list[OverrideOut]:
    rows = await call_service(
        overrides_of, runtime.db, runtime.escalation.rules, name, now=runtime.clock()
    )
    return [OverrideOut.of(r) for r in rows]


@router.delete(
    "/schedules/{name}/overrides/{override_id}",
    status_code=204,
    response_class=Response,
    responses=refusals(403, 404),
)
async def delete_override(name: str, override_id: Id, runtime: RuntimeDep, who: Caller) -> None:
    await allowed(runtime, who, Action.EDIT_SCHEDULES, incident_id=None)
    await call_service(remove_override, runtime.db, override_id, schedule=name)


@router.get("/schedules/{name}/shifts", response_model=list[ShiftOut], responses=refusals(404))
async def list_shifts(
    name: str,
    runtime: RuntimeDep,
    start: Annotated[datetime | None, Query(alias="from", description="default: now")] = None,
    days: Annotated[int, Query(ge=1, le=62)] = 14,
) -> list[ShiftOut]:
    """Who is on call from ``from`` for ``days``: each shift, overrides applied; the shifts
    after the first are the coming hand-offs."""
    found = await call_service(
        shifts_of,
        runtime.db,
        runtime.escalation.rules,
        name,
        start=_at(runtime, start),
        span=timedelta(days=days),
    )
    return [
        ShiftOut(schedule=s.schedule, user=s.user, start=s.start, end=s.end, source=s.source)
        for s in found
    ]


def schedule_feed_path(name: str) -> str:
    return f"/calendar/schedules/{quote(name, safe='')}.ics"


def person_feed_path(person: str) -> str:
    return f"/calendar/people/{quote(person, safe='')}.ics"


def _secret(runtime: EscalationRuntime) -> SecretStr:
    secret = runtime.settings.calendar_secret
    if secret is None:
        raise HTTPException(status_code=404, detail=FEEDS_OFF)
    return secret


def _feed_url(request: Request, runtime: EscalationRuntime, path: str) -> FeedOut:
    key = feed_key(_secret(runtime), path)
    return FeedOut(url=f"{str(request.base_url).rstrip('/')}{path}?key={key}")


@router.get("/schedules/{name}/calendar", response_model=FeedOut, responses=refusals(404))
async def schedule_feed_url(name: str, request: Request, runtime: RuntimeDep) -> FeedOut:
    """The address a calendar app subscribes to for this schedule's shifts."""
    if name not in runtime.escalation.rules.schedules:
        raise HTTPException(status_code=404, detail=f"no schedule named {name!r}")
    return _feed_url(request, runtime, schedule_feed_path(name))


@router.get("/people/{person}/calendar", response_model=FeedOut, responses=refusals(404))
async def person_feed_url(person: str, request: Request, runtime: RuntimeDep) -> FeedOut:
    """The address a calendar app subscribes to for one person's shifts in every schedule."""
    return _feed_url(request, runtime, person_feed_path(person))


_ICS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}},
    **refusals(403, 404),
}


def _check_key(runtime: EscalationRuntime, path: str, key: str | None) -> None:
    if not feed_key_valid(_secret(runtime), path, key):
        raise HTTPException(status_code=403, detail="this feed's key is missing or wrong")


def _calendar(text: str) -> Response:
    return Response(text, media_type="text/calendar; charset=utf-8")


@calendar_router.get("/schedules/{name}.ics", response_class=Response, responses=_ICS)
async def schedule_calendar(
    name: str, runtime: RuntimeDep, key: Annotated[str | None, Query(max_length=128)] = None
) -> Response:
    """One schedule's shifts as iCalendar, from a week ago to seven weeks ahead."""
    _check_key(runtime, schedule_feed_path(name), key)
    text = await call_service(
        schedule_feed, runtime.db, runtime.escalation.rules, name, now=runtime.clock()
    )
    return _calendar(text)


@calendar_router.get("/people/{person}.ics", response_class=Response, responses=_ICS)
async def person_calendar(
    person: str, runtime: RuntimeDep, key: Annotated[str | None, Query(max_length=128)] = None
) -> Response:
    """One person's shifts in every schedule, under their id or their Slack user."""
    _check_key(runtime, person_feed_path(person), key)
    known = runtime.people.person(person)
    names = frozenset({person} | ({known.slack} if known and known.slack else set()))
    text = await call_service(
        person_feed, runtime.db, runtime.escalation.rules, person, names, now=runtime.clock()
    )
    return _calendar(text)
