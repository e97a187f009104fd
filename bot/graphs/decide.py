"""What to draw: the expression behind an alert, its threshold, the span and the step.

Plain data in and out.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

BEFORE = timedelta(hours=1)  # drawn before the alert started
POINTS = 240  # about this many samples across the span
MIN_STEP = timedelta(seconds=1)
MAX_SERIES = 8  # lines drawn; the rest are counted in the title

_THRESHOLD = re.compile(r"(?:>=|<=|==|!=|>|<)\s*(?:bool\s+)?(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")


class Moment(StrEnum):
    OPEN = "open"
    VERIFICATION = "verification"


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    step: timedelta


def expression_of(generator_url: str | None) -> str | None:
    """The PromQL expression of a Prometheus alert's ``generatorURL`` (``/graph?g0.expr=``)."""
    if not generator_url:
        return None
    query = urllib.parse.urlsplit(generator_url).query
    found = urllib.parse.parse_qs(query).get("g0.expr")
    expression = found[0].strip() if found else ""
    return expression or None


def threshold_of(expression: str) -> float | None:
    """The constant an alerting expression compares with (``... > 0.05``), if it ends so."""
    found = _THRESHOLD.search(expression)
    return float(found.group(1)) if found else None


def span_of(alert_started: datetime, *, until: datetime) -> Span:
    """The hour before the alert started, through ``until`` (now, or verification's end)."""
    start = alert_started - BEFORE
    end = max(until, alert_started + timedelta(minutes=1))
    step = max((end - start) / POINTS, MIN_STEP)
    return Span(start=start, end=end, step=timedelta(seconds=round(step.total_seconds())))


def series_label(metric: dict[str, str], *, limit: int = 60) -> str:
    """A series' legend: its labels but the name, as ``{a="b"}``, cut at ``limit``."""
    name = metric.get("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    text = f"{name}{{{inner}}}" if inner or not name else name
    return text if len(text) <= limit else text[: limit - 1] + "…"
