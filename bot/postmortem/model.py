"""The data behind a post-mortem draft: plain values, ready for a template or JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.incidents.timeline import TimelineLine


@dataclass(frozen=True, slots=True)
class IncidentInfo:
    id: int
    title: str
    status: str
    severity: str
    service: str | None
    signal: str | None
    labels: dict[str, str]
    started_at: datetime
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    reopen_count: int


@dataclass(frozen=True, slots=True)
class AlertInfo:
    name: str
    fingerprint: str
    status: str
    labels: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    summary: str = ""


@dataclass(frozen=True, slots=True)
class FollowUpInfo:
    id: int
    text: str
    status: str
    owner: str | None
    created_by: str
    created_at: datetime
    done_by: str | None = None
    done_at: datetime | None = None
    due_at: datetime | None = None
    link: str | None = None
    overdue: bool = False


@dataclass(frozen=True, slots=True)
class SectionVersion:
    """One saved version of a human section of the post-mortem (root cause, lessons...)."""

    section: str
    version: int
    text: str
    author: str
    saved_at: datetime


@dataclass(frozen=True, slots=True)
class Impact:
    services: list[str]
    alerts: list[AlertInfo]
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None


@dataclass(frozen=True, slots=True)
class SeverityChange:
    at: datetime
    from_severity: str
    to_severity: str
    actor: str


@dataclass(frozen=True, slots=True)
class SeverityHistory:
    initial: str
    current: str
    changes: list[SeverityChange]


@dataclass(frozen=True, slots=True)
class KeyTimes:
    """When things happened, taken from the events' ``at``, never from their order.

    Durations: detect = detected - impact start; acknowledge = acknowledged - detected;
    mitigate and resolve = that time - impact start.
    """

    impact_start: datetime
    detected: datetime
    acknowledged: datetime | None
    acknowledged_by: str | None
    mitigated: datetime | None
    mitigated_by: str | None
    resolved: datetime | None
    resolved_by: str | None
    time_to_detect: float | None
    time_to_acknowledge: float | None
    time_to_mitigate: float | None
    time_to_resolve: float | None
    # The latest change attached to the incident (a deploy, a flag flip): the usual cause.
    last_change: datetime | None = None
    last_change_what: str | None = None


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One runbook step of one run, with everything that happened to it."""

    run_id: str
    step_id: str
    action: str
    kind: str
    params: dict[str, Any]
    result: str
    states: list[str]
    started_at: datetime
    finished_at: datetime
    approved_by: str | None
    rejected_by: str | None
    verification: str | None  # passed | failed | None (not verified)
    verification_detail: str | None
    exit_code: int | None
    output: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class RunbookChoice:
    at: datetime
    runbook_id: str
    title: str
    reason: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Note:
    at: datetime
    kind: str
    actor: str
    text: str


@dataclass(frozen=True, slots=True)
class Automation:
    runbooks: list[RunbookChoice]
    steps: list[StepRecord]
    notes: list[Note]


@dataclass(frozen=True, slots=True)
class Responder:
    name: str
    roles: list[str]
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class Escalation:
    at: datetime
    kind: str
    policy: str | None
    level: str | None
    targets: list[str]
    text: str


@dataclass(frozen=True, slots=True)
class PostmortemData:
    incident: IncidentInfo
    generated_at: datetime
    display_zone: str
    impact: Impact
    severity: SeverityHistory
    key_times: KeyTimes
    timeline: list[TimelineLine]
    automation: Automation
    responders: list[Responder]
    escalations: list[Escalation]
    escalations_before_ack: int
    went_well: list[str]
    went_badly: list[str]
    notes: list[Note]
    followups: list[FollowUpInfo] = field(default_factory=list)
    # What people wrote, by section key (bot/postmortem/sections.py): replaces "(to write)".
    sections: dict[str, SectionVersion] = field(default_factory=dict)
    graphs: list[GraphLink] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GraphLink:
    """A graph drawn for the incident: the console's path to its PNG and what it shows."""

    path: str
    caption: str
