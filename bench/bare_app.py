"""The baseline of bench.ingest and bench.storm: Fireline's own webhook endpoint, on the
same routing path (the raw ASGI route mounted first, the same middleware), checking the
same token and parsing the same payload, with nothing stored: every receipt is answered
as soon as it is parsed.

    uvicorn bench.bare_app:app   (FIRELINE_WEBHOOK_TOKEN, when set, is required as in Fireline)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr

from bot.app.settings import Settings
from bot.clock import Clock, utcnow
from bot.ingest import api as webhook
from bot.logs import RequestIdMiddleware


@dataclass(frozen=True)
class _ParseOnlySettings:
    webhook_token: SecretStr | None
    max_body_bytes: int


class _NoWriter:
    """Takes the receipt and stores nothing."""

    async def submit(self, row: dict[str, Any]) -> None:
        return None


@dataclass
class _Latency:
    answered: int = 0
    seconds: float = 0.0

    def observe_webhook(self, status: int, seconds: float) -> None:
        self.answered += 1
        self.seconds += seconds


@dataclass
class _ParseOnlyRuntime:
    settings: _ParseOnlySettings
    clock: Clock = utcnow
    writer: _NoWriter = field(default_factory=_NoWriter)
    metrics: _Latency = field(default_factory=_Latency)


def create_app() -> FastAPI:
    token = os.environ.get("FIRELINE_WEBHOOK_TOKEN")
    settings = _ParseOnlySettings(
        webhook_token=SecretStr(token) if token else None,
        max_body_bytes=Settings.model_fields["max_body_bytes"].default,
    )
    app = FastAPI()
    app.state.runtime = _ParseOnlyRuntime(settings)
    app.router.routes.insert(0, webhook.route)
    app.add_middleware(RequestIdMiddleware, skip=(webhook.PATH,))
    return app


app = create_app()
