"""Triage: turn stored webhook receipts into alerts, groups and incidents.

Runs after ingest has committed. Every receipt is applied in a transaction of its own
batch; applying one twice changes nothing, so a crash between commit and ``processed_at``
only means the receipt is looked at again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from bot.changes.service import ChangeCorrelator
from bot.clock import Clock, utcnow
from bot.events import EventKind
from bot.incidents import lifecycle
from bot.incidents.decide import (
    AlertAction,
    AlertTimes,
    GroupIncidentAction,
    Severity,
    TriageRule,
    classify,
    decide_alert,
    incident_for_firing_group,
    incident_title,
    sane_alert_times,
)
from bot.incidents.lifecycle import StatusHooks
from bot.ingest.model import Alert, WebhookPayload
from bot.runbooks.service import RunbookSelector
from storage import queries
from storage.db import Database
from storage.tables import AlertGroup, AlertRecord, Incident, WebhookReceipt

log = logging.getLogger(__name__)
ACTOR = "alertmanager"
YIELD_AFTER = 0.02  # seconds a batch runs before it gives way to a waiting webhook


@dataclass
class TriageOutcome:
    """What one payload changed, for the layers that notify people."""

    opened: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)


class _Episodes:
    """The group's episodes of a payload's fingerprints, read in one query before its
    alerts are applied and kept current as they are: the per-alert look-ups (this start,
    a newer one, older firing ones) are then answered without a query each."""

    def __init__(self, records: Iterable[AlertRecord]) -> None:
        self._by_fingerprint: dict[str, list[AlertRecord]] = {}
        for record in records:
            self.add(record)

    def add(self, record: AlertRecord) -> None:
        self._by_fingerprint.setdefault(record.fingerprint, []).append(record)

    def find(self, fingerprint: str, starts_at: datetime) -> AlertRecord | None:
        for record in self._by_fingerprint.get(fingerprint, ()):
            if record.starts_at == starts_at:
                return record
        return None

    def newer_exists(self, fingerprint: str, starts_at: datetime) -> bool:
        return any(r.starts_at > starts_at for r in self._by_fingerprint.get(fingerprint, ()))

    def older_firing(self, fingerprint: str, starts_at: datetime) -> list[AlertRecord]:
        return [
            r
            for r in self._by_fingerprint.get(fingerprint, ())
            if r.status == "firing" and r.starts_at < starts_at
        ]


@dataclass
class _Context:
    session: Session
    group: AlertGroup
    payload: WebhookPayload
    received_at: datetime
    now: datetime
    rules: Sequence[TriageRule]
    flap_window: timedelta
    outcome: TriageOutcome
    episodes: _Episodes
    incident: Incident | None = None
    selector: RunbookSelector | None = None
    escalation: StatusHooks | None = None
    changes: ChangeCorrelator | None = None
    # A storm's payload brings a hundred new alerts: their records are inserted in one
    # flush and their events in one statement, not one round trip each. What needs a new
    # record's id waits in ``later``; events wait in ``events`` until a hook or the end
    # of the payload, so the timeline keeps the order they were decided in.
    later: list[Callable[[], None]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def apply_payload(
    session: Session,
    payload: WebhookPayload,
    *,
    received_at: datetime,
    now: datetime,
    rules: Sequence[TriageRule],
    flap_window: timedelta,
    selector: RunbookSelector | None = None,
    escalation: StatusHooks | None = None,
    changes: ChangeCorrelator | None = None,
) -> TriageOutcome:
    """Apply one Alertmanager payload to the database, alert by alert."""
    if escalation and escalation.payload_received(
        session, payload, received_at=received_at, now=now
    ):
        return TriageOutcome()
    group = queries.lock_group(
        session,
        receiver=payload.receiver,
        group_key=payload.groupKey,
        group_labels=dict(payload.groupLabels),
        now=now,
    )
    incident = queries.lock_incident(session, group.incident_id) if group.incident_id else None
    assert group.id is not None
    episodes = _Episodes(
        queries.episodes_of(
            session, group_id=group.id, fingerprints={a.fingerprint for a in payload.alerts}
        )
    )
    ctx = _Context(
        session, group, payload, received_at, now, rules, flap_window, TriageOutcome(), episodes
    )
    ctx.incident = incident
    ctx.selector = selector
    ctx.escalation = escalation
    ctx.changes = changes
    for alert in payload.alerts:
        _apply_alert(ctx, alert)
    session.flush()
    for step in ctx.later:
        step()
    _flush_events(ctx)
    for incident_id in sorted(ctx.outcome.touched):
        _resolve_if_quiet(ctx, incident_id)
    return ctx.outcome


def _apply_alert(ctx: _Context, alert: Alert) -> None:
    resolved = alert.status == "resolved"
    times = sane_alert_times(
        alert.starts_at, alert.ends_at if resolved else None, received_at=ctx.received_at
    )
    if not times.clamped:
        _apply_sane_alert(ctx, alert)
        return
    sent = alert
    update: dict[str, object] = {"startsAt": times.starts_at}
    if resolved:
        update["endsAt"] = times.ends_at
    record = _apply_sane_alert(ctx, alert.model_copy(update=update), unknown_start=True)
    if record is not None and record.incident_id is not None:
        ctx.later.append(lambda: _note_times_clamped(ctx, record, sent, times))


def _apply_sane_alert(
    ctx: _Context, alert: Alert, *, unknown_start: bool = False
) -> AlertRecord | None:
    """Apply one alert whose times are sane; the episode it touched, if any.

    With ``unknown_start`` (the sent start was clamped), the alert's own start cannot name
    its episode, so it continues the fingerprint's latest firing one, if there is one.
    """
    session, episodes = ctx.session, ctx.episodes
    stored = episodes.find(alert.fingerprint, alert.starts_at)
    if stored is None and unknown_start:
        firing = episodes.older_firing(alert.fingerprint, alert.starts_at)
        stored = max(firing, key=lambda r: r.starts_at, default=None)
    newer = stored is None and episodes.newer_exists(alert.fingerprint, alert.starts_at)
    action = decide_alert(
        incoming_status=alert.status,
        stored_status=stored.status if stored else None,
        newer_episode_exists=newer,
    )
    if action is AlertAction.STALE:
        return None
    if action is AlertAction.REFRESH:
        assert stored is not None
        stored.last_seen_at = ctx.received_at
        stored.annotations = dict(alert.annotations)
        stored.links = alert.links or stored.links
        session.add(stored)
        return stored
    if action is AlertAction.RESOLVE:
        assert stored is not None
        ends_at = max(alert.ends_at or ctx.received_at, stored.starts_at)
        _resolve_alert(ctx, stored, ends_at, reason="resolved")
        return stored
    for older in episodes.older_firing(alert.fingerprint, alert.starts_at):
        _resolve_alert(ctx, older, alert.starts_at, reason="superseded by a newer firing")
    if action is AlertAction.NEW_FIRING:
        incident = _incident_for_firing(ctx, alert)
        record = _new_record(ctx, alert, incident.id)
        ctx.later.append(lambda: _note_alert_fired(ctx, incident, record))
    else:
        open_incident = ctx.incident if ctx.incident and ctx.incident.status != "resolved" else None
        record = _new_record(ctx, alert, open_incident.id if open_incident else None)
        if open_incident is not None:
            ctx.later.append(lambda: _event_alert_resolved(ctx, record, reason="resolved"))
    return record


def _note_times_clamped(ctx: _Context, record: AlertRecord, sent: Alert, times: AlertTimes) -> None:
    assert record.incident_id is not None
    assert record.id is not None
    given = {"startsAt": sent.startsAt, "endsAt": sent.endsAt}
    kept = {"startsAt": times.starts_at, "endsAt": times.ends_at}
    name = record.labels.get("alertname", "alert")
    shown = ", ".join(f"{f} {given[f]} as {kept[f]}" for f in times.clamped)
    _event(
        ctx,
        incident_id=record.incident_id,
        kind=EventKind.ALERT_TIME_CLAMPED,
        text=f"{name}: an impossible time was clamped ({shown})",
        actor="fireline",
        at=ctx.received_at,
        recorded_at=ctx.now,
        data={
            "alert_id": record.id,
            "fingerprint": record.fingerprint,
            "fields": list(times.clamped),
            "sent": {f: str(given[f]) for f in times.clamped},
            "kept": {f: str(kept[f]) for f in times.clamped},
        },
        dedupe_key=f"alert.time_clamped:{record.id}:{','.join(times.clamped)}",
    )


def _new_record(ctx: _Context, alert: Alert, incident_id: int | None) -> AlertRecord:
    assert ctx.group.id is not None
    record = AlertRecord(
        group_id=ctx.group.id,
        incident_id=incident_id,
        fingerprint=alert.fingerprint,
        status=alert.status,
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        starts_at=alert.starts_at,
        ends_at=alert.ends_at if alert.status == "resolved" else None,
        generator_url=alert.generatorURL,
        links=alert.links,
        first_seen_at=ctx.received_at,
        last_seen_at=ctx.received_at,
    )
    ctx.session.add(record)
    ctx.episodes.add(record)
    return record


def _incident_for_firing(ctx: _Context, alert: Alert) -> Incident:
    latest = ctx.incident
    action = incident_for_firing_group(
        latest_status=latest.status if latest else None,
        latest_resolved_at=latest.resolved_at if latest else None,
        now=ctx.received_at,
        flap_window=ctx.flap_window,
    )
    if action is GroupIncidentAction.ATTACH:
        assert latest is not None
        return latest
    if action is GroupIncidentAction.REOPEN:
        assert latest is not None
        assert latest.id is not None
        _flush_events(ctx)
        lifecycle.reopen(ctx.session, latest, now=ctx.now)
        _event(
            ctx,
            incident_id=latest.id,
            kind=EventKind.INCIDENT_REOPENED,
            text=f"Re-opened: the group fired again within the flap window "
            f"({latest.reopen_count} time(s) so far)",
            actor=ACTOR,
            at=ctx.received_at,
            recorded_at=ctx.now,
            data={"reopen_count": latest.reopen_count},
        )
        if ctx.escalation:
            _flush_events(ctx)
            ctx.escalation.incident_opened(ctx.session, latest, now=ctx.now)
        ctx.outcome.reopened.append(latest.id)
        return latest
    return _open_incident(ctx, alert)


def _open_incident(ctx: _Context, alert: Alert) -> Incident:
    payload = ctx.payload
    decision = classify(alert.labels, ctx.rules)
    annotations = {**payload.commonAnnotations, **alert.annotations}
    incident = Incident(
        title=incident_title(annotations, alert.labels, payload.groupLabels),
        status="open",
        severity=decision.severity.name,
        service=decision.service,
        signal=decision.signal.value if decision.signal else None,
        labels=dict(payload.commonLabels or alert.labels),
        source_url=alert.generatorURL or payload.externalURL or None,
        # An impact cannot start after it was seen, whatever a skewed clock says.
        started_at=min(alert.starts_at, ctx.received_at),
        opened_at=ctx.received_at,
        updated_at=ctx.now,
    )
    ctx.session.add(incident)
    ctx.session.flush()
    assert incident.id is not None
    ctx.group.incident_id = incident.id
    ctx.session.add(ctx.group)
    ctx.incident = incident
    _event(
        ctx,
        incident_id=incident.id,
        kind=EventKind.INCIDENT_OPENED,
        text=f"Opened {decision.severity.name}: {incident.title}",
        actor=ACTOR,
        at=ctx.received_at,
        recorded_at=ctx.now,
        data={
            "receiver": payload.receiver,
            "group_key": payload.groupKey,
            "payload_version": payload.version,
        },
    )
    _event(
        ctx,
        incident_id=incident.id,
        kind=EventKind.TRIAGE_DECIDED,
        text=_triage_text(decision.severity, decision.service, incident.signal, decision.rules),
        actor="fireline",
        at=ctx.received_at,
        recorded_at=ctx.now,
        data={
            "severity": decision.severity.name,
            "service": decision.service,
            "signal": incident.signal,
            "rules": list(decision.rules),
            "severity_label": alert.labels.get("severity"),
        },
    )
    _flush_events(ctx)  # the hooks below write to the timeline too
    deploy = (
        ctx.changes.on_incident_opened(ctx.session, incident, labels=alert.labels, now=ctx.now)
        if ctx.changes is not None
        else {}
    )
    if ctx.selector is not None:
        ctx.selector.on_incident_opened(
            ctx.session,
            incident,
            labels=alert.labels,
            annotations=annotations,
            at=ctx.received_at,
            now=ctx.now,
            fingerprint=alert.fingerprint,
            starts_at=alert.starts_at,
            deploy=deploy,
        )
    if ctx.escalation:
        ctx.escalation.incident_opened(ctx.session, incident, now=ctx.now)
    ctx.outcome.opened.append(incident.id)
    return incident


def _triage_text(
    severity: Severity, service: str | None, signal: str | None, rules: Sequence[str]
) -> str:
    parts = [f"severity {severity.name}"]
    if service:
        parts.append(f"service {service}")
    if signal:
        parts.append(f"golden signal {signal}")
    text = "Triage: " + ", ".join(parts)
    return text + (f" (rules: {', '.join(rules)})" if rules else " (from labels)")


def _note_alert_fired(ctx: _Context, incident: Incident, record: AlertRecord) -> None:
    assert incident.id is not None
    assert record.id is not None
    ctx.outcome.touched.add(incident.id)
    if record.starts_at < incident.started_at:
        incident.started_at = record.starts_at
    decision = classify(record.labels, ctx.rules)
    current = Severity.parse(incident.severity)
    if decision.severity < current:
        incident.severity = decision.severity.name
        _event(
            ctx,
            incident_id=incident.id,
            kind=EventKind.SEVERITY_CHANGED,
            text=f"Severity raised from {current.name} to {decision.severity.name} by "
            f"{record.labels.get('alertname', 'an alert')}",
            actor="fireline",
            at=ctx.received_at,
            recorded_at=ctx.now,
            data={"from": current.name, "to": decision.severity.name, "alert_id": record.id},
        )
        if ctx.escalation:
            _flush_events(ctx)
            ctx.escalation.severity_raised(ctx.session, incident, now=ctx.now)
    incident.updated_at = ctx.now
    ctx.session.add(incident)
    name = record.labels.get("alertname", "alert")
    _event(
        ctx,
        incident_id=incident.id,
        kind=EventKind.ALERT_FIRED,
        text=f"{name} firing ({_label_summary(record.labels)})",
        actor=ACTOR,
        at=record.starts_at,
        recorded_at=ctx.now,
        data={
            "alert_id": record.id,
            "fingerprint": record.fingerprint,
            "labels": record.labels,
            "starts_at": record.starts_at.isoformat(),
        },
        dedupe_key=f"alert.fired:{record.id}",
    )


def _event(ctx: _Context, **values: Any) -> None:
    """A timeline event, written at the next :func:`_flush_events`."""
    ctx.events.append(values)


def _flush_events(ctx: _Context) -> None:
    if ctx.events:
        queries.add_events(ctx.session, ctx.events)
        ctx.events.clear()


def _label_summary(labels: dict[str, str]) -> str:
    shown = [f"{k}={v}" for k, v in sorted(labels.items()) if k not in ("alertname", "severity")]
    return ", ".join(shown[:6]) or "no labels"


def _resolve_alert(ctx: _Context, record: AlertRecord, ends_at: datetime, *, reason: str) -> None:
    record.status = "resolved"
    record.ends_at = ends_at
    record.last_seen_at = ctx.received_at
    ctx.session.add(record)
    if record.incident_id is not None:
        ctx.later.append(lambda: _event_alert_resolved(ctx, record, reason=reason))
        ctx.outcome.touched.add(record.incident_id)


def _event_alert_resolved(ctx: _Context, record: AlertRecord, *, reason: str) -> None:
    assert record.incident_id is not None
    assert record.id is not None
    name = record.labels.get("alertname", "alert")
    _event(
        ctx,
        incident_id=record.incident_id,
        kind=EventKind.ALERT_RESOLVED,
        text=f"{name} resolved ({_label_summary(record.labels)})"
        + ("" if reason == "resolved" else f": {reason}"),
        actor=ACTOR,
        at=record.ends_at or ctx.received_at,
        recorded_at=ctx.now,
        data={"alert_id": record.id, "fingerprint": record.fingerprint, "reason": reason},
        dedupe_key=f"alert.resolved:{record.id}",
    )


def _resolve_if_quiet(ctx: _Context, incident_id: int) -> None:
    incident = ctx.session.get(Incident, incident_id)
    if incident is None or incident.status == "resolved":
        return
    if queries.count_firing_alerts(ctx.session, incident_id) > 0:
        return
    lifecycle.resolve(
        ctx.session,
        incident,
        actor=ACTOR,
        text="Resolved: every alert in the incident has resolved",
        reason="every alert resolved",
        at=ctx.received_at,
        now=ctx.now,
        hooks=ctx.escalation,
    )
    ctx.outcome.resolved.append(incident_id)


def process_pending(
    db: Database,
    *,
    rules: Sequence[TriageRule],
    flap_window: timedelta,
    batch_size: int = 50,
    clock: Clock = utcnow,
    selector: RunbookSelector | None = None,
    escalation: StatusHooks | None = None,
    changes: ChangeCorrelator | None = None,
) -> tuple[int, TriageOutcome]:
    """Triage up to ``batch_size`` stored receipts; returns how many were taken.

    On SQLite the batch holds the one write lock: once it has run ``YIELD_AFTER`` with a
    webhook's receipt waiting for the lock, it commits what it has triaged and leaves the
    rest pending for the next batch."""
    total = TriageOutcome()
    with db.session() as session:  # an idle cycle finds nothing: no write lock for it
        if not queries.count_pending_receipts(session):
            return 0, total
    taken = 0
    started = time.monotonic()
    with db.write() as session:
        receipts = queries.claim_pending_receipts(session, batch_size)
        # One lock order for every replica: groups in key order, so no two deadlock.
        for receipt in sorted(receipts, key=lambda r: (r.receiver, r.group_key, r.id or 0)):
            if taken and time.monotonic() - started > YIELD_AFTER and db.urgent_waiting():
                break  # the rest stay pending for the next batch; a webhook waits for the lock
            taken += 1
            now = clock()
            outcome, error = _apply_receipt(
                session, receipt, rules, flap_window, now, selector, escalation, changes
            )
            assert receipt.id is not None
            queries.mark_receipt(session, receipt.id, at=now, error=error)
            total.opened += outcome.opened
            total.reopened += outcome.reopened
            total.resolved += outcome.resolved
            total.touched |= outcome.touched
    return taken, total


def _apply_receipt(
    session: Session,
    receipt: WebhookReceipt,
    rules: Sequence[TriageRule],
    flap_window: timedelta,
    now: datetime,
    selector: RunbookSelector | None = None,
    escalation: StatusHooks | None = None,
    changes: ChangeCorrelator | None = None,
) -> tuple[TriageOutcome, str | None]:
    try:
        payload = WebhookPayload.model_validate_json(receipt.body)
    except ValidationError as exc:
        log.error("receipt %s cannot be read again: %s", receipt.id, exc)
        return TriageOutcome(), f"invalid payload: {exc.errors()[0]['msg']}"
    with session.begin_nested():
        outcome = apply_payload(
            session,
            payload,
            received_at=receipt.received_at,
            now=now,
            rules=rules,
            flap_window=flap_window,
            selector=selector,
            escalation=escalation,
            changes=changes,
        )
    return outcome, None
