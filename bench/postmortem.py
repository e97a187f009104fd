"""Render the post-mortem draft of an incident with 10,000 timeline events.

    .venv/bin/python bench/postmortem.py [--events 10000] [--database-url URL] [--runs 7]

Without --database-url it uses a fresh SQLite file in a temporary directory. Prints the
time to read the facts and build the data, and the whole render (read, build, Markdown).
Target: the whole render under 500 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.app.settings import Settings
from bot.app.wiring import draft_options
from bot.postmortem import postmortem_data, render_postmortem
from storage import migrate
from storage.db import Database
from storage.tables import AlertGroup, AlertRecord, Incident, TimelineEvent

T0 = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)


def _event(index: int, incident_id: int) -> dict[str, Any]:
    at = T0 + timedelta(seconds=index)
    run = f"run-{index // 40}"
    shape = index % 8
    if shape in (0, 1):
        step = f"step-{index % 5}"
        state = "started" if shape == 0 else ("succeeded" if index % 3 else "failed")
        kind, actor, text = f"step.{state}", "fireline", f"Step {step} {state}"
        data: dict[str, Any] = {
            "run_id": run,
            "step_id": step,
            "action": "kubernetes.rollout_undo",
            "kind": "remediate" if index % 5 == 0 else "diagnose",
            "params": {"namespace": "shop", "deployment": "checkout-api"},
            "output": "deployment.apps/checkout-api rolled back " * 3,
            "exit_code": 0,
        }
    elif shape == 2:
        kind, actor, text = "verification.passed", "fireline", "Verification passed"
        data = {"run_id": run, "step_id": "step-0", "method": "alert_resolved"}
    elif shape == 3:
        kind, actor, text = "escalation.notified", "scheduler", f"Paged level {index % 3 + 1}"
        data = {"policy": "checkout", "level": index % 3 + 1, "targets": ["alice", "bob"]}
    elif shape == 4:
        kind, actor, text = "note.added", f"user{index % 7}", f"Note {index}: looking | at it"
        data = {}
    elif shape == 5:
        kind, actor, text = "chat.message_added", "slack", f"message {index}"
        data = {"author": f"user{index % 11}", "permalink": "https://example.test/p"}
    elif shape == 6:
        kind, actor, text = "alert.fired", "alertmanager", f"Alert {index % 5} firing"
        data = {"alert_id": index % 5 + 1, "fingerprint": f"{index % 5:016x}", "labels": {}}
    else:
        kind, actor, text = "alert.resolved", "alertmanager", f"Alert {index % 5} resolved"
        data = {"alert_id": index % 5 + 1, "fingerprint": f"{index % 5:016x}"}
    return {
        "incident_id": incident_id,
        "at": at,
        "recorded_at": at,
        "kind": kind,
        "actor": actor,
        "text": text,
        "data": data,
        "dedupe_key": None,
    }


def seed(db: Database, events: int) -> int:
    with db.write() as session:
        incident = Incident(
            title="Checkout 5xx above 5%",
            status="resolved",
            severity="SEV2",
            service="checkout",
            started_at=T0,
            opened_at=T0 + timedelta(seconds=30),
            resolved_at=T0 + timedelta(seconds=events),
            resolved_by="alertmanager",
            updated_at=T0,
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        group = AlertGroup(
            receiver="fireline", group_key="{}:{}", created_at=T0, incident_id=incident.id
        )
        session.add(group)
        session.flush()
        assert group.id is not None
        for n in range(5):
            session.add(
                AlertRecord(
                    group_id=group.id,
                    incident_id=incident.id,
                    fingerprint=f"{n:016x}",
                    status="resolved",
                    labels={"alertname": f"Alert{n}", "service": "checkout"},
                    starts_at=T0 + timedelta(seconds=n),
                    ends_at=T0 + timedelta(seconds=events),
                    first_seen_at=T0,
                    last_seen_at=T0,
                )
            )
        rows = [_event(i, incident.id) for i in range(events)]
        for start in range(0, len(rows), 1000):
            session.execute(insert(TimelineEvent), rows[start : start + 1000])
        return incident.id


def timed(call: Callable[[], object], runs: int) -> list[float]:
    call()  # warm: template compiled, connections open
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        migrate.upgrade(db)
        incident_id = seed(db, args.events)
        settings = Settings(database_url=url, display_timezone="Europe/Paris")
        data_ms = timed(
            lambda: postmortem_data(db, incident_id, draft_options(settings)), args.runs
        )
        render_ms = timed(
            lambda: render_postmortem(db, incident_id, draft_options(settings)), args.runs
        )
        size = len(render_postmortem(db, incident_id, draft_options(settings)))
        db.dispose()
    print(f"database: {db.dialect}; events: {args.events}; draft: {size / 1024:.0f} KiB")
    print(
        f"read + build data: median {statistics.median(data_ms):.0f} ms, min {min(data_ms):.0f} ms"
    )
    print(
        f"whole render:      median {statistics.median(render_ms):.0f} ms, "
        f"min {min(render_ms):.0f} ms, max {max(render_ms):.0f} ms (target < 500 ms)"
    )


if __name__ == "__main__":
    main()
