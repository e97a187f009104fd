"""The timeline's vocabulary: every kind of `timeline_event` and the shape of its `data`.

Writers name a kind with an `EventKind` member and build `data` from the kind's payload
(a `TypedDict`, so the row's JSON stays a plain dict). Readers compare against the same
members. `docs/timeline-events.md` is printed from this module: `python -m bot.events`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypedDict


class EventKind(StrEnum):
    """Every kind a timeline row can have; each member's docstring line is in `DESCRIPTIONS`."""

    INCIDENT_OPENED = "incident.opened"
    INCIDENT_REOPENED = "incident.reopened"
    INCIDENT_ACKNOWLEDGED = "incident.acknowledged"
    INCIDENT_UNACKNOWLEDGED = "incident.unacknowledged"
    INCIDENT_RESOLVED = "incident.resolved"
    INCIDENT_SILENCED = "incident.silenced"
    TRIAGE_DECIDED = "triage.decided"
    SEVERITY_CHANGED = "severity.changed"
    ALERT_FIRED = "alert.fired"
    ALERT_RESOLVED = "alert.resolved"
    ALERT_TIME_CLAMPED = "alert.time_clamped"
    NOTE_ADDED = "note.added"
    RUNBOOK_SELECTED = "runbook.selected"
    RUNBOOK_NONE = "runbook.none"
    RUNBOOK_TIE = "runbook.tie"
    RUNBOOK_MESSAGE = "runbook.message"
    RUN_STARTED = "run.started"
    RUN_FINISHED = "run.finished"
    STEP_STARTED = "step.started"
    STEP_AWAITING_APPROVAL = "step.awaiting_approval"
    STEP_APPROVED = "step.approved"
    STEP_REJECTED = "step.rejected"
    STEP_SUCCEEDED = "step.succeeded"
    STEP_FAILED = "step.failed"
    STEP_TIMED_OUT = "step.timed_out"
    STEP_SKIPPED = "step.skipped"
    STEP_DRY_RUN = "step.dry_run"
    STEP_INTERRUPTED = "step.interrupted"
    STEP_LATE_RESULT = "step.late_result"
    VERIFICATION_WAITING = "verification.waiting"
    VERIFICATION_PASSED = "verification.passed"
    VERIFICATION_FAILED = "verification.failed"
    VERIFICATION_INCONCLUSIVE = "verification.inconclusive"
    AUTOMATION_THROTTLED = "automation.throttled"
    AUTOMATION_PAUSED = "automation.paused"
    AUTOMATION_REFUSED = "automation.refused"
    AUTOMATION_BREAKER_TRIPPED = "automation.breaker_tripped"
    APPROVAL_REFUSED = "approval.refused"
    ACCESS_REFUSED = "access.refused"
    ESCALATION_STARTED = "escalation.started"
    ESCALATION_NOTIFIED = "escalation.notified"
    ESCALATION_LEVEL_CHANGED = "escalation.level_changed"
    ESCALATION_STOPPED = "escalation.stopped"
    ESCALATION_PAGE_FAILED = "escalation.page_failed"
    ESCALATION_HELD = "escalation.held"
    INCIDENT_UNSILENCED = "incident.unsilenced"
    NOTIFICATION_SENT = "notification.sent"
    NOTIFICATION_FAILED = "notification.failed"
    COMMANDER_ASSIGNED = "commander.assigned"
    FOLLOWUP_ADDED = "followup.added"
    FOLLOWUP_DONE = "followup.done"
    POSTMORTEM_SECTION_SAVED = "postmortem.section_saved"
    CHAT_MESSAGE_ADDED = "chat.message_added"
    STATUS_UPDATE_POSTED = "status.update_posted"
    MAINTENANCE_HELD = "maintenance.held"
    MAINTENANCE_RELEASED = "maintenance.released"
    CHANGE_CORRELATED = "change.correlated"
    GRAPH_DRAWN = "graph.drawn"
    GRAPH_FAILED = "graph.failed"

    @classmethod
    def step(cls, state: str) -> EventKind:
        """The kind recorded when a step reaches `state` (a `StepState` value)."""
        return cls(f"step.{state}")

    @classmethod
    def verification(cls, verdict: str) -> EventKind:
        """The kind recorded for a verification verdict: passed, failed or inconclusive."""
        return cls(f"verification.{verdict}")

    @property
    def is_step(self) -> bool:
        return self.value.startswith("step.")

    @property
    def step_state(self) -> str:
        """For a `step.*` kind, the state it names (`succeeded`, ...)."""
        return self.value.removeprefix("step.")


STEP_KINDS: frozenset[EventKind] = frozenset(k for k in EventKind if k.is_step)


def as_data(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A payload as the plain dict a timeline row stores."""
    return dict(payload)


# --- payloads: the `data` of each kind (all keys optional: old rows may lack newer ones) ---


class IncidentOpened(TypedDict, total=False):
    receiver: str
    group_key: str
    payload_version: str
    declared_by: str
    reason: str


class IncidentReopened(TypedDict, total=False):
    reopen_count: int


class IncidentAcknowledged(TypedDict, total=False):
    seconds_to_acknowledge: float
    via: str  # "link": from a notification's acknowledge link


class Empty(TypedDict, total=False):
    pass


class IncidentUnacknowledged(TypedDict, total=False):
    reason: str


class IncidentResolved(TypedDict, total=False):
    reason: str


class IncidentSilenced(TypedDict, total=False):
    silence_ids: list[str]
    duration: str


class TriageDecided(TypedDict, total=False):
    severity: str
    service: str
    signal: str
    rules: list[str]
    severity_label: str


SeverityChanged = TypedDict(
    "SeverityChanged", {"from": str, "to": str, "alert_id": int}, total=False
)


class AlertFired(TypedDict, total=False):
    alert_id: int
    fingerprint: str
    labels: dict[str, str]
    starts_at: str


class AlertResolved(TypedDict, total=False):
    alert_id: int
    fingerprint: str
    reason: str


class AlertTimeClamped(TypedDict, total=False):
    alert_id: int
    fingerprint: str
    fields: list[str]
    sent: dict[str, str]
    kept: dict[str, str]


class RunbookSelected(TypedDict, total=False):
    runbook_id: str
    runbook_hash: str
    title: str
    file: str
    reason: str
    params: dict[str, str]
    param_errors: list[str]


class RunbookNone(TypedDict, total=False):
    near_misses: list[dict[str, Any]]
    reason: str


class RunbookTie(TypedDict, total=False):
    candidates: list[dict[str, Any]]
    chosen: str | None
    reason: str


class RunbookMessage(TypedDict, total=False):
    run_id: int
    step_id: str


class RunStarted(TypedDict, total=False):
    run_id: int
    runbook_id: str


class RunFinished(TypedDict, total=False):
    run_id: int
    runbook_id: str
    status: str
    verification: str | None


class StepData(TypedDict, total=False):
    run_id: int
    step_run_id: int
    step_id: str
    runbook_id: str
    action: str
    kind: str
    mutating: bool
    params: dict[str, str]
    args_hash: str
    summary: str
    output: str
    exit_code: int | None
    attempts: int
    refused: bool
    approved_by: str
    reason: str
    code: str
    by: str


class VerificationWaiting(TypedDict, total=False):
    run_id: int
    deadline: str


class VerificationVerdict(TypedDict, total=False):
    run_id: int
    runbook_id: str
    detail: str


class AutomationRefused(TypedDict, total=False):
    run_id: int
    runbook_id: str
    param_errors: list[str]


class BreakerTripped(TypedDict, total=False):
    runbook_id: str
    streak: int


class EscalationStarted(TypedDict, total=False):
    policy: str
    level: int
    reason: str


class EscalationNotified(TypedDict, total=False):
    policy: str
    level: int
    targets: list[str]
    round: int
    users: list[str]
    groups: list[str]
    webhooks: list[str]
    unresolved: list[str]
    destinations: list[str]
    # Each paged person's planned steps: {person, method, kind, after, at}, and ``to``
    # (the Slack id) on a slack step, whose direct message chat holds until ``at``
    reached: list[dict[str, str]]
    once: bool
    fired_due_at: str
    due_at: str
    reason: str


class EscalationPageFailed(TypedDict, total=False):
    destination: str
    level: int
    attempts: int
    error: str


class IncidentUnsilenced(TypedDict, total=False):
    silence_ids: list[str]


class NotificationDelivered(TypedDict, total=False):
    person: str
    method: str  # the contact method's name
    kind: str  # email | ntfy | sms | voice | apprise
    step: int  # 1-based, in the person's notification rules
    after: str  # the rule's delay after the page: "0s", "3m"
    urgency: str  # high | low
    attempts: int
    message_id: int  # the outbox row: one event per row, whatever happens
    error: str  # notification.failed only


EscalationLevelChanged = TypedDict(
    "EscalationLevelChanged",
    {"policy": str, "from": int, "to": int, "reason": str},
    total=False,
)


class EscalationStopped(TypedDict, total=False):
    reason: str


class EscalationHeld(TypedDict, total=False):
    requested_by: str
    acknowledged_by: str
    policy: str


class MaintenanceHeld(TypedDict, total=False):
    window: str
    reason: str
    by: str
    until: str
    held: str


class MaintenanceReleased(TypedDict, total=False):
    window: str
    result: str


class ChangeCorrelated(TypedDict, total=False):
    change_id: int
    kind: str  # deploy | config | flag | rollback
    service: str
    environment: str | None
    version: str | None
    previous_version: str | None
    by: str
    link: str | None
    changed_at: str
    before_alert: str  # how long before the alert started, as ``12m``


class GraphDrawn(TypedDict, total=False):
    graph_id: int
    moment: str  # open | verification
    expression: str
    series: int
    reason: str  # graph.failed: why nothing was drawn


class CommanderAssigned(TypedDict, total=False):
    user: str


class Followup(TypedDict, total=False):
    followup_id: int
    text: str


class PostmortemSectionSaved(TypedDict, total=False):
    section: str
    version: int


class AccessRefused(TypedDict, total=False):
    action: str
    role: str
    by: str


class ChatMessageAdded(TypedDict, total=False):
    author: str
    original_time: str
    permalink: str | None


class StatusUpdatePosted(TypedDict, total=False):
    update_id: int
    phase: str
    components: list[str]


_STEP_DOC = "the step's data"

#: Per kind: who records it, what it means (one line), and the TypedDict of its `data`.
SPEC: dict[EventKind, tuple[str, str, type[Any]]] = {
    EventKind.INCIDENT_OPENED: (
        "alertmanager / a person (declared)",
        "An incident began: the first alert of a group, or a person declared one.",
        IncidentOpened,
    ),
    EventKind.INCIDENT_REOPENED: (
        "alertmanager",
        "A resolved incident's group fired again within the reopen window.",
        IncidentReopened,
    ),
    EventKind.INCIDENT_ACKNOWLEDGED: (
        "person",
        "Someone took the incident; escalation stops paging.",
        IncidentAcknowledged,
    ),
    EventKind.INCIDENT_UNACKNOWLEDGED: (
        "person / fireline",
        "The acknowledgement was withdrawn (by Fireline when it timed out, `reason` says "
        "after how long); escalation resumes.",
        IncidentUnacknowledged,
    ),
    EventKind.INCIDENT_RESOLVED: (
        "alertmanager / person",
        "The incident ended: every alert resolved, or a person resolved it.",
        IncidentResolved,
    ),
    EventKind.INCIDENT_SILENCED: (
        "person / fireline",
        "Alertmanager silences were put on the incident's alerts (acknowledged, or Silence).",
        IncidentSilenced,
    ),
    EventKind.TRIAGE_DECIDED: (
        "fireline",
        "Triage picked the severity, service and signal from the labels.",
        TriageDecided,
    ),
    EventKind.SEVERITY_CHANGED: (
        "fireline / person",
        "The incident's severity went up or down.",
        SeverityChanged,
    ),
    EventKind.ALERT_FIRED: ("alertmanager", "An alert joined the incident.", AlertFired),
    EventKind.ALERT_RESOLVED: (
        "alertmanager",
        "One of the incident's alerts resolved.",
        AlertResolved,
    ),
    EventKind.ALERT_TIME_CLAMPED: (
        "fireline",
        "An alert's startsAt or endsAt was outside [2000, now + 1 h] and was clamped.",
        AlertTimeClamped,
    ),
    EventKind.NOTE_ADDED: ("person", "Someone wrote a note on the timeline.", Empty),
    EventKind.RUNBOOK_SELECTED: (
        "fireline",
        "A runbook matched the incident and was chosen.",
        RunbookSelected,
    ),
    EventKind.RUNBOOK_NONE: (
        "fireline",
        "No runbook matched; `near_misses` lists the closest and the matchers that failed.",
        RunbookNone,
    ),
    EventKind.RUNBOOK_TIE: (
        "fireline",
        "Several runbooks matched at the same priority; `chosen` is null when none was run.",
        RunbookTie,
    ),
    EventKind.RUNBOOK_MESSAGE: ("fireline", "What a `notify` step said.", RunbookMessage),
    EventKind.RUN_STARTED: ("fireline", "A runbook run was planned and began.", RunStarted),
    EventKind.RUN_FINISHED: (
        "fireline",
        "A runbook run ended, with its status and verification.",
        RunFinished,
    ),
    EventKind.STEP_STARTED: ("fireline", "A step began running.", StepData),
    EventKind.STEP_AWAITING_APPROVAL: (
        "fireline",
        "A mutating step waits for a person to approve it.",
        StepData,
    ),
    EventKind.STEP_APPROVED: ("person", "Someone allowed approved a waiting step.", StepData),
    EventKind.STEP_REJECTED: ("person / fireline", "A waiting step was rejected.", StepData),
    EventKind.STEP_SUCCEEDED: ("fireline", "A step finished successfully.", StepData),
    EventKind.STEP_FAILED: ("fireline", "A step finished with an error.", StepData),
    EventKind.STEP_TIMED_OUT: ("fireline", "A step ran past its timeout.", StepData),
    EventKind.STEP_SKIPPED: ("fireline", "A step was skipped (its condition or a gate).", StepData),
    EventKind.STEP_DRY_RUN: ("fireline", "A step was only described, not run (dry run).", StepData),
    EventKind.STEP_INTERRUPTED: (
        "fireline",
        "A step's worker went away; the step was marked interrupted.",
        StepData,
    ),
    EventKind.STEP_LATE_RESULT: (
        "fireline",
        "A step's result arrived after it was marked interrupted; recorded, not acted on.",
        StepData,
    ),
    EventKind.VERIFICATION_WAITING: (
        "fireline",
        "The run waits until `deadline` for the alert to resolve.",
        VerificationWaiting,
    ),
    EventKind.VERIFICATION_PASSED: (
        "fireline",
        "The alert resolved after the run.",
        VerificationVerdict,
    ),
    EventKind.VERIFICATION_FAILED: (
        "fireline",
        "The alert was still firing at the deadline.",
        VerificationVerdict,
    ),
    EventKind.VERIFICATION_INCONCLUSIVE: (
        "fireline",
        "Verification could not tell whether the run helped.",
        VerificationVerdict,
    ),
    EventKind.AUTOMATION_THROTTLED: (
        "fireline",
        "A step was held back (`code`: cooldown, rate_limited, budget, busy).",
        StepData,
    ),
    EventKind.AUTOMATION_PAUSED: (
        "fireline",
        "A step was held back because automation is paused (`code`: paused).",
        StepData,
    ),
    EventKind.AUTOMATION_REFUSED: (
        "fireline",
        "Parameters were refused; nothing ran.",
        AutomationRefused,
    ),
    EventKind.AUTOMATION_BREAKER_TRIPPED: (
        "fireline",
        "A runbook failed too often in a row and was switched off.",
        BreakerTripped,
    ),
    EventKind.APPROVAL_REFUSED: (
        "person",
        "Someone not allowed tried to decide a step; `by` says who.",
        StepData,
    ),
    EventKind.ACCESS_REFUSED: (
        "person",
        "Someone tried an action their role does not allow (`action`, their `role`).",
        AccessRefused,
    ),
    EventKind.ESCALATION_STARTED: (
        "fireline",
        "An escalation policy began (`level` is 1-based).",
        EscalationStarted,
    ),
    EventKind.ESCALATION_NOTIFIED: (
        "scheduler",
        "A level's targets were paged: the page is queued for each of `destinations` "
        "(webhooks; Slack direct messages follow from this event). `fired_due_at` is when "
        "the page was due, `due_at` when the next level is.",
        EscalationNotified,
    ),
    EventKind.ESCALATION_PAGE_FAILED: (
        "fireline",
        "A page could not be delivered to `destination` after `attempts` tries.",
        EscalationPageFailed,
    ),
    EventKind.INCIDENT_UNSILENCED: (
        "fireline",
        "The incident's Alertmanager silences were lifted (un-acknowledged or resolved).",
        IncidentUnsilenced,
    ),
    EventKind.NOTIFICATION_SENT: (
        "fireline",
        "A person's contact method was reached (one step of their notification rules).",
        NotificationDelivered,
    ),
    EventKind.NOTIFICATION_FAILED: (
        "fireline",
        "A person's contact method could not be reached; their next step goes at once.",
        NotificationDelivered,
    ),
    EventKind.ESCALATION_LEVEL_CHANGED: (
        "scheduler / person",
        "Escalation moved to another level.",
        EscalationLevelChanged,
    ),
    EventKind.ESCALATION_STOPPED: ("fireline", "Escalation ended.", EscalationStopped),
    EventKind.ESCALATION_HELD: (
        "fireline",
        "Automation asked to escalate an acknowledged incident; nobody was paged.",
        EscalationHeld,
    ),
    EventKind.MAINTENANCE_HELD: (
        "fireline",
        "A maintenance window holds the incident: it is recorded, but nobody is paged and "
        "no remediation runs until the window ends (`held`: escalation or automation).",
        MaintenanceHeld,
    ),
    EventKind.MAINTENANCE_RELEASED: (
        "fireline",
        "The window that held the incident ended; what still fires was re-evaluated "
        "(escalation started or brought forward, held runs resumed).",
        MaintenanceReleased,
    ),
    EventKind.CHANGE_CORRELATED: (
        "fireline",
        "A change to the incident's service (or its labels) shortly before the alert "
        "started: a deploy, config change, flag flip or rollback (`bot/changes`).",
        ChangeCorrelated,
    ),
    EventKind.GRAPH_DRAWN: (
        "fireline",
        "The alert's expression was drawn from Prometheus over the hour before it started "
        "(at open) or through verification (`bot/graphs`); the PNG is posted in the thread.",
        GraphDrawn,
    ),
    EventKind.GRAPH_FAILED: (
        "fireline",
        "No graph was drawn: Prometheus refused the query, did not answer, or had no data "
        "(`reason`).",
        GraphDrawn,
    ),
    EventKind.COMMANDER_ASSIGNED: (
        "person",
        "Someone became the incident commander.",
        CommanderAssigned,
    ),
    EventKind.FOLLOWUP_ADDED: ("person", "A post-mortem follow-up was added.", Followup),
    EventKind.FOLLOWUP_DONE: ("person", "A post-mortem follow-up was done.", Followup),
    EventKind.POSTMORTEM_SECTION_SAVED: (
        "person",
        "Someone saved a section of the post-mortem; the earlier version is kept.",
        PostmortemSectionSaved,
    ),
    EventKind.CHAT_MESSAGE_ADDED: (
        "person",
        "A chat message was added to the timeline.",
        ChatMessageAdded,
    ),
    EventKind.STATUS_UPDATE_POSTED: (
        "person",
        "A public update for the status page was written (`text` is what customers read).",
        StatusUpdatePosted,
    ),
}

_HEADER = """\
# Timeline events

<!-- Generated by `python -m bot.events > docs/timeline-events.md`; edit bot/events.py. -->

Every change to an incident is one row of `timeline_event`: `kind`, `at` (when it
happened, taken from the source where there is one, such as an alert's `startsAt`),
`recorded_at`, `actor` (a person's handle, `alertmanager`, `fireline`, `scheduler`),
`text` (one sentence a person can read) and `data` (structured, secrets masked).
Rows are appended and never changed or deleted. The post-mortem, the Slack thread, the
API and the CLI all read these kinds from `bot.events.EventKind`.

| kind | actor | meaning | data |
| --- | --- | --- | --- |
"""


def _keys(payload: type[Any]) -> str:
    return ", ".join(f"`{k}`" for k in payload.__annotations__)


def render_markdown() -> str:
    """The text of `docs/timeline-events.md`."""
    rows = [
        f"| `{kind.value}` | {actor} | {meaning} | {_keys(payload)} |\n"
        for kind, (actor, meaning, payload) in SPEC.items()
    ]
    return _HEADER + "".join(rows)


if __name__ == "__main__":
    sys.stdout.write(render_markdown())
