"""``POST /webhooks/alertmanager``: authenticate, validate, commit, then answer."""

from __future__ import annotations

import json
from time import perf_counter
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from bot.deps import RuntimeDep
from bot.domain.alerts import WebhookPayload
from bot.errors import StorageUnavailableError
from bot.security import bearer_matches

router = APIRouter()


def _error(status: int, detail: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps({"detail": detail}).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class _TooLarge(Exception):
    pass


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def describe_validation_error(exc: ValidationError) -> list[dict[str, str]]:
    problems = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"]) or "body"
        if error["type"] == "json_invalid":
            path = "body"
        problems.append({"loc": path, "msg": error["msg"], "type": error["type"]})
    return problems


@router.post(
    "/webhooks/alertmanager",
    tags=["ingest"],
    summary="Receive an Alertmanager webhook (version 4)",
    responses={
        200: {"description": "Stored; triage follows"},
        401: {"description": "Missing or wrong bearer token"},
        413: {"description": "Body larger than FIRELINE_MAX_BODY_BYTES"},
        422: {"description": "Not an Alertmanager version 4 payload; the field path is named"},
        503: {"description": "The database is unavailable; Alertmanager will retry"},
    },
)
async def receive_alertmanager(request: Request, runtime: RuntimeDep) -> Response:
    started = perf_counter()
    response = await _receive(request, runtime)
    runtime.metrics.observe_webhook(response.status_code, perf_counter() - started)
    return response


async def _receive(request: Request, runtime: RuntimeDep) -> Response:
    settings = runtime.settings
    if not bearer_matches(request.headers.get("authorization"), settings.webhook_token):
        return _error(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
    try:
        body = await _read_capped(request, settings.max_body_bytes)
    except _TooLarge:
        return _error(413, f"body larger than {settings.max_body_bytes} bytes")
    try:
        payload = WebhookPayload.model_validate_json(body)
    except ValidationError as exc:
        return _error(422, describe_validation_error(exc))
    row = {
        "received_at": runtime.clock(),
        "receiver": payload.receiver,
        "group_key": payload.groupKey,
        "status": payload.status,
        "alert_count": len(payload.alerts),
        "body": body.decode("utf-8"),
        "processed_at": None,
        "error": None,
    }
    try:
        await runtime.writer.submit(row)
    except StorageUnavailableError:
        return _error(503, "the database is unavailable; retry later", {"Retry-After": "5"})
    return Response(
        b'{"status":"accepted","alerts":%d}' % len(payload.alerts),
        media_type="application/json",
    )
