"""What Fireline would do with one Alertmanager payload, decided without touching anything.

``simulate`` runs the same pure decisions the service runs (triage, runbook selection,
parameter validation, the gate each step meets, the escalation ladder) and returns
them as data; the CLI prints them or emits JSON, so teams can check alert rules and
runbooks in CI before an incident does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from actions.gates import Limits, Mode, effective_mode
from actions.registry import ActionRegistry, is_mutating
from bot.automation.decide import StepFacts, assumed_results, decide_step
from bot.chat.slack.text import escape
from bot.durations import format_duration
from bot.escalation import decide as policy_math
from bot.escalation.schedules import Schedule, on_call
from bot.escalation.service import EscalationRules
from bot.incidents.decide import TriageRule, classify, incident_title
from bot.ingest.model import WebhookPayload
from bot.runbooks.model import Runbook
from bot.runbooks.params import resolve_params
from bot.runbooks.selection import RunbookIndex, select_runbook

# runbook id, content hash -> promoted? (None: unknown, no database to ask)
PromotedLookup = Callable[[str, str], bool | None]


@dataclass
class StepPreview:
    step_id: str
    kind: str
    action: str
    args: dict[str, Any]
    mutating: bool
    gate: str
    reason: str


@dataclass
class RungPreview:
    level: int
    round: int
    after: str  # time from the incident opening, e.g. "5m"
    targets: list[str]


@dataclass
class AlertPreview:
    fingerprint: str
    alertname: str
    status: str
    incident_key: str
    severity: str
    service: str | None
    signal: str | None
    title: str
    triage_rules: list[str]
    runbook: str | None
    selection: str
    params: dict[str, Any] = field(default_factory=dict)
    param_errors: dict[str, str] = field(default_factory=dict)
    mode: str | None = None
    steps: list[StepPreview] = field(default_factory=list)
    escalation_policy: str | None = None
    escalation: list[RungPreview] = field(default_factory=list)
    slack: list[str] = field(default_factory=list)


@dataclass
class Simulation:
    receiver: str
    group_key: str
    alerts: list[AlertPreview]

    @property
    def unmatched(self) -> list[AlertPreview]:
        return [a for a in self.alerts if a.status == "firing" and a.runbook is None]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def simulate(
    payload: WebhookPayload,
    *,
    rules: tuple[TriageRule, ...],
    index: RunbookIndex,
    registry: ActionRegistry,
    escalation: EscalationRules | None,
    global_mode: Mode,
    promoted: PromotedLookup,
    now: datetime,
) -> Simulation:
    previews = []
    for alert in payload.alerts:
        decision = classify(alert.labels, rules)
        selection = select_runbook(index, alert.labels, alert.annotations)
        chosen = selection.chosen
        preview = AlertPreview(
            fingerprint=alert.fingerprint,
            alertname=alert.labels.get("alertname", ""),
            status=alert.status,
            incident_key=f"{payload.receiver} / {payload.groupKey}",
            severity=decision.severity.name,
            service=decision.service,
            signal=decision.signal.value if decision.signal else None,
            title=incident_title(alert.annotations, alert.labels, payload.groupLabels),
            triage_rules=list(decision.rules),
            runbook=chosen.id if chosen else None,
            selection=selection.reason,
        )
        if chosen is not None:
            _preview_run(
                preview,
                chosen,
                alert.labels,
                alert.annotations,
                registry,
                global_mode,
                promoted,
                alert_starts_at=alert.starts_at,
                now=now,
            )
        if escalation is not None:
            _preview_escalation(preview, escalation, now)
        preview.slack = slack_messages(preview)
        previews.append(preview)
    return Simulation(payload.receiver, payload.groupKey, previews)


def _preview_run(
    preview: AlertPreview,
    runbook: Runbook,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    registry: ActionRegistry,
    global_mode: Mode,
    promoted: PromotedLookup,
    *,
    alert_starts_at: datetime,
    now: datetime,
) -> None:
    resolution = resolve_params(runbook.params, labels=labels, annotations=annotations)
    preview.params = resolution.as_json()
    preview.param_errors = dict(resolution.errors)
    if resolution.errors:
        preview.mode = "refused"
        return
    is_promoted = promoted(runbook.id, runbook.hash)
    values = {k: str(v) for k, v in resolution.as_json().items()}
    for step in runbook.steps:
        action = registry.get(step.uses)
        args = step.resolved_args(values)
        mutating = action is None or is_mutating(action, args, read_only=step.read_only)
        mode, mode_reason = effective_mode(
            global_mode, runbook.policy.mode, step.mode, promoted=is_promoted
        )
        preview.mode = mode
        facts = StepFacts(
            step=step,
            # Unknown actions are the runbook checker's to report; preview the gate.
            action_known=True,
            mutating=mutating,
            results=assumed_results(step),
            run_mutated=True,
            incident_resolved=False,
            mode=mode,
            mode_reason=mode_reason,
            alert_starts_at=alert_starts_at,
            stale_after=runbook.policy.limits.stale_after,
            deploy_preceded=True,  # as assumed_results: the gate once its conditions hold
        )
        plan = decide_step(facts, None, _limits(runbook), now=now)
        reason = plan.reason
        if step.kind.value == "rollback":
            reason = "only after a failed verification; " + reason
        elif step.when:
            reason = f"when {', '.join(str(c) for c in step.when)}; " + reason
        if mutating and plan.gate.value in ("run", "approval"):
            reason += "; the guards (pauses, breaker, cooldown, rate, budget) are checked then"
        preview.steps.append(
            StepPreview(
                step.id, step.kind.value, step.uses, args, mutating, plan.gate.value, reason
            )
        )


def _limits(runbook: Runbook) -> Limits:
    """The runbook's limits; the simulation has no history, so no guard holds a step."""
    limits = runbook.policy.limits
    max_runs, per = limits.rate
    return Limits(limits.cooldown, max_runs, per, limits.stale_after, 0, per)


def _preview_escalation(preview: AlertPreview, rules: EscalationRules, now: datetime) -> None:
    policy = policy_math.select_policy(
        rules.policies, severity=preview.severity, service=preview.service
    )
    if policy is None:
        return
    preview.escalation_policy = policy.name
    for position, level in policy_math.ladder(policy, severity=preview.severity, start=now):
        preview.escalation.append(
            RungPreview(
                level=position.level + 1,
                round=position.round,
                after=format_duration(position.due_at - now),
                targets=[_target(str(t), rules.schedules, position.due_at) for t in level.targets],
            )
        )


def _target(target: str, schedules: Mapping[str, Schedule], at: datetime) -> str:
    kind, _, name = target.partition(":")
    if kind == "schedule" and name in schedules:
        who = on_call(schedules[name], at).user or "nobody"
        return f"{target} (then {who}, before overrides)"
    return target


def slack_messages(preview: AlertPreview) -> list[str]:
    """The messages the incident would get, in order, with the payload's text escaped as
    Slack will get it (so ``<!channel>`` in a label shows as ``&lt;!channel&gt;``)."""
    if preview.status != "firing":
        return [f"thread: {escape(preview.alertname)} resolved"]
    card = f"card: [{preview.severity}] {escape(preview.title)}"
    if preview.service:
        card += f" · service {escape(preview.service)}"
    card += f" · runbook {preview.runbook or 'none'} · buttons: Acknowledge, Escalate, Resolve"
    out = [card]
    if preview.runbook is None:
        out.append(f"thread: no runbook ({escape(preview.selection)})")
        return out
    out.append(f"thread: runbook {preview.runbook} chosen ({escape(preview.selection)})")
    if preview.param_errors:
        bad = "; ".join(f"{k}: {v}" for k, v in preview.param_errors.items())
        out.append(f"thread: automation refused, parameters: {escape(bad)}")
        return out
    for step in preview.steps:
        if step.gate == "approval":
            out.append(
                f"thread: step {step.step_id} ({step.action}) needs approval · "
                "buttons: Approve, Reject"
            )
        elif step.gate == "run":
            out.append(f"thread: step {step.step_id} ({step.action}) runs, then its result")
        else:
            out.append(
                f"thread: step {step.step_id} ({step.action}) {step.gate}: {escape(step.reason)}"
            )
    return out
