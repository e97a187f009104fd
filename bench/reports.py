"""The report series and its charts over 10,000 incidents in 90 days, each with a few events.

    .venv/bin/python -m bench.reports [--incidents 10000] [--database-url URL] [--runs 5]

Without --database-url it uses a fresh SQLite file in a temporary directory. Prints the
time to read and compute the series (``report_series``, per day) and to draw its charts.
Target: the two together under 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.postmortem import timed
from bot.postmortem.series import Bucket, report_series
from bot.web.report_charts import report_charts
from storage import migrate
from storage.db import Database
from storage.tables import Incident, TimelineEvent

T0 = datetime(2026, 9, 1, tzinfo=UTC)
SERVICES = ("checkout", "payments", "search", "auth", "cart", "ledger")


def _incident(n: int) -> dict[str, Any]:
    opened = T0 + timedelta(minutes=13 * n)
    return {
        "title": f"incident {n}",
        "status": "resolved",
        "severity": f"SEV{n % 4 + 1}",
        "service": SERVICES[n % len(SERVICES)],
        "labels": {},
        "started_at": opened - timedelta(minutes=2),
        "opened_at": opened,
        "resolved_at": opened + timedelta(minutes=20 + n % 40),
        "updated_at": opened,
    }


def _events(incident_id: int, opened: datetime, n: int) -> list[dict[str, Any]]:
    def event(minutes: float, kind: str, /, **data: Any) -> dict[str, Any]:
        at = opened + timedelta(minutes=minutes)
        return {
            "incident_id": incident_id, "at": at, "recorded_at": at, "kind": kind,
            "actor": "fireline", "text": kind, "data": data, "dedupe_key": None,
        }  # fmt: skip

    step = {"run_id": f"r{n}", "step_id": "fix", "action": "x.fix", "kind": "remediate"}
    return [
        event(0, "incident.opened"),
        event(1, "runbook.selected", runbook_id=f"rb-{n % 5}"),
        event(2, "step.started", **step),
        event(3 + n % 7, "step.succeeded" if n % 3 else "step.failed", **step),
        event(4 + n % 11, "incident.acknowledged"),
        event(5, "note.added"),
    ]


def seed(db: Database, count: int) -> None:
    rows = [_incident(n) for n in range(count)]
    with db.write() as session:
        for start in range(0, count, 1000):
            session.execute(insert(Incident), rows[start : start + 1000])
    with db.write() as session:
        events = [
            e
            for n, row in enumerate(rows)
            for e in _events(n + 1, row["opened_at"], n)  # ids from 1 on an empty table
        ]
        for start in range(0, len(events), 2000):
            session.execute(insert(TimelineEvent), events[start : start + 2000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    since, until = T0, T0 + timedelta(minutes=13 * args.incidents)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        migrate.upgrade(db)
        seed(db, args.incidents)
        series_ms = timed(
            lambda: report_series(db, since=since, until=until, bucket=Bucket.DAY), args.runs
        )
        series = report_series(db, since=since, until=until, bucket=Bucket.DAY)
        charts_ms = timed(lambda: report_charts(series), args.runs)
        db.dispose()
    print(
        f"database: {db.dialect}; incidents: {args.incidents}; periods: {len(series.periods)} days"
    )
    print(f"series (read + compute): median {statistics.median(series_ms):.0f} ms")
    print(f"charts (five SVGs):      median {statistics.median(charts_ms):.0f} ms")
    total = statistics.median(series_ms) + statistics.median(charts_ms)
    print(f"together:                {total:.0f} ms (target < 1000 ms)")


if __name__ == "__main__":
    main()
