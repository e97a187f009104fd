"""Helpers shared by the tests: real databases, a running app, Alertmanager payloads."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from bot.app.main import create_app
from bot.app.settings import Settings
from bot.incidents.triage import TriageOutcome, apply_payload
from bot.ingest.model import WebhookPayload
from storage.db import Database

LOCAL_FIXTURES = Path(__file__).with_name("fixtures")
POSTGRES_URL = os.environ.get(
    "FIRELINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def wait_until(check: Callable[[], Any], *, within: float = 30.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` after ``within``."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


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


def triage(db: Database, alerts: list[dict[str, Any]], *, at: datetime) -> TriageOutcome:
    """Apply one payload of ``alerts`` as triage does, received and handled at ``at``."""
    with db.write() as session:
        return apply_payload(
            session,
            WebhookPayload.model_validate(payload(alerts)),
            received_at=at,
            now=at,
            rules=(),
            flap_window=timedelta(minutes=10),
        )


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


async def settle(app: FastAPI, within: float = 10.0) -> None:
    """Wait until triage has taken every stored receipt."""
    import asyncio

    from storage.queries import count_pending_receipts

    runtime = app.state.runtime
    deadline = asyncio.get_running_loop().time() + within
    while True:
        with runtime.db.session() as session:
            if count_pending_receipts(session) == 0:
                return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("triage did not finish in time")
        await asyncio.sleep(0.02)


class Served:
    """The real app under uvicorn on a loopback port, with its lifespan running."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, args=([self._socket],))

    def __enter__(self) -> Served:
        self._thread.start()
        give_up = time.monotonic() + 30
        while not self._server.started:
            assert self._thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < give_up, "uvicorn did not start within 30 s"
            self._thread.join(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(30)
        self._socket.close()


class TcpProxy:
    """A loopback TCP proxy whose link can be cut, to give a real database outage.

    It runs its own event loop in a thread: the app under test makes blocking database
    calls from its loop (at shutdown, for one), and must not wait on itself.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.cut = False
        self._loop: Any = None
        self._thread: Any = None
        self._server: Any = None
        self._writers: set[Any] = set()

    def start(self) -> None:
        import asyncio
        import threading

        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()

            async def begin() -> None:
                self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
                self.port = self._server.sockets[0].getsockname()[1]
                ready.set()

            self._loop.run_until_complete(begin())
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        self.sever()

        def close() -> None:
            self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(close)
        self._thread.join(10)

    def sever(self) -> None:
        """Drop every open connection and refuse new ones until ``restore``."""
        import threading

        self.cut = True
        done = threading.Event()

        def close_all() -> None:
            for writer in list(self._writers):
                writer.close()
            self._writers.clear()
            done.set()

        self._loop.call_soon_threadsafe(close_all)
        done.wait(10)

    def restore(self) -> None:
        self.cut = False

    async def _handle(self, reader: Any, writer: Any) -> None:
        import asyncio
        import contextlib

        if self.cut:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update({writer, up_writer})

        async def pipe(src: Any, dst: Any) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update({writer, up_writer})
