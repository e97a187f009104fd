"""The SVG charts, parsed back: their points, bars, gaps, labels and escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from bot.web.charts import (
    Bars,
    Series,
    Target,
    Unit,
    bar_chart,
    line_chart,
    rate_chart,
    value_ticks,
)

NS = {"svg": "http://www.w3.org/2000/svg"}
DAY0 = datetime(2026, 11, 1, tzinfo=UTC)


def day(n: int) -> datetime:
    return DAY0 + timedelta(days=n)


def parse(svg: str) -> ET.Element:
    """Our own charts' output, not outside input."""
    return ET.fromstring(svg)  # noqa: S314


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_a_line_chart_draws_each_known_point_and_breaks_at_gaps() -> None:
    acks = Series("p50", [(day(0), 60.0), (day(1), None), (day(2), 300.0), (day(3), 240.0)])
    p90 = Series("p90", [(day(0), 600.0), (day(1), 900.0), (day(2), 1200.0), (day(3), None)])
    root = parse(line_chart("Time to acknowledge", [acks, p90], unit=Unit.SECONDS))

    groups = root.findall("svg:g[@data-series]", NS)
    assert [g.get("data-series") for g in groups] == ["p50", "p90"]
    assert len(groups[0].findall("svg:circle", NS)) == 3
    assert len(groups[0].findall("svg:polyline", NS)) == 2  # the gap on day 1
    assert len(groups[1].findall("svg:circle", NS)) == 3
    assert len(groups[1].findall("svg:polyline", NS)) == 1
    labels = texts(root)
    assert "11-01" in labels
    assert "11-04" in labels
    assert "5m" in labels  # duration ticks read as durations
    assert "20m" in labels  # the top tick covers the highest value (1200 s)


def test_every_chart_is_an_accessible_image_without_style_attributes() -> None:
    svgs = [
        line_chart("Resolve", [Series("p50", [(day(0), 1.0)])], unit=Unit.SECONDS),
        rate_chart("Success", [Series("all", [(day(0), 50.0)])], targets=[Target("85%", 85)]),
        bar_chart("Per service", Bars(["a"], ["SEV1"], {("a", "SEV1"): 2})),
        line_chart("Empty", [], unit=Unit.COUNT),
    ]
    for svg in svgs:
        root = parse(svg)
        assert root.get("role") == "img"
        assert root.get("aria-label")
        assert root.find("svg:title", NS) is not None
        assert (root.find("svg:desc", NS).text or "") != ""  # type: ignore[union-attr]
        assert all("style" not in element.attrib for element in root.iter())


def test_labels_from_alerts_are_escaped_text() -> None:
    evil = '<script>alert("x")</script>'
    bars = Bars([evil, "checkout"], ["SEV1", "SEV2"], {(evil, "SEV1"): 1, ("checkout", "SEV2"): 2})
    svg = bar_chart("Incidents & more", bars)
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    assert evil in texts(root)
    assert root.find("svg:g[@data-category]", NS).get("data-category") == evil  # type: ignore[union-attr]
    line = line_chart("x", [Series(evil, [(day(0), 1.0)])], unit=Unit.COUNT)
    assert "<script>" not in line
    assert evil in texts(parse(line))


def test_bars_stack_one_segment_per_group_with_a_count() -> None:
    bars = Bars(
        ["checkout", "payments", "search"],
        ["SEV1", "SEV2", "SEV3"],
        {("checkout", "SEV1"): 1, ("checkout", "SEV2"): 3, ("payments", "SEV3"): 2},
    )
    root = parse(bar_chart("Incidents per service", bars))
    columns = {g.get("data-category"): g for g in root.findall("svg:g[@data-category]", NS)}
    assert list(columns) == ["checkout", "payments", "search"]
    checkout = columns["checkout"].findall("svg:rect", NS)
    assert [r.get("data-group") for r in checkout] == ["SEV1", "SEV2"]
    assert [r.find("svg:title", NS).text for r in checkout] == [  # type: ignore[union-attr]
        "checkout, SEV1: 1",
        "checkout, SEV2: 3",
    ]
    heights = [float(r.get("height", "0")) for r in checkout]
    assert heights[1] == 3 * heights[0]
    assert columns["search"].findall("svg:rect", NS) == []
    assert "checkout: 4 (SEV1 1, SEV2 3)" in (root.find("svg:desc", NS).text or "")  # type: ignore[union-attr]


def test_a_rate_chart_runs_from_0_to_100_percent_with_its_targets() -> None:
    rate = Series("automation", [(day(0), 40.0), (day(1), 90.0)])
    root = parse(rate_chart("Automation success", [rate], targets=[Target("target 85%", 85)]))
    labels = texts(root)
    assert {"0%", "50%", "100%", "target 85%"} <= set(labels)
    assert len(root.findall("svg:line[@class='target']", NS)) == 1


def test_empty_data_draws_a_no_data_chart() -> None:
    for svg in (
        line_chart("Nothing", [Series("p50", [(day(0), None), (day(1), None)])], unit=Unit.SECONDS),
        bar_chart("Nothing", Bars([], ["SEV1"], {})),
        bar_chart("Zeros", Bars(["a"], ["SEV1"], {("a", "SEV1"): 0})),
    ):
        root = parse(svg)
        assert "no data" in texts(root)
        assert root.findall(".//svg:circle", NS) == []
        assert root.findall(".//svg:rect", NS) == []


def test_value_ticks_are_round_and_cover_the_highest_value() -> None:
    assert value_ticks(1200, Unit.SECONDS) == [0, 300, 600, 900, 1200]
    assert value_ticks(7, Unit.COUNT) == [0, 2, 4, 6, 8]
    assert value_ticks(0, Unit.COUNT)[-1] >= 1
    assert value_ticks(130, Unit.COUNT) == [0, 50, 100, 150]
    assert value_ticks(5000, Unit.SECONDS)[-1] >= 5000
