"""Reports over time: response times, incidents and automation success per day or week.

The same measures as the summary (``reports.py``), cut into periods by when each incident
opened, so a chart shows the trend: median and p90 time to acknowledge (from opening),
to mitigate (the first successful remediation step, from impact start) and to resolve
(from impact start); incidents per service and severity; and the share of counted
runbook runs that succeeded. A period without incidents is kept, with no values, so a
chart draws a gap instead of joining across it. ``series_of`` is pure; ``report_series``
loads the rows with two set-based queries.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.errors import InvalidInputError
from bot.events import STEP_KINDS, EventKind
from bot.postmortem.facts import FactEvent, first_successful_remediation, steps_of
from bot.postmortem.reports import Spread, runs_of
from storage import queries_reports
from storage.db import Database
from storage.queries_reports import IncidentTimes

MAX_PERIODS = 400
SERIES_KINDS = tuple(
    sorted(
        {
            EventKind.INCIDENT_OPENED,
            EventKind.INCIDENT_ACKNOWLEDGED,
            EventKind.RUNBOOK_SELECTED,
            EventKind.VERIFICATION_PASSED,
            EventKind.VERIFICATION_FAILED,
            *STEP_KINDS,
        }
    )
)


class Bucket(StrEnum):
    DAY = "day"
    WEEK = "week"


@dataclass(frozen=True, slots=True)
class Period:
    """One day or week (weeks start on Monday, UTC) and what the incidents in it measured."""

    start: datetime
    incidents: int
    time_to_acknowledge: Spread
    time_to_mitigate: Spread
    time_to_resolve: Spread
    automation_runs: int
    automation_succeeded: int
    automation_success_rate: float | None  # 0..1 of the runs that finished; None for none


@dataclass(frozen=True, slots=True)
class ReportSeries:
    since: datetime
    until: datetime
    bucket: Bucket
    periods: list[Period]
    by_service_severity: dict[str, dict[str, int]] = field(default_factory=dict)


def bucket_start(moment: datetime, bucket: Bucket) -> datetime:
    """The start (UTC midnight; Monday for a week) of the period holding ``moment``."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if bucket is Bucket.WEEK else day


def period_starts(since: datetime, until: datetime, bucket: Bucket) -> list[datetime]:
    """Every period's start from the one holding ``since`` to the one holding the last
    moment before ``until`` (which is excluded)."""
    step = timedelta(days=7 if bucket is Bucket.WEEK else 1)
    first = bucket_start(since, bucket)
    last = max(first, bucket_start(until - timedelta(microseconds=1), bucket))
    count = (last - first) // step + 1
    if count > MAX_PERIODS:
        raise InvalidInputError(
            f"{count} {bucket.value}s is too many for one series (at most {MAX_PERIODS}); "
            "choose a shorter range or bucket=week"
        )
    return [first + step * i for i in range(count)]


def default_bucket(since: datetime, until: datetime) -> Bucket:
    """Days for up to 60 days, weeks beyond."""
    return Bucket.DAY if until - since <= timedelta(days=60) else Bucket.WEEK


@dataclass
class _Measures:
    incidents: int = 0
    to_ack: list[float] = field(default_factory=list)
    to_mitigate: list[float] = field(default_factory=list)
    to_resolve: list[float] = field(default_factory=list)
    runs: int = 0
    succeeded: int = 0

    def period(self, start: datetime) -> Period:
        return Period(
            start=start,
            incidents=self.incidents,
            time_to_acknowledge=Spread.of(self.to_ack),
            time_to_mitigate=Spread.of(self.to_mitigate),
            time_to_resolve=Spread.of(self.to_resolve),
            automation_runs=self.runs,
            automation_succeeded=self.succeeded,
            automation_success_rate=None
            if self.runs == 0
            else round(self.succeeded / self.runs, 4),
        )


def _measure(into: _Measures, incident: IncidentTimes, own: Sequence[FactEvent]) -> None:
    into.incidents += 1
    opened = next((e.at for e in own if e.kind == EventKind.INCIDENT_OPENED), incident.opened_at)
    ack = next((e.at for e in own if e.kind == EventKind.INCIDENT_ACKNOWLEDGED), None)
    if ack is not None:
        into.to_ack.append((ack - opened).total_seconds())
    mitigation = first_successful_remediation(steps_of(own))
    if mitigation is not None:
        into.to_mitigate.append((mitigation.finished_at - incident.started_at).total_seconds())
    if incident.status == "resolved" and incident.resolved_at is not None:
        into.to_resolve.append((incident.resolved_at - incident.started_at).total_seconds())
    finished = [r for r in runs_of(incident.id, own) if r.result not in ("pending", "dry_run")]
    into.runs += len(finished)
    into.succeeded += sum(1 for r in finished if r.result == "succeeded")


def series_of(
    incidents: Sequence[IncidentTimes],
    events: Mapping[int, Sequence[FactEvent]],
    *,
    since: datetime,
    until: datetime,
    bucket: Bucket,
) -> ReportSeries:
    """The series over ``incidents``; ``events`` holds each one's events in order of ``at``."""
    starts = period_starts(since, until, bucket)
    measures = {start: _Measures() for start in starts}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for incident in incidents:
        into = measures.get(bucket_start(incident.opened_at, bucket))
        if into is None:
            continue
        _measure(into, incident, events.get(incident.id, ()))
        counts[incident.service or "(none)"][incident.severity] += 1
    return ReportSeries(
        since=since,
        until=until,
        bucket=bucket,
        periods=[measures[start].period(start) for start in starts],
        by_service_severity={
            service: dict(sorted(per.items())) for service, per in sorted(counts.items())
        },
    )


def report_series(
    db: Database, *, since: datetime, until: datetime, bucket: Bucket | None = None
) -> ReportSeries:
    """The series of incidents opened in ``[since, until)``."""
    if until <= since:
        raise InvalidInputError("until must be after since")
    chosen = bucket or default_bucket(since, until)
    period_starts(since, until, chosen)  # refuse a too-long range before reading anything
    with db.session() as session:
        incidents = queries_reports.incident_times_between(session, since=since, until=until)
        rows = queries_reports.events_of(
            session, [i.id for i in incidents], kinds=[str(k) for k in SERIES_KINDS]
        )
    by_incident: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_incident[row.incident_id].append(row)
    return series_of(incidents, by_incident, since=since, until=until, bucket=chosen)
