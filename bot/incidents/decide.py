"""Triage: from an alert's labels to severity, service, golden signal and title.

Pure decisions only; the triage service loads state, calls these and stores the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum

from bot.errors import ConflictError
from bot.matchers import Matcher, all_match


class Severity(IntEnum):
    """SEV1 is the most severe; a lower number wins."""

    SEV1 = 1
    SEV2 = 2
    SEV3 = 3
    SEV4 = 4

    @classmethod
    def parse(cls, value: str) -> Severity:
        text = value.strip().upper()
        if text.isdigit():
            text = f"SEV{text}"
        try:
            return cls[text]
        except KeyError:
            raise ValueError(f"{value!r} is not a severity; use SEV1, SEV2, SEV3 or SEV4") from None

    def raised(self, steps: int) -> Severity:
        return Severity(min(4, max(1, self.value - steps)))


class Signal(StrEnum):
    LATENCY = "latency"
    TRAFFIC = "traffic"
    ERRORS = "errors"
    SATURATION = "saturation"


_LABEL_SEVERITY = {
    "critical": Severity.SEV1,
    "page": Severity.SEV1,
    "error": Severity.SEV2,
    "high": Severity.SEV2,
    "major": Severity.SEV2,
    "warning": Severity.SEV3,
    "warn": Severity.SEV3,
    "medium": Severity.SEV3,
}
SERVICE_LABELS = ("service", "app", "job")


def severity_from_label(value: str | None) -> Severity:
    """critical→SEV1, error/high→SEV2, warning→SEV3, info and anything else→SEV4."""
    if not value:
        return Severity.SEV4
    text = value.strip().lower()
    if text in _LABEL_SEVERITY:
        return _LABEL_SEVERITY[text]
    try:
        return Severity.parse(text)
    except ValueError:
        return Severity.SEV4


@dataclass(frozen=True)
class TriageRule:
    """Matchers on labels, and what a match sets. Every matching rule applies, in order."""

    name: str
    matchers: tuple[Matcher, ...]
    severity: Severity | None = None
    raise_by: int = 0
    service: str | None = None
    signal: Signal | None = None

    def applies_to(self, labels: Mapping[str, str]) -> bool:
        return all_match(self.matchers, labels)


@dataclass(frozen=True)
class TriageDecision:
    severity: Severity
    service: str | None
    signal: Signal | None
    rules: tuple[str, ...] = field(default_factory=tuple)


def classify(labels: Mapping[str, str], rules: Sequence[TriageRule]) -> TriageDecision:
    severity = severity_from_label(labels.get("severity"))
    service = next((labels[k] for k in SERVICE_LABELS if labels.get(k)), None)
    signal_label = labels.get("signal", "").lower()
    signal = Signal(signal_label) if signal_label in Signal._value2member_map_ else None
    applied: list[str] = []
    for rule in rules:
        if not rule.applies_to(labels):
            continue
        applied.append(rule.name)
        if rule.severity is not None:
            severity = rule.severity
        severity = severity.raised(rule.raise_by)
        service = rule.service or service
        signal = rule.signal or signal
    return TriageDecision(severity=severity, service=service, signal=signal, rules=tuple(applied))


def incident_title(
    annotations: Mapping[str, str], labels: Mapping[str, str], group_labels: Mapping[str, str]
) -> str:
    """The ``summary`` annotation, else the alert name with the group's labels."""
    summary = annotations.get("summary", "").strip()
    if summary:
        return summary[:200]
    name = labels.get("alertname") or group_labels.get("alertname") or "Alert"
    rest = ", ".join(f"{k}={v}" for k, v in sorted(group_labels.items()) if k != "alertname")
    return f"{name} ({rest})"[:200] if rest else name[:200]


class AlertAction(StrEnum):
    NEW_FIRING = "new_firing"
    NEW_RESOLVED = "new_resolved"
    RESOLVE = "resolve"
    REFRESH = "refresh"
    STALE = "stale"


def decide_alert(
    *, incoming_status: str, stored_status: str | None, newer_episode_exists: bool
) -> AlertAction:
    """What an incoming alert does to its episode (fingerprint + startsAt).

    Order-independent: a resolved notification that overtakes its firing one records the
    episode as resolved, and the late firing one is then stale, so no ghost alert remains.
    """
    if stored_status is None:
        if newer_episode_exists:
            return AlertAction.STALE
        return AlertAction.NEW_FIRING if incoming_status == "firing" else AlertAction.NEW_RESOLVED
    if stored_status == "resolved":
        return AlertAction.STALE
    return AlertAction.RESOLVE if incoming_status == "resolved" else AlertAction.REFRESH


class GroupIncidentAction(StrEnum):
    ATTACH = "attach"
    REOPEN = "reopen"
    OPEN = "open"


def incident_for_firing_group(
    *,
    latest_status: str | None,
    latest_resolved_at: datetime | None,
    now: datetime,
    flap_window: timedelta,
) -> GroupIncidentAction:
    """A firing alert joins its group's open incident, re-opens a recently resolved one, or
    opens a new one."""
    if latest_status is None:
        return GroupIncidentAction.OPEN
    if latest_status != "resolved":
        return GroupIncidentAction.ATTACH
    if latest_resolved_at is not None and now - latest_resolved_at <= flap_window:
        return GroupIncidentAction.REOPEN
    return GroupIncidentAction.OPEN


# --- what a person's action does to an incident's status ---------------------------


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


EARLIEST_ALERT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
"""Before this an alert's time is a broken clock or Go's zero time, not a start."""

FUTURE_TOLERANCE = timedelta(hours=1)
"""How far ahead of Fireline's clock an alert's time may be (clock skew), and no more."""


@dataclass(frozen=True)
class AlertTimes:
    """An alert's times as triage keeps them, and which of them were clamped."""

    starts_at: datetime
    ends_at: datetime | None
    clamped: tuple[str, ...] = ()


def sane_alert_times(
    starts_at: datetime, ends_at: datetime | None, *, received_at: datetime
) -> AlertTimes:
    """Clamp an alert's times into ``[2000, received + 1 h]`` so no duration is negative.

    A start or an end outside that window becomes the time the alert was received; an end
    before the (clamped) start becomes the start. ``ends_at`` is only a resolved alert's.
    """
    latest = received_at + FUTURE_TOLERANCE
    clamped: list[str] = []
    if not EARLIEST_ALERT_TIME <= starts_at <= latest:
        starts_at = received_at
        clamped.append("startsAt")
    if ends_at is not None:
        if not EARLIEST_ALERT_TIME <= ends_at <= latest:
            ends_at = received_at
            clamped.append("endsAt")
        if ends_at < starts_at:
            ends_at = starts_at
            if "endsAt" not in clamped:
                clamped.append("endsAt")
    return AlertTimes(starts_at, ends_at, tuple(clamped))


def triage_defers(*, under_load: bool, oldest_wait: float, budget: float) -> bool:
    """Whether triage lets a webhook storm have the CPU and the database a moment longer:
    only while the oldest receipt waiting is younger than ``budget`` seconds, so that
    triage falls behind by at most that much however long the storm lasts."""
    return under_load and oldest_wait < budget
