"""``POST /webhooks/alertmanager``: authenticate, validate, commit, then answer.

This is the hot path: Alertmanager may deliver thousands of notifications a second in a
storm. It is a plain ASGI endpoint mounted first in the routing table, so that it skips
the framework's per-request machinery (dependency solving, exit stacks, the request
object) that an API route pays for; everything else about it is ordinary.
"""

from __future__ import annotations

import json
import logging
from time import perf_counter
from typing import Any, Protocol

from pydantic import SecretStr, ValidationError
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bot.clock import Clock
from bot.errors import StorageUnavailableError
from bot.ingest.model import WebhookPayload
from bot.ingest.writer import ReceiptWriter
from bot.security import bearer_matches

log = logging.getLogger(__name__)


class IngestSettings(Protocol):
    @property
    def webhook_token(self) -> SecretStr | None: ...

    @property
    def max_body_bytes(self) -> int: ...


class WebhookMetrics(Protocol):
    def observe_webhook(self, status: int, seconds: float) -> None: ...


class IngestRuntime(Protocol):
    """What the webhook uses of the running service."""

    @property
    def settings(self) -> IngestSettings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def writer(self) -> ReceiptWriter: ...

    @property
    def metrics(self) -> WebhookMetrics: ...


PATH = "/webhooks/alertmanager"


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


def describe_validation_error(exc: ValidationError) -> list[dict[str, Any]]:
    """The problems in FastAPI's shape, so the webhook and the API answer alike:
    ``{"loc": ["body", "alerts", 0, "labels"], "msg": ..., "type": ...}``."""
    problems = []
    for error in exc.errors(include_url=False):
        where = [] if error["type"] == "json_invalid" else list(error["loc"])
        problems.append({"loc": ["body", *where], "msg": error["msg"], "type": error["type"]})
    return problems


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _read_capped(scope: Scope, receive: Receive, limit: int) -> bytes:
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


Answer = tuple[int, bytes, list[tuple[bytes, bytes]]]


def _error(status: int, detail: Any, headers: list[tuple[bytes, bytes]] | None = None) -> Answer:
    return status, json.dumps({"detail": detail}).encode(), headers or []


async def ingest(runtime: IngestRuntime, scope: Scope, receive: Receive) -> Answer:
    """What the webhook answers; the receipt is committed before a 200."""
    settings = runtime.settings
    if not bearer_matches(_header(scope, b"authorization"), settings.webhook_token):
        client = scope.get("client")
        peer = f"{client[0]}:{client[1]}" if client else "an unknown peer"
        log.warning("webhook refused from %s: missing or wrong bearer token", peer)
        detail = "missing or wrong bearer token (FIRELINE_WEBHOOK_TOKEN)"
        return _error(401, detail, [(b"www-authenticate", b"Bearer")])
    try:
        body = await _read_capped(scope, receive, settings.max_body_bytes)
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
        return _error(503, "the database is unavailable; retry later", [(b"retry-after", b"5")])
    return 200, b'{"status":"accepted","alerts":%d}' % len(payload.alerts), []


class AlertmanagerWebhook:
    """The ASGI endpoint (an object, so that Starlette does not wrap it as a request handler)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = perf_counter()
        runtime: IngestRuntime = scope["app"].state.runtime
        try:
            status, body, headers = await ingest(runtime, scope, receive)
        except _Disconnected:
            return
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        runtime.metrics.observe_webhook(status, perf_counter() - started)


route = Route(PATH, AlertmanagerWebhook(), methods=["POST"], name="alertmanager_webhook")


def describe_webhook(schema: dict[str, Any]) -> None:
    """Add the webhook to an OpenAPI document, which only sees framework routes."""
    payload = WebhookPayload.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(payload.pop("$defs", {}))
    components["WebhookPayload"] = payload
    problem = {"$ref": "#/components/schemas/Problem"}

    def refusal(description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": problem}}}

    accepted = {
        "type": "object",
        "properties": {"status": {"const": "accepted"}, "alerts": {"type": "integer"}},
        "required": ["status", "alerts"],
    }
    responses = {
        "200": {
            "description": "Stored; triage follows",
            "content": {"application/json": {"schema": accepted}},
        },
        "401": refusal("Missing or wrong bearer token (FIRELINE_WEBHOOK_TOKEN)"),
        "413": refusal("Body larger than FIRELINE_MAX_BODY_BYTES"),
        "422": refusal("Not an Alertmanager-family payload; the fields named"),
        "503": refusal("The database is unavailable; Alertmanager will retry"),
    }
    schema.setdefault("paths", {})[PATH] = {
        "post": {
            "tags": ["ingest"],
            "summary": "Receive an Alertmanager or Grafana webhook",
            "operationId": "receive_alertmanager",
            "security": [{"webhookToken": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/WebhookPayload"}}
                },
            },
            "responses": responses,
        }
    }
