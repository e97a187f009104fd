"""The one place that turns timeline events into text.

The CLI's ``incidents show``, the post-mortem draft and chat all print the timeline
through these functions, so an event reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.durations import format_duration


class EventLike(Protocol):
    """What a timeline event must offer to be printed (a TimelineEvent row fits)."""

    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class TimelineLine:
    """One event as text: its time in UTC and in the display zone (None when that is UTC)."""

    utc: str
    local: str | None
    kind: str
    actor: str
    text: str


def zone(name: str) -> tzinfo:
    """The display zone by IANA name; ``UTC`` gives UTC itself."""
    return UTC if name.upper() == "UTC" else ZoneInfo(name)


def is_utc(display: tzinfo | None) -> bool:
    return display is None or display is UTC


def format_time(at: datetime, display: tzinfo | None = None) -> str:
    """``2026-11-22 21:53:26`` in UTC, or in ``display`` with its abbreviation."""
    # isoformat of a naive datetime is several times faster than strftime or an aware one.
    if is_utc(display):
        utc = at if at.tzinfo is UTC else at.astimezone(UTC)
        return utc.replace(tzinfo=None, microsecond=0).isoformat(" ")
    local = at.astimezone(display)
    return f"{local.replace(tzinfo=None, microsecond=0).isoformat(' ')} {local.tzname()}"


def format_seconds(seconds: float | None) -> str:
    """A duration as people read it: ``1h4m30s``; a dash when unknown."""
    if seconds is None:
        return "—"
    total = round(seconds)
    if total < 0:
        return "-" + format_seconds(-total)
    return format_duration(timedelta(seconds=total))


def format_delta(delta: timedelta | None) -> str:
    return format_seconds(None if delta is None else delta.total_seconds())


def chronological(events: Iterable[EventLike]) -> list[EventLike]:
    """Events ordered by when they happened; equal times keep the order they came in."""
    return sorted(events, key=lambda event: event.at)


def timeline_lines(
    events: Iterable[EventLike], *, display: tzinfo | None = None
) -> list[TimelineLine]:
    """Every event as a line, in the order they happened."""
    local = not is_utc(display)
    lines = []
    for event in chronological(events):
        lines.append(
            TimelineLine(
                utc=format_time(event.at),
                local=format_time(event.at, display) if local else None,
                kind=event.kind,
                actor=event.actor,
                text=event.text,
            )
        )
    return lines


def event_line(event: EventLike, *, display: tzinfo | None = None) -> str:
    """One event on one line: ``2026-11-22 21:53:26 UTC  alert.fired  alertmanager  text``."""
    when = format_time(event.at) + " UTC"
    if not is_utc(display):
        when += f" ({format_time(event.at, display)})"
    return f"{when}  {event.kind}  {event.actor}  {one_line(event.text)}"


def one_line(text: str) -> str:
    return " ".join(text.split())


def markdown_cell(text: object) -> str:
    """Text that stays inside one cell of a Markdown table."""
    return one_line(str(text)).replace("|", "\\|")
