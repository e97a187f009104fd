"""``/api/changes`` and the receivers of what teams already emit: GitHub's
``deployment_status`` webhook (``/webhooks/github``, HMAC-signed) and Argo CD notifications'
webhook (``/webhooks/argocd``, with an API token)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, SecretStr

from bot.changes import service
from bot.changes.decide import argocd_change, github_change
from bot.changes.model import ChangeFacts, ChangeKind
from bot.errors import InvalidInputError
from bot.people.http import Caller, allowed
from bot.people.model import Action
from bot.routing import ServiceCore, call_service, protected_router, refusals, runtime_of
from storage.tables_changes import Change


class ChangeSettings(Protocol):
    @property
    def change_window(self) -> timedelta: ...

    @property
    def github_webhook_secret(self) -> SecretStr | None: ...

    @property
    def max_body_bytes(self) -> int: ...


class ChangesRuntime(ServiceCore, Protocol):
    @property
    def settings(self) -> ChangeSettings: ...


RuntimeDep = Annotated[ChangesRuntime, Depends(runtime_of)]
router = protected_router(tags=["changes"])
receivers = APIRouter(tags=["changes"])
Label = Annotated[str, Field(max_length=200)]


class ChangeIn(BaseModel):
    kind: ChangeKind = ChangeKind.DEPLOY
    service: str = Field(min_length=1, max_length=200)
    environment: str | None = Field(default=None, min_length=1, max_length=100)
    version: str | None = Field(default=None, min_length=1, max_length=200)
    previous_version: str | None = Field(default=None, min_length=1, max_length=200)
    """Left out for a deploy: the service's deploy before this one, if Fireline has it."""
    by: str = Field(default="api", min_length=1, max_length=200)
    summary: str = Field(default="", max_length=2000)
    link: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    labels: dict[Label, Label] = Field(default_factory=dict, max_length=20)
    at: datetime | None = None
    """When the change took effect (RFC 3339 with a zone); now when left out."""
    id: str | None = Field(default=None, min_length=1, max_length=200)
    """The sender's own id for this change: sent twice, it is stored once."""


class ChangeOut(BaseModel):
    id: int
    kind: str
    service: str
    environment: str | None
    version: str | None
    previous_version: str | None
    by: str
    summary: str
    link: str | None
    labels: dict[str, str]
    at: datetime
    source: str
    recorded_by: str
    incidents: list[int] = Field(default_factory=list)
    """Open incidents it was attached to as it was recorded."""

    @classmethod
    def of(cls, row: Change, incidents: list[int] | None = None) -> ChangeOut:
        assert row.id is not None
        return cls(
            id=row.id,
            kind=row.kind,
            service=row.service,
            environment=row.environment,
            version=row.version,
            previous_version=row.previous_version,
            by=row.actor,
            summary=row.summary,
            link=row.link,
            labels=dict(row.labels or {}),
            at=row.at,
            source=row.source,
            recorded_by=row.recorded_by,
            incidents=incidents or [],
        )


def facts_of(body: ChangeIn, *, actor: str, source: str, now: datetime) -> ChangeFacts:
    if body.at is not None and body.at.tzinfo is None:
        raise InvalidInputError("at: give a time zone (2026-12-01T10:00:00Z)")
    return ChangeFacts(
        kind=body.kind,
        service=body.service,
        environment=body.environment,
        version=body.version,
        previous_version=body.previous_version,
        actor=actor,
        at=body.at or now,
        summary=body.summary,
        link=body.link,
        labels=dict(body.labels),
        source=source,
        external_id=body.id,
    )


async def _record(runtime: ChangesRuntime, facts: ChangeFacts, *, recorded_by: str) -> JSONResponse:
    """201 with the change, or 200 with the one stored before under the same id."""
    recorded = await call_service(
        service.record,
        runtime.db,
        facts,
        recorded_by=recorded_by,
        window=runtime.settings.change_window,
        now=runtime.clock(),
    )
    out = ChangeOut.of(recorded.change, recorded.incidents)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if recorded.created else 200)


@router.post(
    "/api/changes",
    summary="Record a deploy, config change, flag flip or rollback",
    response_model=ChangeOut,
    status_code=201,
    responses={200: {"description": "Stored before under the same id"}, **refusals(403)},
)
async def record_change(body: ChangeIn, runtime: RuntimeDep, who: Caller) -> JSONResponse:
    actor = await allowed(runtime, who, Action.RECORD_CHANGE, claimed=body.by)
    facts = facts_of(body, actor=actor, source="api", now=runtime.clock())
    return await _record(runtime, facts, recorded_by=who.actor)


@router.get(
    "/api/changes",
    summary="Changes, newest first; filter by service and time",
    response_model=list[ChangeOut],
)
async def list_changes(
    runtime: RuntimeDep,
    who: Caller,
    service_name: Annotated[str | None, Query(alias="service", max_length=200)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ChangeOut]:
    await allowed(runtime, who, Action.VIEW)
    rows = await call_service(
        service.list_changes,
        runtime.db,
        service=service_name,
        since=since,
        until=until,
        limit=limit,
    )
    return [ChangeOut.of(r) for r in rows]


@router.post(
    "/webhooks/argocd",
    summary="Argo CD notifications' webhook: a finished sync is a deploy (docs/changes.md)",
    response_model=ChangeOut,
    status_code=201,
    responses={202: {"description": "Not a finished deploy: ignored"}, **refusals(403)},
)
async def argocd(body: dict[str, Any], runtime: RuntimeDep, who: Caller) -> JSONResponse:
    actor = await allowed(runtime, who, Action.RECORD_CHANGE)
    parsed = argocd_change(body, now=runtime.clock())
    if isinstance(parsed, str):
        return JSONResponse({"ignored": parsed}, status_code=202)
    return await _record(runtime, parsed, recorded_by=actor)


def github_signature_valid(secret: str, body: bytes, given: str) -> bool:
    """``X-Hub-Signature-256``: ``sha256=`` and the HMAC-SHA256 of the raw body."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


@receivers.post(
    "/webhooks/github",
    summary="GitHub's deployment_status webhook: a successful status is a deploy",
    response_model=ChangeOut,
    status_code=201,
    responses={
        202: {"description": "Another event or an unfinished deploy: ignored"},
        **refusals(403, 413, 422),
    },
)
async def github(request: Request, runtime: RuntimeDep) -> JSONResponse:
    settings = runtime.settings
    secret = settings.github_webhook_secret
    if secret is None:
        return JSONResponse(
            {"detail": "FIRELINE_GITHUB_WEBHOOK_SECRET is not set: GitHub's events are refused"},
            status_code=403,
        )
    body = await request.body()
    if len(body) > settings.max_body_bytes:
        return JSONResponse(
            {"detail": f"body larger than {settings.max_body_bytes} bytes"}, status_code=413
        )
    given = request.headers.get("x-hub-signature-256", "")
    if not github_signature_valid(secret.get_secret_value(), body, given):
        return JSONResponse({"detail": "X-Hub-Signature-256 does not match"}, status_code=403)
    event = request.headers.get("x-github-event", "")
    if event == "ping":
        return JSONResponse({"ok": "pong"}, status_code=200)
    if event != "deployment_status":
        return JSONResponse({"ignored": f"event {event!r} is not deployment_status"}, 202)
    parsed = github_change(_json_object(body), now=runtime.clock())
    if isinstance(parsed, str):
        return JSONResponse({"ignored": parsed}, status_code=202)
    return await _record(runtime, parsed, recorded_by="github")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise InvalidInputError(f"the body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidInputError("the body is not a JSON object")
    return value
