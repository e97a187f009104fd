"""``/reports``: response times, incidents and automation success over a chosen period,
drawn as charts (the data is ``GET /api/reports/series``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from bot.errors import InvalidInputError
from bot.postmortem.reports import parse_since, summary_report
from bot.postmortem.series import Bucket, default_bucket, report_series
from bot.web.pages import render
from bot.web.report_charts import report_charts
from bot.web.session import SignedIn

DEFAULT_RANGE = timedelta(days=30)

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@dataclass(frozen=True, slots=True)
class Period:
    """The period picker's values: ``until`` is excluded; a bare date includes its day."""

    since: datetime
    until: datetime
    bucket: Bucket


def _moment(text: str, *, now: datetime, end: bool) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return parse_since(text, now=now)
    return datetime.combine(day + timedelta(days=1 if end else 0), time(), UTC)


def pick_period(since: str, until: str, bucket: str, *, now: datetime) -> Period:
    """The period from the picker's fields; empty fields mean the last 30 days."""
    end = _moment(until, now=now, end=True) if until else now
    start = _moment(since, now=now, end=False) if since else end - DEFAULT_RANGE
    if end <= start:
        raise InvalidInputError("the period must end after it starts")
    try:
        chosen = Bucket(bucket) if bucket else default_bucket(start, end)
    except ValueError:
        raise InvalidInputError(f"bucket {bucket!r} is neither day nor week") from None
    return Period(start, end, chosen)


@router.get("/reports")
async def reports_page(
    request: Request, _who: SignedIn, since: str = "", until: str = "", bucket: str = ""
) -> Response:
    now = request.app.state.runtime.clock()
    fields = {"since": since, "until": until, "bucket": bucket}
    try:
        period = pick_period(since, until, bucket, now=now)
        series = await run_in_threadpool(
            report_series,
            request.app.state.runtime.db,
            since=period.since,
            until=period.until,
            bucket=period.bucket,
        )
    except InvalidInputError as exc:
        context: dict[str, Any] = {"fields": fields, "error": str(exc), "series": None}
        context["charts"] = []
        return render(request, "reports/index.html.j2", context, status_code=422)
    summary = await run_in_threadpool(
        summary_report,
        request.app.state.runtime.db,
        since=period.since,
        until=period.until,
        now=now,
    )
    # Trusted markup: the charts are built by ElementTree, which escapes every label.
    charts = [(c.id, c.heading, Markup(c.svg)) for c in report_charts(series)]  # noqa: S704
    page: dict[str, Any] = {
        "fields": fields,
        "error": None,
        "series": series,
        "charts": charts,
        "followups": summary.followups,
    }
    return render(request, "reports/index.html.j2", page)
