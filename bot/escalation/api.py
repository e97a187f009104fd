"""Escalation and on-call routes: un-acknowledge, escalate, who is on call, overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Protocol
from typing import Annotated as _Annotated

from fastapi import Depends, HTTPException, Query
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from bot.escalation import service
from bot.escalation.oncall import add_override, on_call_now
from bot.escalation.timers import EscalationScheduler
from bot.incidents.api import ActorIn, IncidentOut
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


class EscalationRuntime(ServiceCore, Protocol):
    """What the escalation routes use of the running service."""

    @property
    def escalation(self) -> EscalationScheduler: ...


RuntimeDep = _Annotated[EscalationRuntime, Depends(runtime_of)]

router = protected_router(prefix="/api", tags=["escalation"])


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
    return OverrideOut(
        id=row.id,
        schedule=row.schedule,
        user=row.user,
        start=row.start_at,
        end=row.end_at,
        created_by=row.created_by,
    )
