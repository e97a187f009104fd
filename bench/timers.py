"""Escalation timer lateness with 10,000 timers pending, across a restart in the middle.

    .venv/bin/python -m bench.timers [--timers 10000] [--spread 120] [--down 5]
                                     [--database-url URL]

Without --database-url it uses a fresh SQLite file (FULL sync, as shipped). The timers are
real rows due over ``--spread`` seconds of real time (no accelerated clock), fired by the
real scheduler job with its default 1 s tick. Half way through, the scheduler and its
database connections are stopped for ``--down`` seconds and a new one (a new process's
worth of state: new engine, new owner) starts, as after a restart.

Lateness is the time from a timer's due time to its notification being handed to the
notifier. Timers that fell due while nothing was running cannot be on time; for them the
benchmark prints how long after the restart they fired. Target: p99 under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlmodel import col

from bench.schema import own_schema
from bot.escalation.config import WatchdogConfig
from bot.escalation.decide import Level, Policy, Target, TargetKind
from bot.escalation.notify import Notification
from bot.escalation.service import EscalationRules
from bot.escalation.timers import EscalationScheduler
from storage import migrate
from storage.db import Database
from storage.tables import Incident, TimelineEvent
from storage.tables_escalation import EscalationTimer

RULES = EscalationRules(
    policies=(Policy("bench", (Level((Target(TargetKind.USER, "U1"),), timedelta(days=1)),)),),
    schedules={},
    roles={},
    watchdog=WatchdogConfig(),
)


class Recording:
    """Notes when each incident's page was decided and committed to the outbox."""

    def __init__(self) -> None:
        self.fired: dict[int, list[datetime]] = {}
        self.process = 1
        self.by_process: dict[int, int] = {}

    def record(self, pages: list[Notification]) -> None:
        at = datetime.now(UTC)
        for page in pages:
            self.fired.setdefault(page.incident_id, []).append(at)
            self.by_process[page.incident_id] = self.process


def seed(db: Database, *, count: int, first_due: datetime, spread: float) -> dict[int, datetime]:
    now = datetime.now(UTC)
    incidents = [
        {
            "title": f"bench {i}",
            "status": "open",
            "severity": "SEV3",
            "labels": {},
            "started_at": now,
            "opened_at": now,
            "updated_at": now,
            "reopen_count": 0,
        }
        for i in range(count)
    ]
    with db.write() as session:
        session.execute(insert(Incident), incidents)
        query = select(col(Incident.id)).order_by(col(Incident.id))
        ids = list(session.execute(query).scalars())
        due = {
            incident_id: first_due + timedelta(seconds=spread * i / count)
            for i, incident_id in enumerate(ids)
        }
        session.execute(
            insert(EscalationTimer),
            [
                {
                    "incident_id": incident_id,
                    "policy": "bench",
                    "status": "active",
                    "level": 0,
                    "round": 0,
                    "current_level": None,
                    "reason": "opened",
                    "due_at": at,
                    "version": 0,
                    "updated_at": now,
                }
                for incident_id, at in due.items()
            ],
        )
    return due


def percentiles(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)

    def p(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return (
        f"n={len(ordered):5d}  p50={p(0.50) * 1000:7.1f} ms  p99={p(0.99) * 1000:7.1f} ms  "
        f"max={ordered[-1] * 1000:7.1f} ms"
    )


async def run_for(url: str, recording: Recording, until: datetime) -> None:
    db = Database(url)
    scheduler = EscalationScheduler(db, rules=RULES, on_fired=recording.record)
    scheduler.start()
    try:
        await asyncio.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()))
    finally:
        await scheduler.stop()
        db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=120.0, help="seconds")
    parser.add_argument("--down", type=float, default=5.0, help="seconds stopped mid-way")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    with (
        tempfile.TemporaryDirectory() as tmp,
        own_schema(args.database_url, prefix="bench_timers") as pg_url,
    ):
        url = pg_url or f"sqlite:///{Path(tmp) / 'timers.db'}"
        setup = Database(url)
        migrate.upgrade(setup)
        first_due = datetime.now(UTC) + timedelta(seconds=5)
        started = time.perf_counter()
        due = seed(setup, count=args.timers, first_due=first_due, spread=args.spread)
        took = time.perf_counter() - started
        print(f"seeded {len(due)} timers in {took:.1f} s on {setup.dialect}")

        recording = Recording()
        middle = first_due + timedelta(seconds=args.spread / 2)
        await run_for(url, recording, middle)
        await asyncio.sleep(args.down)
        restarted_at = datetime.now(UTC)
        recording.process = 2
        last_due = max(due.values())
        await run_for(url, recording, last_due + timedelta(seconds=3))

        with setup.session() as session:
            notified = session.execute(
                select(func.count()).where(col(TimelineEvent.kind) == "escalation.notified")
            ).scalar_one()
        setup.dispose()

    before, caught_up, after = [], [], []
    for incident_id, at in due.items():
        fired = recording.fired.get(incident_id, [])
        if not fired:
            continue
        late = (fired[0] - at).total_seconds()
        if recording.by_process[incident_id] == 1:
            before.append(late)
        elif at < restarted_at:
            caught_up.append((fired[0] - restarted_at).total_seconds())
        else:
            after.append(late)
    missing = sum(1 for i in due if i not in recording.fired)
    twice = sum(1 for times in recording.fired.values() if len(times) > 1)
    print(f"timers due over {args.spread:.0f} s, stopped {args.down:.0f} s in the middle")
    print(f"lateness, first process     : {percentiles(before)}")
    print(f"lateness, after the restart : {percentiles(after)}")
    print(f"due while stopped, fired after restart (time after restart): {percentiles(caught_up)}")
    print(f"fired twice: {twice}  never fired: {missing}  notified events: {notified}")
    all_running = before + after
    p99 = sorted(all_running)[int(0.99 * len(all_running))] if all_running else float("nan")
    print(f"p99 lateness while running: {p99 * 1000:.1f} ms (target < 1000 ms)")


if __name__ == "__main__":
    asyncio.run(main())
