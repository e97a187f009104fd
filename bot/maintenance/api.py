"""``/api/maintenance``: start, list and end maintenance windows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends
from pydantic import BaseModel, Field

from bot.maintenance import service
from bot.maintenance.decide import Window
from bot.maintenance.worker import MaintenanceWorker
from bot.people.http import Caller, allowed
from bot.people.model import Action
from bot.routing import Id, ServiceCore, call_service, protected_router, refusals, runtime_of


class MaintenanceRuntime(ServiceCore, Protocol):
    @property
    def maintenance(self) -> MaintenanceWorker | None: ...


RuntimeDep = Annotated[MaintenanceRuntime, Depends(runtime_of)]
router = protected_router(prefix="/api", tags=["maintenance"])


class WindowIn(BaseModel):
    matchers: list[str] = Field(default_factory=list, max_length=20)
    """Alertmanager matchers on an incident's labels: ``env="prod"``, ``team=~"db|ops"``."""
    service: str | None = Field(default=None, min_length=1, max_length=200)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration: str | None = Field(default=None, max_length=40)
    """Instead of ``ends_at``: ``2h``, ``90m``."""
    reason: str = Field(min_length=1, max_length=500)
    actor: str = Field(default="api", min_length=1, max_length=200)


class WindowOut(BaseModel):
    id: str
    matchers: list[str]
    service: str | None
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str
    active: bool
    source: str  # api | config
    ended_by: str | None = None

    @classmethod
    def of(cls, window: Window, *, active: bool, ended_by: str | None = None) -> WindowOut:
        return cls(
            id=window.key,
            matchers=[str(m) for m in window.matchers],
            service=window.service,
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            created_by=window.created_by,
            reason=window.reason,
            active=active,
            source="config" if window.from_config else "api",
            ended_by=ended_by,
        )


def _maintenance(runtime: MaintenanceRuntime) -> service.Maintenance:
    worker = runtime.maintenance
    return worker.maintenance if worker is not None else service.Maintenance()


@router.post(
    "/maintenance",
    summary="Start a maintenance window: matching incidents page nobody until it ends",
    response_model=WindowOut,
    status_code=201,
    responses=refusals(403, 422),
)
async def start_window(body: WindowIn, runtime: RuntimeDep, who: Caller) -> WindowOut:
    actor = await allowed(runtime, who, Action.START_MAINTENANCE, claimed=body.actor)
    now = runtime.clock()
    window = await call_service(
        service.create_window,
        runtime.db,
        matchers=body.matchers,
        service=body.service,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        duration=body.duration,
        created_by=actor,
        reason=body.reason,
        now=now,
    )
    return WindowOut.of(window, active=window.active(now))


@router.get(
    "/maintenance",
    summary="Maintenance windows running now or still to come, the config file's included",
    response_model=list[WindowOut],
)
async def list_windows(runtime: RuntimeDep, who: Caller) -> list[WindowOut]:
    await allowed(runtime, who, Action.VIEW)
    listed = await call_service(
        service.list_windows, runtime.db, _maintenance(runtime), now=runtime.clock()
    )
    return [WindowOut.of(x.window, active=x.active, ended_by=x.ended_by) for x in listed]


@router.delete(
    "/maintenance/{window_id}",
    summary="End a maintenance window now; what it held is re-evaluated",
    response_model=WindowOut,
    responses=refusals(403, 404, 409),
)
async def end_window(
    window_id: Id, runtime: RuntimeDep, who: Caller, actor: str = "api"
) -> WindowOut:
    by = await allowed(runtime, who, Action.END_MAINTENANCE, claimed=actor)
    window = await call_service(
        service.end_window, runtime.db, window_id, by=by, now=runtime.clock()
    )
    if runtime.maintenance is not None:
        runtime.maintenance.poke()
    return WindowOut.of(window, active=False, ended_by=by)
