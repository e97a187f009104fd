"""The REST API under ``/api``, behind ``FIRELINE_API_TOKEN``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Protocol
from typing import Annotated as _Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from bot.incidents import service as incidents
from bot.incidents.lifecycle import StatusHooks
from bot.people.http import Caller, allowed
from bot.people.model import Action
from bot.routing import (
    Id,
    Offset,
    ServiceCore,
    call_service,
    protected_router,
    refusals,
    runtime_of,
)
from storage import queries
from storage.tables import AlertRecord, Incident, TimelineEvent


class Wakeable(Protocol):
    def poke(self) -> None: ...


class IncidentsRuntime(ServiceCore, Protocol):
    """What the incident routes use of the running service."""

    @property
    def hooks(self) -> StatusHooks | None: ...

    @property
    def escalation(self) -> Wakeable: ...


RuntimeDep = _Annotated[IncidentsRuntime, Depends(runtime_of)]

router = protected_router(prefix="/api", tags=["incidents"])

Status = Literal["open", "acknowledged", "resolved"]
SeverityName = Literal["SEV1", "SEV2", "SEV3", "SEV4"]


class IncidentOut(BaseModel):
    id: int
    title: str
    status: str
    severity: str
    service: str | None
    signal: str | None
    labels: dict[str, str]
    source_url: str | None
    started_at: datetime
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    reopen_count: int
    runbook_id: str | None = None
    runbook_hash: str | None = None
    commander: str | None = None

    @classmethod
    def of(cls, incident: Incident) -> IncidentOut:
        return cls.model_validate(incident, from_attributes=True)


class AlertOut(BaseModel):
    id: int
    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str

    @classmethod
    def of(cls, alert: AlertRecord) -> AlertOut:
        return cls.model_validate(alert, from_attributes=True)


class IncidentDetailOut(IncidentOut):
    alerts: list[AlertOut]
    groups: list[dict[str, Any]]


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    total: int
    limit: int
    offset: int


class EventOut(BaseModel):
    id: int
    at: datetime
    kind: str
    actor: str
    text: str
    data: dict[str, Any]

    @classmethod
    def of(cls, event: TimelineEvent) -> EventOut:
        return cls.model_validate(event, from_attributes=True)


class ActorIn(BaseModel):
    actor: str = Field(
        default="api",
        min_length=1,
        max_length=200,
        description="Taken only with the shared FIRELINE_API_TOKEN or without any token; "
        "a named token acts as its own identity",
    )


class ResolveIn(ActorIn):
    reason: str = Field(default="", max_length=2000)


class NoteIn(ActorIn):
    text: str = Field(min_length=1, max_length=10_000)


@router.get("/incidents", response_model=IncidentPage)
def list_incidents(
    runtime: RuntimeDep,
    status: Annotated[list[Status] | None, Query()] = None,
    severity: Annotated[list[SeverityName] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> IncidentPage:
    with runtime.db.session() as session:
        items, total = queries.list_incidents(
            session, statuses=status or (), severities=severity or (), limit=limit, offset=offset
        )
    return IncidentPage(
        items=[IncidentOut.of(i) for i in items], total=total, limit=limit, offset=offset
    )


@router.get("/incidents/{incident_id}", response_model=IncidentDetailOut, responses=refusals(404))
def get_incident(incident_id: Id, runtime: RuntimeDep) -> IncidentDetailOut:
    detail = incidents.get_incident(runtime.db, incident_id)
    return IncidentDetailOut(
        **IncidentOut.of(detail.incident).model_dump(),
        alerts=[AlertOut.of(a) for a in detail.alerts],
        groups=[
            {"receiver": g.receiver, "group_key": g.group_key, "group_labels": g.group_labels}
            for g in detail.groups
        ],
    )


@router.get(
    "/incidents/{incident_id}/timeline", response_model=list[EventOut], responses=refusals(404)
)
def get_timeline(
    incident_id: Id,
    runtime: RuntimeDep,
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    offset: Offset = 0,
) -> list[EventOut]:
    events = incidents.get_timeline(runtime.db, incident_id, limit=limit, offset=offset)
    return [EventOut.of(e) for e in events]


@router.post(
    "/incidents/{incident_id}/acknowledge", response_model=IncidentOut, responses=refusals(404, 409)
)
async def acknowledge(
    incident_id: Id, runtime: RuntimeDep, who: Caller, body: ActorIn | None = None
) -> IncidentOut:
    actor = await allowed(
        runtime,
        who,
        Action.ACKNOWLEDGE,
        incident_id=incident_id,
        claimed=body.actor if body else None,
    )
    incident = await call_service(
        incidents.acknowledge,
        runtime.db,
        incident_id,
        actor=actor,
        hooks=runtime.hooks,
        clock=runtime.clock,
    )
    return IncidentOut.of(incident)


@router.post(
    "/incidents/{incident_id}/unacknowledge",
    response_model=IncidentOut,
    responses=refusals(404, 409),
)
async def unacknowledge(
    incident_id: Id, runtime: RuntimeDep, who: Caller, body: ActorIn | None = None
) -> IncidentOut:
    actor = await allowed(
        runtime,
        who,
        Action.UNACKNOWLEDGE,
        incident_id=incident_id,
        claimed=body.actor if body else None,
    )
    incident = await call_service(
        incidents.unacknowledge,
        runtime.db,
        incident_id,
        actor=actor,
        hooks=runtime.hooks,
        clock=runtime.clock,
    )
    runtime.escalation.poke()
    return IncidentOut.of(incident)


@router.post(
    "/incidents/{incident_id}/resolve", response_model=IncidentOut, responses=refusals(404, 409)
)
async def resolve(
    incident_id: Id, runtime: RuntimeDep, who: Caller, body: ResolveIn | None = None
) -> IncidentOut:
    body = body or ResolveIn()
    actor = await allowed(
        runtime, who, Action.RESOLVE, incident_id=incident_id, claimed=body.actor if body else None
    )
    incident = await call_service(
        incidents.resolve,
        runtime.db,
        incident_id,
        actor=actor,
        reason=body.reason,
        hooks=runtime.hooks,
        clock=runtime.clock,
    )
    return IncidentOut.of(incident)


@router.post(
    "/incidents/{incident_id}/notes",
    response_model=EventOut,
    status_code=201,
    responses=refusals(403, 404),
)
async def add_note(incident_id: Id, body: NoteIn, runtime: RuntimeDep, who: Caller) -> EventOut:
    actor = await allowed(
        runtime, who, Action.ADD_NOTE, incident_id=incident_id, claimed=body.actor if body else None
    )
    event = await call_service(
        incidents.add_note,
        runtime.db,
        incident_id,
        actor=actor,
        text=body.text,
        clock=runtime.clock,
    )
    return EventOut.of(event)


class SeverityIn(ActorIn):
    severity: SeverityName


class CommanderIn(ActorIn):
    user: str = Field(min_length=1, max_length=200, description="Who leads the incident now")


@router.post(
    "/incidents/{incident_id}/severity",
    response_model=IncidentOut,
    responses=refusals(403, 404),
)
async def change_severity(
    incident_id: Id, body: SeverityIn, runtime: RuntimeDep, who: Caller
) -> IncidentOut:
    actor = await allowed(
        runtime, who, Action.CHANGE_SEVERITY, incident_id=incident_id, claimed=body.actor
    )
    incident = await call_service(
        incidents.change_severity,
        runtime.db,
        incident_id,
        severity=body.severity,
        actor=actor,
        hooks=runtime.hooks,
        clock=runtime.clock,
    )
    runtime.escalation.poke()
    return IncidentOut.of(incident)


@router.post(
    "/incidents/{incident_id}/commander",
    response_model=IncidentOut,
    responses=refusals(403, 404),
)
async def assign_commander(
    incident_id: Id, body: CommanderIn, runtime: RuntimeDep, who: Caller
) -> IncidentOut:
    actor = await allowed(
        runtime, who, Action.ASSIGN_COMMANDER, incident_id=incident_id, claimed=body.actor
    )
    incident = await call_service(
        incidents.assign_commander,
        runtime.db,
        incident_id,
        user=body.user,
        actor=actor,
        clock=runtime.clock,
    )
    return IncidentOut.of(incident)
