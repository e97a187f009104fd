"""Prometheus metrics, in a registry made per app (never the process-global one).

Webhook traffic is counted in-process on the hot path. Everything about incidents is read
from the database at scrape time, so the numbers hold across restarts and agree between
replicas: incidents opened and open by severity, time to acknowledge and to resolve, and
runbook runs by result (from the timeline), and the pipeline's health: the outbox's
backlog, oldest waiting message and failures per destination, how late the escalation
timers are, and the receipts triage has yet to take. A stuck pipeline shows as a growing
age, whichever replica is scraped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from bot.clock import Clock, utcnow
from bot.events import EventKind
from bot.notify import service as notify
from bot.outbox import service as outbox
from bot.postmortem.reports import runs_of
from storage import queries, queries_escalation, queries_reports
from storage.db import Database

log = logging.getLogger(__name__)

RESPONSE_BUCKETS = (60.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0)
RESCAN_IDS = 10_000  # look back this many event ids for rows that committed late
WEBHOOK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_STEP_KINDS = (
    EventKind.RUNBOOK_SELECTED,
    EventKind.STEP_SUCCEEDED,
    EventKind.STEP_FAILED,
    EventKind.STEP_TIMED_OUT,
    EventKind.STEP_INTERRUPTED,
    EventKind.STEP_REJECTED,
    EventKind.STEP_SKIPPED,
    EventKind.STEP_DRY_RUN,
    EventKind.STEP_STARTED,
    EventKind.STEP_AWAITING_APPROVAL,
    EventKind.STEP_APPROVED,
    EventKind.VERIFICATION_PASSED,
    EventKind.VERIFICATION_FAILED,
)


def histogram_buckets(
    values: Iterable[float], bounds: Sequence[float]
) -> tuple[list[tuple[str, float]], float]:
    """Cumulative buckets (with ``+Inf``) and the sum, as exposition wants them."""
    counts = [0] * (len(bounds) + 1)
    total = 0.0
    for value in values:
        total += value
        for index, bound in enumerate(bounds):
            if value <= bound:
                counts[index] += 1
                break
        else:
            counts[-1] += 1
    cumulative: list[tuple[str, float]] = []
    running = 0
    labels = [*(str(bound) for bound in bounds), "+Inf"]
    for label, count in zip(labels, counts, strict=True):
        running += count
        cumulative.append((label, float(running)))
    return cumulative, total


class DatabaseCollector(Collector):
    """Incident figures read from the database when Prometheus scrapes."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._lock = threading.Lock()
        self._watermark = 0
        self._runs_by_incident: dict[int, dict[tuple[str, str], int]] = {}

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        try:
            yield from self._from_database()
        except Exception:
            log.exception("metrics: the database could not be read")
        try:
            yield from self._pipeline()
        except Exception:
            log.exception("metrics: the pipeline figures could not be read")

    def _pipeline(self) -> Iterator[Metric]:
        now = self._clock()
        backlog = outbox.backlog(self._db, now=now)
        waiting = GaugeMetricFamily(
            "fireline_outbox_backlog",
            "Messages waiting to be sent, by destination.",
            labels=["destination"],
        )
        age = GaugeMetricFamily(
            "fireline_outbox_oldest_age_seconds",
            "How long the oldest waiting message has waited, by destination.",
            labels=["destination"],
        )
        for row in backlog:
            waiting.add_metric([row.destination], row.waiting)
            age.add_metric([row.destination], row.oldest_age)
        yield waiting
        yield age
        failed = CounterMetricFamily(
            "fireline_outbox_failed",
            "Messages given up on (refused, or out of attempts), by destination.",
            labels=["destination"],
        )
        for destination, count in outbox.failures(self._db):
            failed.add_metric([destination], count)
        yield failed
        notifications = CounterMetricFamily(
            "fireline_notifications",
            "Steps of people's notification rules, by contact method kind and outcome "
            "(pending, sent, failed, cancelled by an acknowledgement).",
            labels=["kind", "status"],
        )
        for kind, status, count in notify.notification_counts(self._db):
            notifications.add_metric([kind, status], count)
        yield notifications
        with self._db.session() as session:
            next_due = queries_escalation.next_due(session)
            receipts = queries.count_pending_receipts(session)
            oldest_receipt = queries.oldest_pending_receipt(session)
        lag = max(0.0, (now - next_due).total_seconds()) if next_due else 0.0
        yield GaugeMetricFamily(
            "fireline_escalation_timer_lag_seconds",
            "How far past its due time the most overdue escalation timer is.",
            value=lag,
        )
        yield GaugeMetricFamily(
            "fireline_triage_backlog", "Webhook receipts stored, not yet triaged.", value=receipts
        )
        yield GaugeMetricFamily(
            "fireline_triage_oldest_age_seconds",
            "How long the oldest untriaged receipt has waited.",
            value=max(0.0, (now - oldest_receipt).total_seconds()) if oldest_receipt else 0.0,
        )

    def _from_database(self) -> Iterator[Metric]:
        with self._db.session() as session:
            opened = queries_reports.incidents_by_severity(session)
            still_open = queries_reports.incidents_by_severity(session, open_only=True)
            times = queries_reports.response_times(session)
        total = CounterMetricFamily(
            "fireline_incidents_opened",
            "Incidents opened, by their current severity.",
            labels=["severity"],
        )
        for severity, count in sorted(opened.items()):
            total.add_metric([severity], count)
        yield total
        gauge = GaugeMetricFamily(
            "fireline_open_incidents", "Incidents not yet resolved.", labels=["severity"]
        )
        for severity, count in sorted(still_open.items()):
            gauge.add_metric([severity], count)
        yield gauge
        ack = [(a - o).total_seconds() for _s, o, a, _r in times if a is not None]
        res = [(r - s).total_seconds() for s, _o, _a, r in times if r is not None]
        for name, help_text, values in (
            (
                "fireline_time_to_acknowledge_seconds",
                "From detection to acknowledgement.",
                ack,
            ),
            ("fireline_time_to_resolve_seconds", "From impact start to resolution.", res),
        ):
            buckets, total_seconds = histogram_buckets(values, RESPONSE_BUCKETS)
            family = HistogramMetricFamily(name, help_text)
            family.add_metric([], buckets, total_seconds)
            yield family
        runs = CounterMetricFamily(
            "fireline_remediation_runs",
            "Runbook runs, by runbook and result.",
            labels=["runbook", "result"],
        )
        for (runbook, result), count in sorted(self._run_tally().items()):
            runs.add_metric([runbook, result], count)
        yield runs

    def _run_tally(self) -> dict[tuple[str, str], int]:
        """Runs by (runbook, result), recomputing only incidents with new step events.

        Each incident's runs are recomputed whole and replace what was kept, so looking at
        an incident twice is harmless; the look-back covers ids that committed late.
        """
        with self._lock:
            after = max(0, self._watermark - RESCAN_IDS)
            with self._db.session() as session:
                touched, highest = queries_reports.incidents_with_events_after(
                    session, after, _STEP_KINDS
                )
                events = queries_reports.events_of(session, touched, kinds=_STEP_KINDS)
            self._watermark = max(self._watermark, highest)
            by_incident: dict[int, list[Any]] = {incident_id: [] for incident_id in touched}
            for event in events:
                by_incident[event.incident_id].append(event)
            for incident_id, own in by_incident.items():
                tally: dict[tuple[str, str], int] = {}
                for run in runs_of(incident_id, own):
                    key = (run.runbook_id, run.result)
                    tally[key] = tally.get(key, 0) + 1
                self._runs_by_incident[incident_id] = tally
            total: dict[tuple[str, str], int] = {}
            for tally in self._runs_by_incident.values():
                for key, count in tally.items():
                    total[key] = total.get(key, 0) + count
            return total


class Metrics:
    """The app's metrics: one registry, the webhook instruments, the scrape-time collector."""

    def __init__(self, db: Database | None = None, *, clock: Clock = utcnow) -> None:
        self.registry = CollectorRegistry()
        self.webhook_requests = Counter(
            "fireline_webhook_requests",
            "Alertmanager webhook requests, by HTTP status.",
            ["code"],
            registry=self.registry,
        )
        self.webhook_latency = Histogram(
            "fireline_webhook_request_duration_seconds",
            "Time to answer an Alertmanager webhook.",
            buckets=WEBHOOK_BUCKETS,
            registry=self.registry,
        )
        self._by_code: dict[int, Any] = {}
        if db is not None:
            self.registry.register(DatabaseCollector(db, clock))

    def observe_webhook(self, status: int, seconds: float) -> None:
        """Count one webhook request; cheap enough for the hot path."""
        child = self._by_code.get(status)
        if child is None:
            child = self._by_code[status] = self.webhook_requests.labels(code=str(status))
        child.inc()
        self.webhook_latency.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


router = APIRouter(tags=["metrics"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    own: Metrics = request.app.state.runtime.metrics
    body = await run_in_threadpool(own.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
