"""A crash mid-step and two replicas racing: a mutating step runs at most once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from actions.context import Endpoints
from actions.engine import StepOutcome
from actions.gates import StepState
from actions.registry import default_registry
from bot.app.demo.run import demo_service
from bot.app.settings import Settings
from bot.app.wiring import automation_rules
from bot.automation.runner import AutomationRunner
from storage.db import Database
from tests.automation.stack import free_port
from tests.automation.support import web_down, write_runbook
from tests.support import running_app


@contextmanager
def slow_target(seconds: float) -> Iterator[tuple[str, list[str]]]:
    """A heal endpoint that takes ``seconds`` to answer, recording every call."""
    calls: list[str] = []

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            calls.append(self.path)
            time.sleep(seconds)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", calls
    finally:
        server.shutdown()
        server.server_close()


def serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_until(check: Any, *, within: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_step_cut_off_by_kill_9_is_interrupted_not_rerun(tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    write_runbook(runbooks, heal_timeout="60s")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "FIRELINE_DATABASE_URL": f"sqlite:///{tmp_path / 'fireline.db'}",
        "FIRELINE_RUNBOOK_DIRS": str(runbooks),
        "FIRELINE_HTTP_ALLOW": "127.0.0.0/8",
        "FIRELINE_AUTOMATION_TICK": "100ms",
        "FIRELINE_AUTOMATION_LEASE": "1s",
        "FIRELINE_PORT": str(port),
        "FIRELINE_LOG_FORMAT": "json",
    }
    log = tmp_path / "server.log"
    with slow_target(seconds=30) as (url, calls):
        first = serve(env, log)
        try:
            wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, what="start")
            httpx.post(f"{base}/api/runbooks/web-heal/promote", json={"by": "U-LEAD"})
            response = httpx.post(f"{base}/webhooks/alertmanager", json=web_down(f"{url}/heal"))
            assert response.status_code == 200
            wait_until(lambda: calls, what="the heal to start")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)

        second = serve(env, log)
        try:
            wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, what="restart")

            def heal_state() -> str | None:
                [run] = httpx.get(f"{base}/api/incidents/1/runs").json()
                heal = next(s for s in run["steps"] if s["step_id"] == "heal")
                return heal["state"] if heal["state"] == "interrupted" else None

            wait_until(heal_state, what="the step to be marked interrupted")
            time.sleep(1.5)  # several runner ticks: nothing may pick it up again
            [run] = httpx.get(f"{base}/api/incidents/1/runs").json()
            assert run["status"] == "interrupted"
            assert calls == ["/heal"]
            timeline = httpx.get(f"{base}/api/incidents/1/timeline").json()
            assert any(e["kind"] == "step.interrupted" for e in timeline)
        finally:
            second.terminate()
            second.wait(15)
    assert "Traceback" not in log.read_text()


@pytest.mark.postgres
async def test_two_replicas_racing_for_the_same_step_run_it_once(
    postgres_url: str, tmp_path: Path
) -> None:
    from tests.conftest import _truncate_all

    _truncate_all(postgres_url)
    runbooks = tmp_path / "runbooks"
    write_runbook(runbooks)
    settings = Settings(
        database_url=postgres_url,
        migrate_on_start=False,
        runbook_dirs=[runbooks],
        http_allow=["127.0.0.0/8"],
        automation_tick="1h",  # the replicas below do the running, not the app's own runner
    )
    with demo_service() as (url, demo):
        async with running_app(settings) as (_app, client):
            await client.post("/api/runbooks/web-heal/promote", json={"by": "U-LEAD"})
            assert (
                await client.post("/webhooks/alertmanager", json=web_down(f"{url}/heal"))
            ).status_code == 200
            await asyncio.sleep(0.5)  # triage plans the run

        # A lease this short lets claims lapse mid-run, so the replicas really do collide
        # on the same run and step; only the idempotency key and the conditional start
        # stand between them and a second heal.
        rules = replace(
            automation_rules(settings, default_registry(), None),
            lease=timedelta(milliseconds=300),
        )
        replicas = []
        async with httpx.AsyncClient() as http:
            for _ in range(4):
                db = Database(postgres_url)
                replicas.append(
                    AutomationRunner(
                        db,
                        rules=rules,
                        http=http,
                        endpoints=Endpoints(http_allow=tuple(settings.http_allow)),
                    )
                )
            for _ in range(3):
                await asyncio.gather(*(r.settle() for r in replicas))
            for replica in replicas:
                replica.db.dispose()
    assert demo.heals == 1


@pytest.mark.postgres
def test_replicas_whose_claims_collide_still_start_each_step_once(
    postgres_url: str, tmp_path: Path
) -> None:
    """Eight replicas claim the same run at the same instant, over and over, with claims
    that lapse at once; each step still starts exactly once."""
    from bot.automation import service
    from bot.automation.hooks import TriagePlanner
    from bot.incidents.triage import apply_payload
    from bot.ingest.model import WebhookPayload
    from bot.runbooks.loader import RunbookLibrary
    from bot.runbooks.service import LibrarySelector
    from storage import queries_automation as q
    from tests.conftest import _truncate_all

    _truncate_all(postgres_url)
    runbooks = tmp_path / "runbooks"
    write_runbook(runbooks)
    settings = Settings(
        database_url=postgres_url,
        migrate_on_start=False,
        runbook_dirs=[runbooks],
        automation_tick="1h",
    )
    # Triage plans the run exactly as the service does, without a runner of its own.
    library = RunbookLibrary([runbooks], registry=default_registry())
    library.reload()
    setup = Database(postgres_url)
    now = datetime.now(UTC)
    service.promote(setup, library.snapshot.runbooks[0], by="U-LEAD", now=now)
    with setup.write() as session:
        apply_payload(
            session,
            WebhookPayload.model_validate(web_down("http://127.0.0.1:9/heal")),
            received_at=now,
            now=now,
            rules=(),
            flap_window=timedelta(minutes=10),
            selector=LibrarySelector(lambda: library.index, planner=TriagePlanner([])),
        )
    setup.dispose()

    rules = automation_rules(settings, default_registry(), None)
    databases = [Database(postgres_url) for _ in range(8)]
    barrier = threading.Barrier(len(databases))
    started: list[tuple[str, str]] = []

    def replica(number: int, db: Database) -> None:
        owner = f"replica-{number}"
        for _ in range(20):
            barrier.wait()
            now = datetime.now(UTC)
            with db.write() as session:
                q.claim_runs(session, owner=owner, now=now, lease_until=now, limit=10)
            work = service.next_work(db, 1, owner=owner, rules=rules, now=now)
            if work is not None:
                started.append((owner, work.step_id))
                # Hand the run back as finished so the next round can move on.
                outcome = StepOutcome(StepState.SUCCEEDED, "done")
                service.finish_step(db, work, outcome, owner=owner, rules=rules, now=now)

    threads = [threading.Thread(target=replica, args=(n, db)) for n, db in enumerate(databases)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for db in databases:
        db.dispose()
    steps = [step_id for _, step_id in started]
    assert sorted(steps) == ["announce", "heal"]
