"""Charts as inline SVG strings, drawn on the server from plain data (no IO).

Every label and name goes through ``xml.etree.ElementTree``, which escapes text and
attribute values, so a service called ``<script>`` is drawn as those characters. The
console's Content-Security-Policy forbids ``style`` attributes: shapes carry a ``class``
(coloured by console.css) and presentation attributes only. Each chart is an image for
assistive technology: ``role="img"``, an ``aria-label``, a ``<title>`` and a ``<desc>``
that states the data in words.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.durations import format_duration

WIDTH = 720
HEIGHT = 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 56
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM
MAX_X_TICKS = 8
PALETTE_SIZE = 6  # console.css defines .series-0 ... .series-5

_DURATION_STEPS = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 172800, 604800,
)  # fmt: skip


class Unit(StrEnum):
    """What a value axis counts; it decides the ticks and how they read."""

    SECONDS = "seconds"
    PERCENT = "percent"
    COUNT = "count"


@dataclass(frozen=True, slots=True)
class Series:
    """One line: a value (None: no data, drawn as a gap) at each moment, oldest first."""

    name: str
    points: Sequence[tuple[datetime, float | None]]


@dataclass(frozen=True, slots=True)
class Target:
    """A horizontal reference line, such as an 85 % success target."""

    label: str
    value: float


@dataclass(frozen=True, slots=True)
class Bars:
    """Counts per category (x) and group (stacked within a category)."""

    categories: Sequence[str]
    groups: Sequence[str]
    counts: Mapping[tuple[str, str], int] = field(default_factory=dict)


def format_value(value: float, unit: Unit) -> str:
    """A tick or point label: ``5m``, ``85%``, ``12``."""
    if unit is Unit.SECONDS:
        return "0s" if value <= 0 else format_duration(timedelta(seconds=round(value)))
    if unit is Unit.PERCENT:
        return f"{value:g}%"
    return f"{value:g}"


def value_ticks(high: float, unit: Unit) -> list[float]:
    """Round tick values from 0 to at least ``high``: about five, on steps people read."""
    if unit is Unit.PERCENT:
        return [0, 25, 50, 75, 100]
    high = max(high, 1.0)
    if unit is Unit.SECONDS:
        step = next((s for s in _DURATION_STEPS if high / s <= 5), _DURATION_STEPS[-1])
    else:
        magnitude = 10 ** math.floor(math.log10(high / 5)) if high > 5 else 1
        step = next(m * magnitude for m in (1, 2, 5, 10) if high / (m * magnitude) <= 5)
    count = math.ceil(high / step)
    return [float(step * i) for i in range(count + 1)]


def date_label(moment: datetime, span: timedelta) -> str:
    """``12-05`` for a day, ``12-05 14:00`` when the chart spans under two days."""
    return moment.strftime("%m-%d %H:%M" if span < timedelta(days=2) else "%m-%d")


def _svg(title: str, description: str) -> ET.Element:
    root = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "role": "img",
            "aria-label": title,
            "class": "chart",
        },
    )
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "desc").text = description
    return root


def _text(parent: ET.Element, x: float, y: float, text: str, **attrs: str) -> None:
    element = ET.SubElement(parent, "text", {"x": _n(x), "y": _n(y), **attrs})
    element.text = text


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _no_data(root: ET.Element) -> str:
    _text(
        root, WIDTH / 2, HEIGHT / 2, "no data", **{"class": "chart-empty", "text-anchor": "middle"}
    )
    return ET.tostring(root, encoding="unicode")


def _value_axis(root: ET.Element, ticks: Sequence[float], unit: Unit) -> None:
    top = ticks[-1] or 1.0
    axis = ET.SubElement(root, "g", {"class": "ticks ticks-y"})
    for tick in ticks:
        y = TOP + PLOT_H - tick / top * PLOT_H
        ET.SubElement(
            axis,
            "line",
            {
                "x1": _n(LEFT),
                "x2": _n(LEFT + PLOT_W),
                "y1": _n(y),
                "y2": _n(y),
                "class": "grid-line",
            },
        )
        _text(axis, LEFT - 6, y + 4, format_value(tick, unit), **{"text-anchor": "end"})


def _x_of(moment: datetime, start: datetime, span: timedelta) -> float:
    if span <= timedelta(0):
        return LEFT + PLOT_W / 2
    return LEFT + (moment - start) / span * PLOT_W


def _time_axis(root: ET.Element, moments: Sequence[datetime]) -> None:
    start, span = moments[0], moments[-1] - moments[0]
    every = max(1, math.ceil(len(moments) / MAX_X_TICKS))
    axis = ET.SubElement(root, "g", {"class": "ticks ticks-x"})
    for moment in moments[::every]:
        x = _x_of(moment, start, span)
        _text(axis, x, TOP + PLOT_H + 18, date_label(moment, span), **{"text-anchor": "middle"})


def _legend(root: ET.Element, names: Sequence[str]) -> None:
    legend = ET.SubElement(root, "g", {"class": "legend"})
    x = float(LEFT)
    for index, name in enumerate(names):
        y = HEIGHT - 14
        ET.SubElement(
            legend,
            "rect",
            {"x": _n(x), "y": _n(y - 9), "width": "10", "height": "10", "class": _swatch(index)},
        )
        _text(legend, x + 14, y, name)
        x += 24 + 7.5 * len(name)


def _swatch(index: int) -> str:
    return f"swatch series-{index % PALETTE_SIZE}"


def line_chart(
    title: str, series: Sequence[Series], *, unit: Unit, targets: Sequence[Target] = ()
) -> str:
    """Lines over time, one per series; a missing value breaks its line (a gap)."""
    moments = sorted({at for s in series for at, _ in s.points})
    values = [v for s in series for _, v in s.points if v is not None]
    root = _svg(title, _line_description(series, unit, targets))
    if not values:
        return _no_data(root)
    ticks = value_ticks(max([*values, *(t.value for t in targets)]), unit)
    top = ticks[-1] or 1.0
    _value_axis(root, ticks, unit)
    _time_axis(root, moments)
    start, span = moments[0], moments[-1] - moments[0]

    def y_of(value: float) -> float:
        return TOP + PLOT_H - min(value, top) / top * PLOT_H

    for target in targets:
        y = y_of(target.value)
        ET.SubElement(
            root,
            "line",
            {"x1": _n(LEFT), "x2": _n(LEFT + PLOT_W), "y1": _n(y), "y2": _n(y), "class": "target"},
        )
        _text(root, LEFT + PLOT_W - 4, y - 4, target.label, **{"text-anchor": "end"})
    for index, one in enumerate(series):
        group = ET.SubElement(
            root, "g", {"class": f"series series-{index % PALETTE_SIZE}", "data-series": one.name}
        )
        for run in _runs(one.points):
            coords = " ".join(f"{_n(_x_of(at, start, span))},{_n(y_of(v))}" for at, v in run)
            ET.SubElement(group, "polyline", {"points": coords, "fill": "none", "class": "line"})
        for at, value in one.points:
            if value is None:
                continue
            point = ET.SubElement(
                group,
                "circle",
                {"cx": _n(_x_of(at, start, span)), "cy": _n(y_of(value)), "r": "3"},
            )
            ET.SubElement(
                point, "title"
            ).text = f"{one.name}, {date_label(at, span)}: {format_value(value, unit)}"
    _legend(root, [s.name for s in series])
    return ET.tostring(root, encoding="unicode")


def _runs(
    points: Sequence[tuple[datetime, float | None]],
) -> list[list[tuple[datetime, float]]]:
    runs: list[list[tuple[datetime, float]]] = [[]]
    for at, value in points:
        if value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((at, value))
    return [run for run in runs if run]


def _line_description(series: Sequence[Series], unit: Unit, targets: Sequence[Target]) -> str:
    parts = []
    for one in series:
        known = [v for _, v in one.points if v is not None]
        if not known:
            parts.append(f"{one.name}: no data")
            continue
        parts.append(
            f"{one.name}: {len(known)} of {len(one.points)} periods with data, "
            f"from {format_value(min(known), unit)} to {format_value(max(known), unit)}, "
            f"latest {format_value(known[-1], unit)}"
        )
    parts.extend(f"target {t.label}" for t in targets)
    return "; ".join(parts) or "no data"


def rate_chart(title: str, series: Sequence[Series], *, targets: Sequence[Target] = ()) -> str:
    """Rates in percent (0..100) over time, with target lines such as 60% and 85%."""
    return line_chart(title, series, unit=Unit.PERCENT, targets=targets)


def bar_chart(title: str, bars: Bars) -> str:
    """One stacked bar per category, a segment per group (incidents per service by severity)."""
    totals = {c: sum(bars.counts.get((c, g), 0) for g in bars.groups) for c in bars.categories}
    root = _svg(title, _bar_description(bars, totals))
    if not any(totals.values()):
        return _no_data(root)
    ticks = value_ticks(max(totals.values()), Unit.COUNT)
    top = ticks[-1] or 1.0
    _value_axis(root, ticks, Unit.COUNT)
    slot = PLOT_W / len(bars.categories)
    width = max(2.0, slot * 0.6)
    axis = ET.SubElement(root, "g", {"class": "ticks ticks-x"})
    for index, category in enumerate(bars.categories):
        x = LEFT + slot * index + (slot - width) / 2
        base = float(TOP + PLOT_H)
        column = ET.SubElement(root, "g", {"class": "bar", "data-category": category})
        for g_index, group in enumerate(bars.groups):
            count = bars.counts.get((category, group), 0)
            if count <= 0:
                continue
            height = count / top * PLOT_H
            base -= height
            segment = ET.SubElement(
                column,
                "rect",
                {
                    "x": _n(x),
                    "y": _n(base),
                    "width": _n(width),
                    "height": _n(height),
                    "class": f"series-{g_index % PALETTE_SIZE}",
                    "data-group": group,
                },
            )
            ET.SubElement(segment, "title").text = f"{category}, {group}: {count}"
        _text(axis, x + width / 2, TOP + PLOT_H + 18, category, **{"text-anchor": "middle"})
    _legend(root, list(bars.groups))
    return ET.tostring(root, encoding="unicode")


def _bar_description(bars: Bars, totals: Mapping[str, int]) -> str:
    parts = []
    for category in bars.categories:
        split = ", ".join(
            f"{g} {bars.counts[(category, g)]}"
            for g in bars.groups
            if bars.counts.get((category, g), 0) > 0
        )
        parts.append(f"{category}: {totals[category]} ({split})" if split else f"{category}: 0")
    return "; ".join(parts) or "no data"
