"""What to draw, and the picture itself: decoded, of the promised size, not blank."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image

from bot.graphs.decide import expression_of, series_label, span_of, threshold_of
from bot.graphs.draw import HEIGHT, WIDTH, Marker, Series, draw
from storage.db import Database
from storage.tables import TimelineEvent

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


def test_verification_asks_for_a_second_graph_through_the_verdict(db: Database) -> None:
    from bot.events import EventKind
    from bot.graphs import service
    from storage import queries
    from storage.migrate import upgrade
    from storage.queries_outbox import messages_of
    from storage.tables import Incident

    upgrade(db)
    expression = 'rate(http_errors_total{job="api"}[5m]) > 0.05'
    with db.write() as session:
        incident = Incident(
            title="Errors",
            status="open",
            severity="SEV2",
            source_url=f"http://p/graph?g0.expr={expression}",
            started_at=T0,
            opened_at=T0,
            updated_at=T0,
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        handle = service.handler()
        for kind, at in (
            (EventKind.INCIDENT_OPENED, T0),
            (EventKind.VERIFICATION_PASSED, T0 + timedelta(minutes=30)),
            (EventKind.NOTE_ADDED, T0 + timedelta(minutes=31)),  # asks for nothing
        ):
            event_id = queries.add_event(
                session, incident_id=incident.id, kind=kind, text="x", actor="t", at=at,
                recorded_at=at,
            )  # fmt: skip
            event = session.get(TimelineEvent, event_id)
            assert event is not None
            handle(session, event, at)
        rows = messages_of(session, incident.id)
    assert [(r.destination, r.kind) for r in rows] == [
        ("graph", "open"),
        ("graph", "verification"),
    ]
    verification = rows[1].payload
    assert (verification["expression"], verification["threshold"]) == (expression, 0.05)
    assert verification["end"] == (T0 + timedelta(minutes=30)).isoformat()
    assert verification["start"] == (T0 - timedelta(hours=1)).isoformat()
