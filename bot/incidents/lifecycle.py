"""What a person's action does to an incident's status. Pure: status in, decision out."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.errors import ConflictError


class IncidentStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Transition:
    to: IncidentStatus
    changed: bool


def acknowledge(status: str) -> Transition:
    """Open → acknowledged; acknowledging twice changes nothing; a resolved one is final."""
    current = IncidentStatus(status)
    if current is IncidentStatus.RESOLVED:
        raise ConflictError("the incident is resolved; there is nothing to acknowledge")
    return Transition(IncidentStatus.ACKNOWLEDGED, current is IncidentStatus.OPEN)


def unacknowledge(status: str) -> Transition:
    current = IncidentStatus(status)
    if current is not IncidentStatus.ACKNOWLEDGED:
        raise ConflictError(f"the incident is {current.value}, not acknowledged")
    return Transition(IncidentStatus.OPEN, True)


def resolve(status: str) -> Transition:
    current = IncidentStatus(status)
    return Transition(IncidentStatus.RESOLVED, current is not IncidentStatus.RESOLVED)
