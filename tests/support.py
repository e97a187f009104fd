"""Helpers shared by the tests: real databases, a running app, Alertmanager payloads."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from bot.config import Settings
from bot.main import create_app

LOCAL_FIXTURES = Path(__file__).with_name("fixtures")
POSTGRES_URL = os.environ.get(
    "FIRELINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def load_fixture(name: str) -> dict[str, Any]:
    """A payload captured from a real Alertmanager 0.25 (``tests/fixtures``)."""
    data: dict[str, Any] = json.loads((LOCAL_FIXTURES / name).read_text())
    return data


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable: {type(exc).__name__}"
    return None


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema in the test database; yields a URL whose search_path points at it."""
    name = f"fl_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def alert(
    name: str = "HighErrorRate",
    *,
    fingerprint: str = "0123456789abcdef",
    status: str = "firing",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One alert, shaped exactly as Alertmanager 0.25 sends it."""
    starts = starts_at or datetime(2026, 11, 22, 21, 53, 26, 882978, tzinfo=UTC)
    if status == "resolved":
        ends = ends_at or starts + timedelta(minutes=5)
        ends_text = ends.isoformat().replace("+00:00", "Z")
    else:
        ends_text = "0001-01-01T00:00:00Z"
    return {
        "status": status,
        "labels": {"alertname": name, **(labels or {})},
        "annotations": annotations or {},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "endsAt": ends_text,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def payload(
    alerts: list[dict[str, Any]],
    *,
    receiver: str = "fireline",
    group_labels: dict[str, str] | None = None,
    group_key: str | None = None,
) -> dict[str, Any]:
    """A version 4 webhook body around ``alerts``, as Alertmanager builds it."""
    groups = (
        group_labels
        if group_labels is not None
        else {"alertname": alerts[0]["labels"]["alertname"]}
    )
    key = group_key or "{}:{" + ", ".join(f'{k}="{v}"' for k, v in sorted(groups.items())) + "}"
    common = dict(alerts[0]["labels"])
    for item in alerts[1:]:
        common = {k: v for k, v in common.items() if item["labels"].get(k) == v}
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "receiver": receiver,
        "status": "firing" if firing else "resolved",
        "alerts": alerts,
        "groupLabels": groups,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "version": "4",
        "groupKey": key,
        "truncatedAlerts": 0,
    }


@asynccontextmanager
async def running_app(
    settings: Settings, **create_kwargs: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The real app with its lifespan running, and an HTTP client wired into it."""
    app = create_app(settings, **create_kwargs)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fireline") as client:
            yield app, client
