"""The shared text of timeline events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.incidents.timeline import (
    event_line,
    format_seconds,
    format_time,
    markdown_cell,
    timeline_lines,
    zone,
)


@dataclass
class Event:
    at: datetime
    kind: str = "note.added"
    actor: str = "bob"
    text: str = "hello"


WINTER = datetime(2026, 1, 10, 8, 0, 5, 123456, tzinfo=UTC)
SUMMER = datetime(2026, 7, 10, 8, 0, 5, tzinfo=UTC)


def test_times_in_utc_and_a_zone_across_daylight_saving() -> None:
    paris = zone("Europe/Paris")
    assert format_time(WINTER) == "2026-01-10 08:00:05"
    assert format_time(WINTER, paris) == "2026-01-10 09:00:05 CET"
    assert format_time(SUMMER, paris) == "2026-07-10 10:00:05 CEST"
    assert zone("utc") is UTC


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0, "0s"), (59.6, "1m"), (3725, "1h2m5s"), (90061, "1d1h1m1s"), (-30, "-30s")],
)
def test_format_seconds(seconds: float | None, text: str) -> None:
    assert format_seconds(seconds) == text


def test_lines_are_in_time_order_with_the_local_column_only_off_utc() -> None:
    events = [Event(SUMMER, text="second"), Event(WINTER, text="first")]
    lines = timeline_lines(events)
    assert [line.text for line in lines] == ["first", "second"]
    assert lines[0].local is None
    local = timeline_lines(events, display=zone("America/New_York"))
    assert local[0].local == "2026-01-10 03:00:05 EST"


def test_one_line_and_markdown_cells() -> None:
    event = Event(WINTER, text="rolled\nback |  ok")
    assert event_line(event) == "2026-01-10 08:00:05 UTC  note.added  bob  rolled back | ok"
    assert event_line(event, display=zone("Asia/Tokyo")).startswith(
        "2026-01-10 08:00:05 UTC (2026-01-10 17:00:05 JST)"
    )
    assert markdown_cell(event.text) == "rolled back \\| ok"
