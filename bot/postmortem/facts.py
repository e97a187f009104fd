"""Pure functions from an incident's recorded facts to the post-mortem's data.

Everything is computed from events' ``at`` (sorted here), so events that were recorded
out of order still give the right key times. No IO happens here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Protocol

from bot.events import STEP_KINDS, EventKind
from bot.incidents.timeline import EventLike, format_seconds, is_utc, timeline_lines
from bot.postmortem.model import (
    AlertInfo,
    Automation,
    Escalation,
    FollowUpInfo,
    GraphLink,
    Impact,
    IncidentInfo,
    KeyTimes,
    Note,
    PostmortemData,
    Responder,
    RunbookChoice,
    SectionVersion,
    SeverityChange,
    SeverityHistory,
    StepRecord,
)

SYSTEM_ACTORS = frozenset({"alertmanager", "fireline", "scheduler"})
REMEDIATION_KINDS = frozenset({"remediate", "rollback"})
FAILED_STEP_STATES = {
    "failed": "failed",
    "timed_out": "timed out",
    "interrupted": "was interrupted",
}
DETECTION_TARGET_SECONDS = 300.0
OUTPUT_LIMIT = 300


class FactEvent(EventLike, Protocol):
    @property
    def data(self) -> Mapping[str, Any]: ...


def is_person(actor: str) -> bool:
    return actor not in SYSTEM_ACTORS


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# Key times -----------------------------------------------------------------------------


def key_times(
    events: Sequence[FactEvent],
    *,
    incident: IncidentInfo,
    impact_start: datetime,
    steps: Sequence[StepRecord],
) -> KeyTimes:
    """``events`` in order of ``at``."""
    detected = next(
        (e.at for e in events if e.kind == EventKind.INCIDENT_OPENED), incident.opened_at
    )
    ack = next((e for e in events if e.kind == EventKind.INCIDENT_ACKNOWLEDGED), None)
    mitigation = first_successful_remediation(steps)
    resolved_event = None
    for event in events:
        if event.kind == EventKind.INCIDENT_RESOLVED:
            resolved_event = event
        elif event.kind == EventKind.INCIDENT_REOPENED:
            resolved_event = None
    resolved = resolved_event.at if resolved_event else None
    changes = [e for e in events if e.kind == EventKind.CHANGE_CORRELATED]
    change = max(changes, key=lambda e: e.at) if changes else None
    return KeyTimes(
        impact_start=impact_start,
        detected=detected,
        acknowledged=ack.at if ack else None,
        acknowledged_by=ack.actor if ack else None,
        mitigated=mitigation.finished_at if mitigation else None,
        mitigated_by=f"{mitigation.action} (step {mitigation.step_id})" if mitigation else None,
        resolved=resolved,
        resolved_by=resolved_event.actor if resolved_event else None,
        time_to_detect=_seconds(impact_start, detected),
        time_to_acknowledge=_seconds(detected, ack.at if ack else None),
        time_to_mitigate=_seconds(impact_start, mitigation.finished_at if mitigation else None),
        time_to_resolve=_seconds(impact_start, resolved),
        last_change=change.at if change else None,
        last_change_what=change.text if change else None,
    )


def first_successful_remediation(steps: Iterable[StepRecord]) -> StepRecord | None:
    """The earliest remediation step that succeeded and did not fail its verification."""
    done = [
        s
        for s in steps
        if s.kind in REMEDIATION_KINDS and s.result == "succeeded" and s.verification != "failed"
    ]
    return min(done, key=lambda s: s.finished_at, default=None)


# Automation ----------------------------------------------------------------------------


@dataclass
class _StepDraft:
    run_id: str
    step_id: str
    action: str = ""
    kind: str = ""
    params: dict[str, Any] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: str = ""
    approved_by: str | None = None
    rejected_by: str | None = None
    exit_code: int | None = None
    output: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        self.states: list[str] = []


def _short_output(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = " ".join(str(value).split())
    return text if len(text) <= OUTPUT_LIMIT else text[: OUTPUT_LIMIT - 1] + "…"


def steps_of(events: Sequence[FactEvent]) -> list[StepRecord]:
    """Every step of every run, in the order the steps started."""
    drafts: dict[tuple[str, str], _StepDraft] = {}
    verifications: dict[tuple[str, str], tuple[str, str | None]] = {}
    for event in events:
        kind = event.kind
        if kind in STEP_KINDS:
            data = event.data
            key = (str(data.get("run_id", "")), str(data.get("step_id", "")))
            draft = drafts.get(key)
            if draft is None:
                draft = drafts[key] = _StepDraft(*key, started_at=event.at)
            state = EventKind(kind).step_state
            draft.states.append(state)
            draft.result = state
            draft.finished_at = event.at
            draft.action = str(data.get("action") or draft.action)
            draft.kind = str(data.get("kind") or draft.kind)
            if data.get("params") is not None and draft.params is None:
                draft.params = dict(data["params"])
            if state == "approved":
                draft.approved_by = _text(data.get("approved_by")) or event.actor
            elif data.get("approved_by"):
                draft.approved_by = str(data["approved_by"])
            if state == "rejected":
                draft.rejected_by = event.actor
            if data.get("exit_code") is not None:
                draft.exit_code = int(data["exit_code"])
            draft.output = _short_output(data.get("output")) or draft.output
            draft.reason = _text(data.get("reason")) or draft.reason
        elif kind in (EventKind.VERIFICATION_PASSED, EventKind.VERIFICATION_FAILED):
            data = event.data
            key = (str(data.get("run_id", "")), str(data.get("step_id", "")))
            verifications[key] = (kind.removeprefix("verification."), _text(data.get("detail")))
    remediate_steps = {key for key, draft in drafts.items() if draft.kind in REMEDIATION_KINDS}
    by_run: dict[str, tuple[str, str | None]] = {}
    for (run_id, step_id), run_verdict in verifications.items():
        if (run_id, step_id) not in remediate_steps:
            by_run[run_id] = run_verdict
    records = []
    for key, draft in drafts.items():
        verdict = verifications.get(key)
        if verdict is None and key in remediate_steps:
            verdict = by_run.get(draft.run_id)
        assert draft.started_at is not None
        assert draft.finished_at is not None
        records.append(
            StepRecord(
                run_id=draft.run_id,
                step_id=draft.step_id,
                action=draft.action,
                kind=draft.kind,
                params=draft.params or {},
                result=draft.result,
                states=draft.states,
                started_at=draft.started_at,
                finished_at=draft.finished_at,
                approved_by=draft.approved_by,
                rejected_by=draft.rejected_by,
                verification=verdict[0] if verdict else None,
                verification_detail=verdict[1] if verdict else None,
                exit_code=draft.exit_code,
                output=draft.output,
                reason=draft.reason,
            )
        )
    return records


_AUTOMATION_NOTES = frozenset(
    {
        EventKind.RUNBOOK_NONE,
        EventKind.RUNBOOK_TIE,
        EventKind.AUTOMATION_THROTTLED,
        EventKind.AUTOMATION_PAUSED,
    }
)


def automation_of(events: Sequence[FactEvent]) -> Automation:
    runbooks = [
        RunbookChoice(
            at=e.at,
            runbook_id=str(e.data.get("runbook_id", "")),
            title=str(e.data.get("title") or ""),
            reason=str(e.data.get("reason") or ""),
            params=dict(e.data.get("params") or {}),
        )
        for e in events
        if e.kind == EventKind.RUNBOOK_SELECTED
    ]
    notes = [Note(e.at, e.kind, e.actor, e.text) for e in events if e.kind in _AUTOMATION_NOTES]
    return Automation(runbooks=runbooks, steps=steps_of(events), notes=notes)


# People and escalations ----------------------------------------------------------------

_ROLE_OF_KIND: dict[str, str] = {
    EventKind.INCIDENT_ACKNOWLEDGED: "acknowledged",
    EventKind.INCIDENT_RESOLVED: "resolved",
    EventKind.INCIDENT_OPENED: "declared",
    EventKind.NOTE_ADDED: "wrote notes",
    EventKind.STEP_APPROVED: "approved steps",
    EventKind.STEP_REJECTED: "rejected steps",
    EventKind.SEVERITY_CHANGED: "changed severity",
    EventKind.ESCALATION_LEVEL_CHANGED: "escalated",
    EventKind.FOLLOWUP_ADDED: "added follow-ups",
    EventKind.POSTMORTEM_SECTION_SAVED: "wrote the post-mortem",
    EventKind.CHAT_MESSAGE_ADDED: "in the conversation",
    EventKind.STATUS_UPDATE_POSTED: "wrote public updates",
}


def responders_of(events: Sequence[FactEvent]) -> list[Responder]:
    """People who acted, with what they did; commanders and those paged included."""
    roles: dict[str, list[str]] = {}
    first: dict[str, datetime] = {}

    def add(name: str, role: str, at: datetime) -> None:
        held = roles.setdefault(name, [])
        first.setdefault(name, at)
        if role not in held:
            held.append(role)

    for event in events:
        if event.kind == EventKind.COMMANDER_ASSIGNED and event.data.get("user"):
            add(str(event.data["user"]), "incident commander", event.at)
        if event.kind == EventKind.ESCALATION_NOTIFIED:
            level = event.data.get("level")
            for target in _targets(event.data.get("targets")):
                add(target, f"paged (level {level})" if level is not None else "paged", event.at)
        if not is_person(event.actor):
            continue
        if event.kind == EventKind.CHAT_MESSAGE_ADDED and event.data.get("author"):
            add(str(event.data["author"]), "in the conversation", event.at)
            continue
        role = _ROLE_OF_KIND.get(event.kind)
        if role is not None:
            add(event.actor, role, event.at)
    return [
        Responder(name=name, roles=held, first_seen=first[name])
        for name, held in sorted(roles.items(), key=lambda item: (first[item[0]], item[0]))
    ]


def _targets(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [str(value.get("name") or value.get("id") or value)]
    return [
        str(item.get("name") or item.get("id") or item) if isinstance(item, Mapping) else str(item)
        for item in value
    ]


def escalations_of(events: Sequence[FactEvent]) -> list[Escalation]:
    found = []
    for e in events:
        if not e.kind.startswith("escalation."):
            continue
        level = e.data.get("level", e.data.get("to"))
        found.append(
            Escalation(
                at=e.at,
                kind=e.kind,
                policy=_text(e.data.get("policy")),
                level=_text(level),
                targets=_targets(e.data.get("targets")),
                text=e.text,
            )
        )
    return found


def escalations_before(escalations: Sequence[Escalation], until: datetime | None) -> int:
    """How many times the incident moved up its policy before ``until`` (None: ever).

    Explicit level changes count; without any, each page beyond the first level does.
    """
    relevant = [e for e in escalations if until is None or e.at < until]
    changes = [e for e in relevant if e.kind == EventKind.ESCALATION_LEVEL_CHANGED]
    if changes:
        return len(changes)
    notified = [e for e in relevant if e.kind == EventKind.ESCALATION_NOTIFIED]
    levels = [e.level for e in notified]
    first_level = levels[0] if levels else None
    return sum(1 for level in levels if level != first_level)


# Impact and severity -------------------------------------------------------------------


def impact_of(
    incident: IncidentInfo,
    alerts: Sequence[AlertInfo],
    events: Sequence[FactEvent],
    resolved: datetime | None,
) -> Impact:
    services = {incident.service} if incident.service else set()
    for event in events:
        if event.kind == EventKind.TRIAGE_DECIDED and event.data.get("service"):
            services.add(str(event.data["service"]))
    services.update(a.labels["service"] for a in alerts if a.labels.get("service"))
    start = min((a.starts_at for a in alerts), default=incident.started_at)
    end = resolved
    return Impact(
        services=sorted(services),
        alerts=sorted(alerts, key=lambda a: (a.starts_at, a.name, a.fingerprint)),
        started_at=start,
        ended_at=end,
        duration_seconds=_seconds(start, end),
    )


def severity_of(incident: IncidentInfo, events: Sequence[FactEvent]) -> SeverityHistory:
    changes = [
        SeverityChange(
            at=e.at,
            from_severity=str(e.data.get("from", "")),
            to_severity=str(e.data.get("to", "")),
            actor=e.actor,
        )
        for e in events
        if e.kind == EventKind.SEVERITY_CHANGED
    ]
    decided = next(
        (
            str(e.data["severity"])
            for e in events
            if e.kind == EventKind.TRIAGE_DECIDED and e.data.get("severity")
        ),
        None,
    )
    initial = decided or (changes[0].from_severity if changes else incident.severity)
    return SeverityHistory(initial=initial, current=incident.severity, changes=changes)


# Prompts -------------------------------------------------------------------------------


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def prompts(
    *,
    events: Sequence[FactEvent],
    times: KeyTimes,
    automation: Automation,
    severity: SeverityHistory,
    escalations_before_ack: int,
    reopen_count: int,
    people_acted: bool,
) -> tuple[list[str], list[str]]:
    """Statements seeded from the data for "what went well" and "what did not"."""
    well: list[str] = []
    badly: list[str] = []
    if times.time_to_detect is not None:
        detect = format_seconds(times.time_to_detect)
        if times.time_to_detect <= DETECTION_TARGET_SECONDS:
            well.append(f"Detected {detect} after impact began.")
        else:
            badly.append(f"Detected only {detect} after impact began.")
    if times.acknowledged is not None:
        ack = format_seconds(times.time_to_acknowledge)
        if escalations_before_ack == 0:
            well.append(f"Acknowledged {ack} after detection, without escalation.")
        else:
            badly.append(
                f"Escalated {_times(escalations_before_ack)} before acknowledgement "
                f"(acknowledged {ack} after detection)."
            )
    elif escalations_before_ack:
        badly.append(f"Escalated {_times(escalations_before_ack)} and never acknowledged.")
    for choice in automation.runbooks:
        well.append(f"Runbook `{choice.runbook_id}` was chosen automatically ({choice.reason}).")
    for step in automation.steps:
        label = f"`{step.step_id}` ({step.action})" if step.action else f"`{step.step_id}`"
        if step.result == "succeeded" and step.verification == "passed":
            well.append(f"Step {label} succeeded and passed verification.")
        if step.verification == "failed":
            detail = f": {step.verification_detail}" if step.verification_detail else ""
            badly.append(f"Remediation {label} failed verification{detail}.")
        if step.result in FAILED_STEP_STATES:
            reason = f": {step.reason}" if step.reason else ""
            badly.append(f"Step {label} {FAILED_STEP_STATES[step.result]}{reason}.")
        if step.rejected_by:
            badly.append(f"Step {label} was rejected by {step.rejected_by}.")
    for note in automation.notes:
        if note.kind == EventKind.RUNBOOK_NONE:
            badly.append("No runbook matched the alerts.")
        elif note.kind == EventKind.RUNBOOK_TIE:
            badly.append(f"Runbook selection was a tie: {note.text}")
        else:
            badly.append(f"Automation was {note.kind.removeprefix('automation.')}: {note.text}")
    if reopen_count:
        badly.append(f"Re-opened {_times(reopen_count)} (flapping).")
    if severity.changes:
        badly.append(
            f"Severity changed {_times(len(severity.changes))} after opening "
            f"({severity.initial} to {severity.current}): was the first rating right?"
        )
    if times.resolved is not None and not people_acted:
        well.append("Resolved with no human action.")
    if times.mitigated is not None and times.time_to_mitigate is not None:
        well.append(
            f"Mitigated by automation {format_seconds(times.time_to_mitigate)} after impact "
            f"began ({times.mitigated_by})."
        )
    return well, badly


# The whole draft -----------------------------------------------------------------------


def build_postmortem(
    *,
    incident: IncidentInfo,
    alerts: Sequence[AlertInfo],
    events: Iterable[FactEvent],
    followups: Sequence[FollowUpInfo],
    sections: Mapping[str, SectionVersion] | None = None,
    display: tzinfo,
    display_name: str,
    generated_at: datetime,
) -> PostmortemData:
    ordered: list[FactEvent] = sorted(events, key=lambda e: e.at)
    automation = automation_of(ordered)
    escalations = escalations_of(ordered)
    provisional = impact_of(incident, alerts, ordered, None)
    times = key_times(
        ordered, incident=incident, impact_start=provisional.started_at, steps=automation.steps
    )
    impact = impact_of(incident, alerts, ordered, times.resolved)
    severity = severity_of(incident, ordered)
    before_ack = escalations_before(escalations, times.acknowledged)
    reopen_count = max(
        incident.reopen_count, sum(1 for e in ordered if e.kind == EventKind.INCIDENT_REOPENED)
    )
    people_acted = any(
        is_person(e.actor) and not e.kind.startswith(("followup.", "chat.", "postmortem."))
        for e in ordered
    )
    well, badly = prompts(
        events=ordered,
        times=times,
        automation=automation,
        severity=severity,
        escalations_before_ack=before_ack,
        reopen_count=reopen_count,
        people_acted=people_acted,
    )
    return PostmortemData(
        incident=incident,
        generated_at=generated_at,
        display_zone=display_name,
        impact=impact,
        severity=severity,
        key_times=times,
        timeline=timeline_lines(ordered, display=None if is_utc(display) else display),
        automation=automation,
        responders=responders_of(ordered),
        escalations=escalations,
        escalations_before_ack=before_ack,
        went_well=well,
        went_badly=badly,
        notes=[
            Note(e.at, e.kind, e.actor, e.text) for e in ordered if e.kind == EventKind.NOTE_ADDED
        ],
        followups=list(followups),
        sections=dict(sections or {}),
        graphs=[
            GraphLink(
                f"/incidents/{incident.id}/graphs/{e.data['graph_id']}.png",
                f"{e.data.get('expression', '')} ({e.data.get('moment', '')})",
            )
            for e in ordered
            if e.kind == EventKind.GRAPH_DRAWN and e.data.get("graph_id")
        ],
    )
