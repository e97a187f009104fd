"""What the public status page says, as pure functions of plain data and the clock.

A component's state comes from the open incidents that affect it (by service, by label
matchers, or because a public update named it), by the incident's severity against the
configured thresholds. History is the worst state of each UTC day, from each incident's
interval ``[opened_at, resolved_at or now]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.matchers import all_match
from bot.status.config import StatusComponent, StatusConfig


class ComponentState(StrEnum):
    """From best to worst; a component shows the worst state any incident gives it."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"

    @property
    def rank(self) -> int:
        return list(ComponentState).index(self)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Phase(StrEnum):
    """Where a public update says the incident stands."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class IncidentFacts:
    """What the status page may know of an incident; its title is shown only if configured."""

    id: int
    title: str
    severity: str
    service: str | None
    labels: Mapping[str, str]
    opened_at: datetime
    resolved_at: datetime | None
    named_components: frozenset[str] = frozenset()
    """Components its public updates named."""

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class Day:
    day: date
    state: ComponentState
    incident_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    description: str
    state: ComponentState
    incident_ids: tuple[int, ...]
    history: tuple[Day, ...] = field(default=())


def _severity_number(severity: str) -> int:
    text = severity.strip().upper().removeprefix("SEV")
    return int(text) if text.isdigit() else 99


def impact(config: StatusConfig, severity: str) -> ComponentState:
    """The state an incident of ``severity`` gives each component it affects."""
    number = _severity_number(severity)
    if number <= _severity_number(config.major_severity):
        return ComponentState.MAJOR_OUTAGE
    if config.partial_severity is not None and number <= _severity_number(config.partial_severity):
        return ComponentState.PARTIAL_OUTAGE
    if number <= _severity_number(config.min_severity):
        return ComponentState.DEGRADED
    return ComponentState.OPERATIONAL


def affects(component: StatusComponent, incident: IncidentFacts) -> bool:
    if component.name in incident.named_components:
        return True
    if incident.service is not None and incident.service in component.services:
        return True
    return bool(component.match) and all_match(component.matchers(), incident.labels)


def affected_components(config: StatusConfig, incident: IncidentFacts) -> list[str]:
    return [c.name for c in config.components if affects(c, incident)]


def _worst(
    component: StatusComponent, config: StatusConfig, incidents: Sequence[IncidentFacts]
) -> tuple[ComponentState, tuple[int, ...]]:
    state, ids = ComponentState.OPERATIONAL, []
    for incident in incidents:
        if not affects(component, incident):
            continue
        given = impact(config, incident.severity)
        if given is ComponentState.OPERATIONAL:
            continue
        ids.append(incident.id)
        if given.rank > state.rank:
            state = given
    return state, tuple(ids)


def current_states(
    config: StatusConfig, incidents: Sequence[IncidentFacts]
) -> list[ComponentStatus]:
    """Each configured component's state now, from the incidents still open."""
    open_ones = [i for i in incidents if i.is_open]
    result = []
    for component in config.components:
        state, ids = _worst(component, config, open_ones)
        result.append(ComponentStatus(component.name, component.description, state, ids))
    return result


def history_days(now: datetime, days: int) -> list[date]:
    """The last ``days`` UTC dates, oldest first, today last."""
    today = now.date()
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def window_start(now: datetime, days: int) -> datetime:
    """The first instant the history covers (midnight UTC, ``days - 1`` days ago)."""
    first = history_days(now, days)[0]
    return datetime(first.year, first.month, first.day, tzinfo=now.tzinfo)


def _overlaps(incident: IncidentFacts, start: datetime, end: datetime, now: datetime) -> bool:
    until = incident.resolved_at or now
    return incident.opened_at < end and until > start


def history(
    config: StatusConfig, incidents: Sequence[IncidentFacts], *, now: datetime
) -> dict[str, tuple[Day, ...]]:
    """Per component, one ``Day`` for each of the configured history days: the worst state
    any incident overlapping that UTC day gave it."""
    start = window_start(now, config.history_days)
    result: dict[str, tuple[Day, ...]] = {}
    for component in config.components:
        days = []
        for n, day in enumerate(history_days(now, config.history_days)):
            begin = start + timedelta(days=n)
            during = [i for i in incidents if _overlaps(i, begin, begin + timedelta(days=1), now)]
            state, ids = _worst(component, config, during)
            days.append(Day(day, state, ids))
        result[component.name] = tuple(days)
    return result


def page_components(
    config: StatusConfig, incidents: Sequence[IncidentFacts], *, now: datetime
) -> list[ComponentStatus]:
    """The components with their state now and their day-by-day history."""
    past = history(config, incidents, now=now)
    return [
        ComponentStatus(c.name, c.description, c.state, c.incident_ids, past[c.name])
        for c in current_states(config, incidents)
    ]


def public_heading(config: StatusConfig, incident: IncidentFacts) -> str:
    """What the public page calls an incident: never its alert-derived title unless
    ``show_titles`` is on."""
    if config.show_titles:
        return incident.title
    names = affected_components(config, incident)
    return f"Incident affecting {', '.join(names)}" if names else "Service incident"
