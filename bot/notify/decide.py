"""Who is reached how and when: a person's notification rules turned into timed steps.

Plain data in and out, the clock passed in; ``service.py`` queues one outbox row per step
in the transaction that decides the page, each due at its ``at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.notify.model import MethodKind, Urgency
from bot.people.contacts import NotificationRules, RuleStep, WorkingHours


@dataclass(frozen=True)
class Reach:
    """One contact method of one person, its address resolved."""

    name: str
    kind: MethodKind
    address: str
    # A method added through the API brings its own step; config methods have none and
    # follow the person's notification rules.
    after: timedelta | None = None
    urgencies: frozenset[Urgency] = frozenset(Urgency)


@dataclass(frozen=True)
class PlannedStep:
    index: int  # 0-based, in the order the person is reached
    method: Reach
    after: timedelta  # after the page, as the rule says
    at: datetime  # when it goes out: the page's time plus ``after``, or later (working hours)


def steps_for(
    methods: Sequence[Reach], rules: NotificationRules | None, urgency: Urgency
) -> list[tuple[Reach, timedelta]]:
    """The person's steps for an urgency, before any working-hours wait.

    With rules, the urgency's own list (low falls back to high's when it has none); without,
    every configured method at once. Methods added through the API follow their own step.
    """
    by_name = {m.name: m for m in methods}
    listed: list[RuleStep] = []
    if rules is not None:
        listed = (rules.low or rules.high) if urgency is Urgency.LOW else rules.high
    configured = [m for m in methods if m.after is None]
    chosen = (
        [(by_name[s.method], s.after) for s in listed if s.method in by_name]
        if listed
        else [(m, timedelta(0)) for m in configured]
    )
    chosen += [(m, m.after) for m in methods if m.after is not None and urgency in m.urgencies]
    return sorted(chosen, key=lambda pair: pair[1])


def plan(
    methods: Sequence[Reach],
    rules: NotificationRules | None,
    urgency: Urgency,
    *,
    now: datetime,
    timezone: str,
    working_hours: WorkingHours | None,
) -> list[PlannedStep]:
    """Timed steps for one page. A low-urgency page outside the person's working hours
    waits for the next time they start work; a high-urgency one never waits."""
    start = now
    if urgency is Urgency.LOW and working_hours is not None:
        start = next_working_time(now, timezone=timezone, hours=working_hours)
    return [
        PlannedStep(index=i, method=method, after=after, at=start + after)
        for i, (method, after) in enumerate(steps_for(methods, rules, urgency))
    ]


def next_working_time(now: datetime, *, timezone: str, hours: WorkingHours) -> datetime:
    """``now`` if it falls within the working hours, else when they next begin (UTC)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        if day.weekday() not in hours.weekdays:
            continue
        begins = datetime.combine(day, hours.start, tzinfo=zone)
        ends = datetime.combine(day, hours.end, tzinfo=zone)
        if offset == 0 and begins <= local < ends:
            return now
        if begins > local:
            return begins.astimezone(UTC)
    return now
