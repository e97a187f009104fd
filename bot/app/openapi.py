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
    """The document for ``app``: routes answering 401 are marked as needing the API token."""
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
    components["securitySchemes"] = SECURITY_SCHEMES
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if "401" in operation.get("responses", {}):
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
