"""Escalation policy arithmetic: which level is notified when, and what comes next.

Positions are plain data: ``level`` is a 0-based index into the policy's levels and
``round`` counts how many times the whole ladder has been walked (0 the first time).
Nothing here notifies anyone or touches the database; the escalation service stores
what these functions return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Requester(StrEnum):
    """Who asks for the next level now: a person's explicit decision pages even an
    acknowledged incident once; automation never pages one."""

    PERSON = "person"
    AUTOMATION = "automation"


class TargetKind(StrEnum):
    USER = "user"  # a Slack user id
    PERSON = "person"  # a person of the people directory, by id
    TEAM = "team"  # every member of a team of the people directory
    GROUP = "group"  # a Slack user group id
    SCHEDULE = "schedule"  # whoever is on call in that schedule now
    ROLE = "role"  # such as incident_commander
    WEBHOOK = "webhook"  # an outbound webhook by name


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.name}"


@dataclass(frozen=True)
class Level:
    targets: tuple[Target, ...]
    delay: timedelta  # how long to wait for an acknowledgement before the next level


@dataclass(frozen=True)
class Policy:
    name: str
    levels: tuple[Level, ...]
    repeat: int = 0  # how many more times the whole ladder is walked after the first
    severities: frozenset[str] = frozenset()  # empty: any
    services: frozenset[str] = frozenset()  # empty: any
    start_level: Mapping[str, int] = field(default_factory=dict)  # severity -> 0-based level

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError(f"policy {self.name!r} has no levels")
        if self.repeat < 0:
            raise ValueError("repeat cannot be negative")
        for severity, level in self.start_level.items():
            if not 0 <= level < len(self.levels):
                raise ValueError(f"{severity} starts at level {level + 1}, which does not exist")

    def applies_to(self, *, severity: str, service: str | None) -> bool:
        if self.severities and severity not in self.severities:
            return False
        return not self.services or (service is not None and service in self.services)


@dataclass(frozen=True)
class Position:
    """The level to notify next, in which round, and when."""

    level: int
    round: int
    due_at: datetime


def select_policy(
    policies: Sequence[Policy], *, severity: str, service: str | None
) -> Policy | None:
    """The first policy that applies; list specific policies before catch-all ones."""
    for policy in policies:
        if policy.applies_to(severity=severity, service=service):
            return policy
    return None


def first_position(policy: Policy, *, severity: str, now: datetime) -> Position:
    """Where escalation begins: at once, at level 1 or the severity's start level."""
    return Position(level=policy.start_level.get(severity, 0), round=0, due_at=now)


def after_severity_raised(
    policies: Sequence[Policy],
    *,
    current_policy: str,
    next_level: int,
    round: int,
    severity: str,
    service: str | None,
    now: datetime,
) -> tuple[Policy, Position] | None:
    """A still-escalating incident became more severe: the policy for its new severity
    takes over from its start, or the same policy jumps to the severity's start level now.
    None when nothing changes."""
    policy = select_policy(policies, severity=severity, service=service)
    if policy is None:
        return None
    if policy.name != current_policy:
        return policy, first_position(policy, severity=severity, now=now)
    start = policy.start_level.get(severity, 0)
    if start > next_level:
        return policy, Position(level=start, round=round, due_at=now)
    return None


def after_notifying(policy: Policy, *, level: int, round: int, now: datetime) -> Position | None:
    """What follows notifying ``level`` at ``now``: the next level after its delay, the
    first level of the next round, or None when the policy is exhausted."""
    wait = policy.levels[level].delay
    if level + 1 < len(policy.levels):
        return Position(level=level + 1, round=round, due_at=now + wait)
    if round < policy.repeat:
        return Position(level=0, round=round + 1, due_at=now + wait)
    return None


def escalate_now(policy: Policy, *, current: int | None, round: int, now: datetime) -> Position:
    """A person asks for the next level at once; at the top it stays at the last level."""
    following = 0 if current is None else current + 1
    return Position(level=min(following, len(policy.levels) - 1), round=round, due_at=now)


def escalation_status(*, acknowledged: bool, requester: Requester) -> str | None:
    """The timer status an escalation request schedules: ``active`` carries on up the
    ladder, ``once`` pages a single time and leaves the acknowledgement standing, None
    pages nobody (automation asking about an incident a person acknowledged)."""
    if not acknowledged:
        return "active"
    return "once" if requester is Requester.PERSON else None


def page_while_acknowledged(
    policies: Sequence[Policy],
    *,
    current_policy: str,
    current: int | None,
    round: int,
    severity: str,
    service: str | None,
    now: datetime,
) -> tuple[Policy, Position] | None:
    """Severity rose on an acknowledged incident: the one page to send now, to the level
    notified last or the new severity's start level if that is higher (a different policy
    taking over starts at its own start level). None when no policy applies."""
    policy = select_policy(policies, severity=severity, service=service)
    if policy is None:
        return None
    if policy.name != current_policy:
        return policy, first_position(policy, severity=severity, now=now)
    start = policy.start_level.get(severity, 0)
    level = start if current is None else max(min(current, len(policy.levels) - 1), start)
    return policy, Position(level=level, round=round, due_at=now)


def restart_at_current(
    policy: Policy, *, current: int | None, round: int, severity: str, now: datetime
) -> Position:
    """Un-acknowledged: notify the level last notified again, now."""
    if current is None:
        return first_position(policy, severity=severity, now=now)
    return Position(level=min(current, len(policy.levels) - 1), round=round, due_at=now)


def ladder(policy: Policy, *, severity: str, start: datetime) -> list[tuple[Position, Level]]:
    """Every notification the policy would send if nobody acknowledged (for display)."""
    steps: list[tuple[Position, Level]] = []
    position: Position | None = first_position(policy, severity=severity, now=start)
    while position is not None:
        steps.append((position, policy.levels[position.level]))
        position = after_notifying(
            policy, level=position.level, round=position.round, now=position.due_at
        )
    return steps
