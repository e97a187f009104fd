"""What an incident's timeline asks of Alertmanager's silences, as plain data."""

from __future__ import annotations

from enum import StrEnum

from bot.events import EventKind

MARKER = "fireline incident #{incident_id}"
"""Every silence Fireline creates for an incident says so in its comment: how a retry after
a crash finds what an interrupted attempt made, and how the end of an incident finds every
silence to lift (those of the Slack button included)."""


class SilenceWork(StrEnum):
    CREATE = "silence.create"  # silence the incident's firing alerts not silenced yet
    EXPIRE = "silence.expire"  # lift every silence of the incident


def work_for(kind: str, *, incident_status: str, on_ack: bool) -> SilenceWork | None:
    """An acknowledgement silences (when ``on_ack``); a new alert of an acknowledged
    incident is silenced too; un-acknowledging or resolving lifts them all."""
    if kind in (EventKind.INCIDENT_UNACKNOWLEDGED, EventKind.INCIDENT_RESOLVED):
        return SilenceWork.EXPIRE
    if not on_ack:
        return None
    if kind == EventKind.INCIDENT_ACKNOWLEDGED:
        return SilenceWork.CREATE
    if kind == EventKind.ALERT_FIRED and incident_status == "acknowledged":
        return SilenceWork.CREATE
    return None


def marker(incident_id: int) -> str:
    return MARKER.format(incident_id=incident_id)


def is_ours(comment: str, incident_id: int) -> bool:
    return comment.startswith(marker(incident_id) + ":") or comment == marker(incident_id)


def matchers_of(labels: dict[str, str]) -> list[dict[str, object]]:
    """Exact matchers for every label of one alert: the silence covers that alert only."""
    return [
        {"name": k, "value": v, "isRegex": False, "isEqual": True}
        for k, v in sorted(labels.items())
    ]


def labels_of(matchers: list[dict[str, object]]) -> dict[str, str] | None:
    """The labels an exact silence covers, or None for a silence with other matchers."""
    if any(m.get("isRegex") or m.get("isEqual") is False for m in matchers):
        return None
    return {str(m["name"]): str(m["value"]) for m in matchers}
