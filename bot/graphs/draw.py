"""The PNG: the expression's series, its threshold, the alert's start and the changes.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, safe in a
worker thread). Every text comes from the alert or a change, so none is read as mathtext.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.graphs.decide import MAX_SERIES

WIDTH, HEIGHT, DPI = 1000, 400, 100


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[datetime, float]]


@dataclass(frozen=True)
class Marker:
    at: datetime
    label: str


def _minutes(at: datetime, origin: datetime) -> float:
    """The x axis: minutes from the alert's start (negative before it)."""
    return (at - origin).total_seconds() / 60


def _text(value: str, limit: int = 90) -> str:
    value = value.replace("$", r"\$")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def draw(
    title: str,
    series: Sequence[Series],
    *,
    threshold: float | None,
    alert_started: datetime,
    changes: Sequence[Marker] = (),
) -> bytes:
    """A WIDTH x HEIGHT PNG of up to MAX_SERIES lines, with a dashed threshold, a line at
    the alert's start and one per change."""
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for one in series[:MAX_SERIES]:
        xs = [_minutes(t, alert_started) for t, _ in one.points]
        axes.plot(xs, [v for _, v in one.points], linewidth=1.4, label=_text(one.label, 60))
    if threshold is not None:
        axes.axhline(threshold, color="#c62828", linestyle="--", linewidth=1, label="threshold")
    axes.axvline(0.0, color="#ef6c00", linewidth=1.2, label="alert started")
    for change in changes:
        at = _minutes(change.at, alert_started)
        axes.axvline(at, color="#6a1b9a", linestyle=":", linewidth=1.2)
        axes.annotate(
            _text(change.label, 40),
            (at, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=7,
            color="#6a1b9a",
        )
    more = len(series) - MAX_SERIES
    axes.set_title(_text(title) + (f"  (+{more} series not drawn)" if more > 0 else ""), fontsize=9)
    started = alert_started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    axes.set_xlabel(f"minutes from the alert's start ({started})", fontsize=8)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left", fontsize=7)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
