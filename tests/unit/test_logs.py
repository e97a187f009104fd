"""Log records carry request and incident ids, and never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.app.settings import Settings
from bot.logs import RequestIdMiddleware, configure_logging

log = logging.getLogger("fireline.test")


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_secret_values_never_reach_the_log() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", secrets=["hunter2-token"], stream=stream)
    log.warning("calling with %s", "Bearer hunter2-token")
    try:
        raise RuntimeError("refused hunter2-token")
    except RuntimeError:
        log.exception("failed")
    text = stream.getvalue()
    assert "hunter2" not in text
    first, second = lines(stream)
    assert first["message"] == "calling with Bearer ***"
    assert "RuntimeError: refused ***" in str(second["exception"])


async def test_each_request_gets_an_id_in_its_logs_and_response() -> None:
    async def endpoint(request: Request) -> PlainTextResponse:
        log.warning("looked at %s", request.url.path)
        return PlainTextResponse("ok")

    app = RequestIdMiddleware(
        Starlette(routes=[Route("/api/incidents/{id:int}/timeline", endpoint)])
    )
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fireline") as client:
        given = await client.get("/api/incidents/7/timeline", headers={"x-request-id": "abc-1"})
        made = await client.get("/api/incidents/8/timeline")
        hostile = await client.get("/api/incidents/9/timeline", headers={"x-request-id": "a b\n"})
    assert given.headers["x-request-id"] == "abc-1"
    assert len(made.headers["x-request-id"]) == 16
    assert hostile.headers["x-request-id"] != "a b\n"
    records = [r for r in lines(stream) if r["logger"] == "fireline.test"]
    assert [(r["request_id"], r["incident_id"]) for r in records] == [
        ("abc-1", 7),
        (made.headers["x-request-id"], 8),
        (hostile.headers["x-request-id"], 9),
    ]


async def test_the_app_tags_api_requests_and_leaves_the_webhook_hot_path_alone(
    make_settings: Callable[..., Settings],
) -> None:
    from tests.support import alert, payload, running_app

    async with running_app(make_settings()) as (_, client):
        api = await client.get("/api/incidents", headers={"x-request-id": "from-the-caller"})
        hook = await client.post("/webhooks/alertmanager", json=payload([alert()]))
    assert api.headers["x-request-id"] == "from-the-caller"
    assert hook.status_code == 200
    assert "x-request-id" not in hook.headers


def test_every_secret_setting_is_scrubbed() -> None:
    from pydantic import SecretStr

    from bot.app.settings import Settings

    secret_fields = [
        name
        for name, info in Settings.model_fields.items()
        if "SecretStr" in str(info.annotation) and "dict" not in str(info.annotation)
    ]
    prefixes = {"slack_bot_token": "xoxb-", "slack_app_token": "xapp-"}
    values = {name: f"{prefixes.get(name, '')}s3cret-{name}" for name in secret_fields}
    settings = Settings(**values, secrets={"pd": SecretStr("s3cret-named")})  # type: ignore[arg-type]
    scrubbed = set(settings.secret_values())
    assert {"s3cret-smtp_password", "s3cret-twilio_auth_token", "s3cret-link_secret"} <= scrubbed
    assert len(secret_fields) >= 12
    assert scrubbed >= set(values.values()) | {"s3cret-named"}
