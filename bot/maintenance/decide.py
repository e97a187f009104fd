"""Maintenance windows, decided purely: which window holds an incident now, and whether a
window asked for is valid. Plain data in and out; the clock is passed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.durations import parse_duration
from bot.errors import InvalidInputError
from bot.matchers import Matcher, MatcherError, all_match, parse_matcher

CONFIG_PREFIX = "config:"
MAX_LENGTH = timedelta(days=31)


@dataclass(frozen=True)
class Window:
    """A span of time during which matching incidents are recorded but page nobody and
    run no remediation. ``key`` is a stored window's id as text, or ``config:NAME``."""

    key: str
    matchers: tuple[Matcher, ...]
    service: str | None
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str

    @property
    def from_config(self) -> bool:
        return self.key.startswith(CONFIG_PREFIX)

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def covers(self, labels: Mapping[str, str], service: str | None) -> bool:
        """True when every condition the window names fits the incident."""
        if self.service is not None and self.service != service:
            return False
        return all_match(self.matchers, labels)

    def describe(self) -> str:
        """The window's conditions, for people: ``service checkout, env="prod"``."""
        parts = [f"service {self.service}"] if self.service else []
        parts += [str(m) for m in self.matchers]
        return ", ".join(parts)


def holding(
    windows: Iterable[Window], *, labels: Mapping[str, str], service: str | None, now: datetime
) -> Window | None:
    """The active window that holds an incident with these labels and service, or None.
    Of several, the one ending last: pages wait until no window holds the incident."""
    found = [w for w in windows if w.active(now) and w.covers(labels, service)]
    return max(found, key=lambda w: (w.ends_at, w.key), default=None)


def parse_matchers(texts: Sequence[str]) -> tuple[Matcher, ...]:
    """Matchers written the Alertmanager way; the error names the one that is wrong."""
    try:
        return tuple(parse_matcher(text) for text in texts)
    except MatcherError as exc:
        raise InvalidInputError(f"matchers: {exc}") from None


def window_span(
    *,
    starts_at: datetime | None,
    ends_at: datetime | None,
    duration: str | timedelta | None,
    now: datetime,
) -> tuple[datetime, datetime]:
    """When a requested window starts and ends: it starts now unless told, and ends at
    ``ends_at`` or after ``duration`` (exactly one of them), later than it starts, and
    lasts at most 31 days."""
    start = starts_at or now
    if (ends_at is None) == (duration is None):
        raise InvalidInputError("give the window's end: either ends_at or a duration, not both")
    if duration is not None:
        try:
            length = parse_duration(duration)
        except ValueError as exc:
            raise InvalidInputError(f"duration: {exc}") from None
        end = start + length
    else:
        assert ends_at is not None
        end = ends_at
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInputError("starts_at and ends_at need a time zone (such as Z or +02:00)")
    if end <= start:
        raise InvalidInputError(
            f"the window ends ({end.isoformat()}) before it starts ({start.isoformat()})"
        )
    if end <= now:
        raise InvalidInputError(f"the window's end ({end.isoformat()}) is already past")
    if end - start > MAX_LENGTH:
        raise InvalidInputError("a maintenance window lasts at most 31 days")
    return start, end


def check_scope(matchers: Sequence[Matcher], service: str | None) -> None:
    """A window must say what it covers: a window over everything would hide every page."""
    if not matchers and not service:
        raise InvalidInputError("a maintenance window needs a service or at least one matcher")


@dataclass(frozen=True)
class WindowRequest:
    """What a chat command asked for: ``2h team="db" env=~"prod|staging" schema upgrade``."""

    duration: str
    matchers: tuple[str, ...]
    reason: str


def parse_request(text: str) -> WindowRequest:
    """Split a command's words into a duration, the matchers that follow it and the
    reason (the rest)."""
    words = text.split()
    if not words:
        raise InvalidInputError("write: maintenance DURATION MATCHER... REASON")
    duration, rest = words[0], words[1:]
    matchers: list[str] = []
    while rest and any(op in rest[0] for op in ("=", "!=")):
        matchers.append(rest.pop(0))
    reason = " ".join(rest)
    if not matchers:
        raise InvalidInputError(f'no matcher after {duration!r}; write one such as service="db"')
    if not reason:
        raise InvalidInputError("say why: the reason follows the matchers")
    return WindowRequest(duration=duration, matchers=tuple(matchers), reason=reason)
