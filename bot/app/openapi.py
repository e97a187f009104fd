"""The OpenAPI document: the framework's routes, the webhook, and who must bring a token."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from bot.ingest import api as webhook
from bot.routing import Problem

SECURITY_SCHEMES = {
    "apiToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "FIRELINE_API_TOKEN; every /api route needs it when it is set",
    },
    "webhookToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "FIRELINE_WEBHOOK_TOKEN; the Alertmanager webhook needs it when it is set",
    },
}


def build(app: FastAPI) -> dict[str, Any]:
    """The document for ``app``: ``/api`` routes answering 401 need the API token (Slack's
    route answers 401 too, but it checks Slack's signature, not a bearer token)."""
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
    components["securitySchemes"] = SECURITY_SCHEMES
    for path, path_item in schema.get("paths", {}).items():
        for operation in path_item.values():
            if path.startswith("/api/") and "401" in operation.get("responses", {}):
                operation.setdefault("security", [{"apiToken": []}])
    webhook.describe_webhook(schema)
    return schema


def install(app: FastAPI) -> None:
    """Serve :func:`build`'s document at ``/openapi.json``, built once on first request."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
