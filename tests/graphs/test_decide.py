"""What to draw, and the picture itself: decoded, of the promised size, not blank."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image

from bot.graphs.decide import expression_of, series_label, span_of, threshold_of
from bot.graphs.draw import HEIGHT, WIDTH, Marker, Series, draw

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
GENERATOR = (
    "http://prometheus:9090/graph?g0.expr=sum+by+%28job%29+%28rate%28http_errors_total%5B5m"
    "%5D%29%29+%3E+0.05&g0.tab=1"
)


def test_the_expression_and_its_threshold_come_from_the_generator_url() -> None:
    expression = expression_of(GENERATOR)
    assert expression == "sum by (job) (rate(http_errors_total[5m])) > 0.05"
    assert threshold_of(expression) == 0.05
    assert threshold_of("up == bool 0") == 0.0
    assert threshold_of("rate(x[5m])") is None
    assert expression_of("") is None
    assert expression_of("http://grafana/alerting/grafana/abc/view") is None


def test_the_span_is_the_hour_before_through_until() -> None:
    span = span_of(T0, until=T0 + timedelta(minutes=20))
    assert (span.start, span.end) == (T0 - timedelta(hours=1), T0 + timedelta(minutes=20))
    assert span.step == timedelta(seconds=20)  # 80 minutes in 240 points
    assert span_of(T0, until=T0 - timedelta(minutes=5)).end == T0 + timedelta(minutes=1)


def test_a_series_label_is_its_labels() -> None:
    assert series_label({"__name__": "up", "job": "api"}) == 'up{job="api"}'
    assert len(series_label({"a": "x" * 200})) == 60


def test_the_png_has_the_size_and_is_not_blank() -> None:
    points = [(T0 + timedelta(minutes=m), float(m % 7)) for m in range(-60, 10)]
    png = draw(
        "#1 $HOME {{.x}} <b>title</b>: up > 3",
        [Series('up{job="api"}', points)],
        threshold=3.0,
        alert_started=T0,
        changes=[Marker(T0 - timedelta(minutes=12), "deploy v1.4.2 $x$")],
    )
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (WIDTH, HEIGHT)
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None
    assert len(colours) > 20  # lines, text, markers: far from a blank canvas
