"""The baseline for bench/ingest.py: a FastAPI endpoint that only parses the payload."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

from bot.ingest.model import WebhookPayload

app = FastAPI()


@app.post("/webhooks/alertmanager")
async def receive(request: Request) -> Response:
    payload = WebhookPayload.model_validate_json(await request.body())
    return Response(
        b'{"status":"accepted","alerts":%d}' % len(payload.alerts), media_type="application/json"
    )
