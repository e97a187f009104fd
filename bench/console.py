"""The console's two heaviest pages through the real app: the incident list over 10,000
incidents and an incident page whose timeline holds 10,000 events.

    .venv/bin/python -m bench.console [--incidents 10000] [--events 10000] [--rounds 200]
                                      [--postgres URL]

Seeds a fresh SQLite file (or the PostgreSQL database at --postgres, which must be empty
and is migrated first) with set-based inserts, starts the app with its lifespan and asks
it over ``httpx.ASGITransport``, so every figure includes routing, the session, the query
and the template. ``/healthz`` through the same app in the same run is the baseline.
Targets: the list page under 100 ms, the incident page under 300 ms (median and p99).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from bench.postmortem import T0
from bench.postmortem import seed as seed_busy_incident
from bot.app.main import create_app
from bot.app.settings import Settings
from storage import migrate
from storage.db import Database
from storage.tables import Incident

SERVICES = ("checkout", "payments", "search", "auth", "postgres")


def seed_incidents(db: Database, count: int) -> None:
    """``count`` incidents across services, severities and statuses, 1,000 per insert."""
    rows: list[dict[str, Any]] = []
    for n in range(count):
        at = T0 - timedelta(minutes=count - n)
        status = ("resolved", "acknowledged", "open")[n % 3]
        rows.append(
            {
                "title": f"{SERVICES[n % 5]} error rate above 5% (#{n})",
                "status": status,
                "severity": f"SEV{n % 4 + 1}",
                "service": SERVICES[n % 5],
                "labels": {"alertname": "HighErrorRate", "service": SERVICES[n % 5]},
                "started_at": at,
                "opened_at": at,
                "updated_at": at,
                "resolved_at": at + timedelta(minutes=30) if status == "resolved" else None,
                "reopen_count": 0,
            }
        )
    with db.write() as session:
        for start in range(0, len(rows), 1000):
            session.execute(insert(Incident), rows[start : start + 1000])


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(client: httpx.AsyncClient, path: str, rounds: int) -> tuple[list[float], int]:
    first = await client.get(path)  # warm: templates compiled, connections open
    assert first.status_code == 200, (path, first.status_code, first.text[:500])
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = await client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return samples, len(first.content)


async def run(url: str, *, incidents: int, events: int, rounds: int) -> None:
    db = Database(url)
    migrate.upgrade(db)
    seed_incidents(db, incidents)
    busy = seed_busy_incident(db, events)
    dialect = db.dialect
    db.dispose()
    settings = Settings(database_url=url, migrate_on_start=False)
    app = create_app(settings)
    pages = {
        "baseline /healthz": "/healthz",
        f"list of {incidents}": "/incidents",
        "list, filtered + search": "/incidents?status=open&severity=SEV2&q=checkout",
        f"incident with {events} events": f"/incidents/{busy}",
    }
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fireline") as client:
            print(f"database: {dialect}; rounds: {rounds}")
            for name, path in pages.items():
                samples, size = await measure(client, path, rounds)
                print(
                    f"{name:32} median {statistics.median(samples):6.1f} ms   "
                    f"p99 {percentile(samples, 0.99):6.1f} ms   {size / 1024:5.0f} KiB"
                )
    print("targets: list under 100 ms, incident page under 300 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'console.db'}"
        asyncio.run(run(url, incidents=args.incidents, events=args.events, rounds=args.rounds))


if __name__ == "__main__":
    main()
