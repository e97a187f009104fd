"""The reports page's charts, drawn from a report series (pure: plain data in, SVG out)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.postmortem.reports import AUTOMATION_SUCCESS_TARGET, RUNBOOK_SUCCESS_TARGET, Spread
from bot.postmortem.series import Period, ReportSeries
from bot.web.charts import Bars, Series, Target, Unit, bar_chart, line_chart, rate_chart

AUTOMATION_TARGETS = tuple(
    Target(f"{whose} {rate:.0%}", round(rate * 100))
    for whose, rate in (
        ("automation", AUTOMATION_SUCCESS_TARGET),
        ("runbook", RUNBOOK_SUCCESS_TARGET),
    )
)
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart of the page: its heading and its SVG."""

    id: str
    heading: str
    svg: str


def _spread_series(series: ReportSeries, measure: Callable[[Period], Spread]) -> list[Series]:
    return [
        Series("median", [(p.start, measure(p).p50) for p in series.periods]),
        Series("p90", [(p.start, measure(p).p90) for p in series.periods]),
    ]


def _bars(series: ReportSeries) -> Bars:
    per = series.by_service_severity
    seen = {s for counts in per.values() for s in counts}
    groups = [s for s in SEVERITIES if s in seen] + sorted(seen - set(SEVERITIES))
    return Bars(
        categories=list(per),
        groups=groups,
        counts={(svc, sev): n for svc, counts in per.items() for sev, n in counts.items()},
    )


def report_charts(series: ReportSeries) -> list[Chart]:
    """Time to acknowledge, mitigate and resolve; incidents per service and severity; and
    automation's success rate against its targets."""
    per = series.bucket.value
    rate = Series(
        "success rate",
        [
            (
                p.start,
                None if p.automation_success_rate is None else p.automation_success_rate * 100,
            )
            for p in series.periods
        ],
    )
    response_times = [
        ("acknowledge", "Time to acknowledge", lambda p: p.time_to_acknowledge),
        ("mitigate", "Time to mitigate", lambda p: p.time_to_mitigate),
        ("resolve", "Time to resolve", lambda p: p.time_to_resolve),
    ]
    return [
        *(
            Chart(
                key,
                f"{title}, per {per}",
                line_chart(
                    f"{title} per {per}", _spread_series(series, measure), unit=Unit.SECONDS
                ),
            )
            for key, title, measure in response_times
        ),
        Chart(
            "services",
            "Incidents per service and severity",
            bar_chart("Incidents per service and severity", _bars(series)),
        ),
        Chart(
            "automation",
            f"Automation success rate, per {per}",
            rate_chart(f"Automation success rate per {per}", [rate], targets=AUTOMATION_TARGETS),
        ),
    ]
