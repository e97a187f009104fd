"""Logging: JSON lines for machines, readable lines in a terminal.

Every record carries the request id and the incident id in force where it was logged
(from context variables the HTTP middleware and the automation runner set), and every
configured secret value is replaced by ``***`` before a record is written anywhere.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actions.masking import mask_text

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
incident_id: ContextVar[int | None] = ContextVar("incident_id", default=None)
_INCIDENT_PATH = re.compile(r"/api/incidents/(\d+)")
_CONTEXT = ("incident_id", "request_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


class ConsoleFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = [f"{k}={getattr(record, k)}" for k in _CONTEXT if getattr(record, k, None)]
        return f"{text} [{' '.join(ids)}]" if ids else text


class ContextFilter(logging.Filter):
    """Adds the request and incident ids in force to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        if getattr(record, "incident_id", None) is None:
            record.incident_id = incident_id.get()
        return True


class RedactFilter(logging.Filter):
    """Replaces every secret value in the message and the traceback with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        record.msg = mask_text(record.getMessage(), self._secrets)
        record.args = None
        if record.exc_info:
            record.exc_text = mask_text(
                logging.Formatter().formatException(record.exc_info), self._secrets
            )
            record.exc_info = None
        return True


def configure_logging(
    level: str = "INFO",
    fmt: str = "auto",
    *,
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> None:
    out = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if use_json else ConsoleFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)


class RequestIdMiddleware:
    """Gives every HTTP request an id (the caller's ``X-Request-ID`` if sane), echoes it
    in the response, and puts it, and the incident id of ``/api/incidents/N`` paths, in
    the logging context. Plain ASGI, so the webhook's hot path stays cheap."""

    def __init__(self, app: ASGIApp, *, skip: tuple[str, ...] = ()) -> None:
        self.app = app
        self._skip = frozenset(skip)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._skip:
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given if given and _SANE_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        found = _INCIDENT_PATH.match(scope.get("path", ""))
        token = request_id.set(rid)
        incident_token = incident_id.set(int(found.group(1)) if found else None)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
            incident_id.reset(incident_token)


_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            text: Any = value.decode("latin-1")
            return str(text)
    return None
