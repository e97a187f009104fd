"""Escalation use cases: start, stop, restart, escalate and fire timers in the database.

Functions taking a ``session`` run inside the caller's transaction (triage opening an
incident, a person acknowledging it) so that the incident's state and its timer change
together. ``fire_due`` claims due timers and, in the same transaction, decides each
page, records it, queues it in the outbox for every webhook and stores the next due time;
nothing is sent until that transaction commits (``bot.outbox``). A page is decided only
while the incident's row is locked and seen unacknowledged, and the webhook transport
drops it if an acknowledgement commits before it goes out (``page_still_wanted``).

Acknowledged means quiet: only a person's ``escalate`` (once), a severity rise (once) or
the acknowledgement timing out (``EscalationRules.ack_timeout``, stored as the timer's
``ack_due_at`` and withdrawn by ``fire_due``) pages an acknowledged incident again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.clock import Clock, utcnow
from bot.durations import format_duration
from bot.errors import ConflictError, NotFoundError
from bot.escalation import decide as policy_math
from bot.escalation.config import WatchdogConfig
from bot.escalation.decide import Level, Policy, Position, Requester, Target, TargetKind
from bot.escalation.notify import WEBHOOK, Notification
from bot.escalation.schedules import OnCall, Override, Schedule, on_call
from bot.events import EscalationHeld, EventKind, as_data
from bot.incidents import lifecycle
from bot.incidents.decide import IncidentStatus
from bot.maintenance.service import Maintenance
from bot.notify import service as notify
from bot.notify.service import NotifyRules
from bot.outbox import service as outbox
from bot.people.model import SLACK_USER_ID
from storage import queries
from storage import queries_escalation as timers_q
from storage.db import Database
from storage.tables import Incident, TimelineEvent
from storage.tables_escalation import EscalationTimer

log = logging.getLogger(__name__)

COMMANDER_ROLE = "incident_commander"


@dataclass(frozen=True)
class EscalationRules:
    """The compiled configuration escalation needs."""

    policies: tuple[Policy, ...]
    schedules: Mapping[str, Schedule]
    roles: Mapping[str, tuple[Target, ...]]
    watchdog: WatchdogConfig
    # An acknowledgement older than this lapses and escalation restarts; None: never.
    ack_timeout: timedelta | None = None
    # Who is reached how: each paged person's contact methods and notification rules.
    reach: NotifyRules = field(default_factory=NotifyRules)
    # Windows during which incidents are recorded but nobody is paged; None: none.
    maintenance: Maintenance | None = None

    def policy(self, name: str) -> Policy | None:
        return next((p for p in self.policies if p.name == name), None)


# --- inside another transaction -------------------------------------------------------


def start(
    session: Session, incident: Incident, *, rules: EscalationRules, now: datetime, reason: str
) -> EscalationTimer | None:
    """Begin (or begin again) an incident's escalation; its first level is due now."""
    assert incident.id is not None
    policy = policy_math.select_policy(
        rules.policies, severity=incident.severity, service=incident.service
    )
    if policy is None:
        log.info("incident %s: no escalation policy applies", incident.id)
        return None
    if rules.maintenance is not None and rules.maintenance.hold(
        session, incident, held="escalation", now=now
    ):
        return None  # started when the window ends (bot.maintenance releases it)
    position = policy_math.first_position(policy, severity=incident.severity, now=now)
    timer = session.get(EscalationTimer, incident.id)
    if timer is None:
        timer = EscalationTimer(
            incident_id=incident.id, policy=policy.name, status="active", level=0, updated_at=now
        )
    timer.policy = policy.name
    timer.current_level = None
    timer.ack_due_at = None
    _schedule(timer, position, status="active", reason=reason, now=now)
    session.add(timer)
    _record_start(session, incident.id, policy.name, position, reason=reason, now=now)
    return timer


def _record_start(
    session: Session,
    incident_id: int,
    policy: str,
    position: Position,
    *,
    reason: str,
    now: datetime,
    say_why: bool = False,
) -> None:
    text = f"Escalation policy {policy} started at level {position.level + 1}"
    queries.add_event(
        session,
        incident_id=incident_id,
        kind=EventKind.ESCALATION_STARTED,
        text=f"{text}: {reason}" if say_why else text,
        actor="fireline",
        at=now,
        recorded_at=now,
        data={"policy": policy, "level": position.level + 1, "reason": reason},
    )


def stop(session: Session, incident_id: int, *, reason: str, now: datetime) -> bool:
    """Stop pending notifications and any acknowledgement timeout; call it with the
    incident's row locked. True when notifications were pending.

    No timeline event: the acknowledgement or resolution that stops escalation is one; the
    timer row keeps the reason.
    """
    timer = timers_q.lock_timer(session, incident_id)
    if timer is None:
        return False
    firing = timer.status in timers_q.FIRING_STATUSES
    if not firing and timer.ack_due_at is None:
        return False
    if firing:
        timer.status = "stopped"
        timer.due_at = None
        timer.reason = reason
    timer.ack_due_at = None
    timer.version += 1
    timer.updated_at = now
    session.add(timer)
    return firing


def acknowledged(
    session: Session, incident_id: int, *, rules: EscalationRules, actor: str, now: datetime
) -> None:
    """A person acknowledged: stop paging and, with an acknowledgement timeout, store when
    the acknowledgement lapses (a new acknowledgement starts the wait again)."""
    stop(session, incident_id, reason=f"acknowledged by {actor}", now=now)
    if rules.ack_timeout is None:
        return
    timer = timers_q.lock_timer(session, incident_id)
    if timer is None:
        return
    timer.ack_due_at = now + rules.ack_timeout
    timer.version += 1
    timer.updated_at = now
    session.add(timer)


def severity_raised(
    session: Session, incident: Incident, *, rules: EscalationRules, now: datetime
) -> None:
    """Triage raised the severity of an incident still escalating: follow the new
    severity's policy (or its start level) from now. An acknowledged one is paged once
    and stays acknowledged."""
    assert incident.id is not None
    timer = timers_q.lock_timer(session, incident.id)
    if timer is not None and incident.status == IncidentStatus.ACKNOWLEDGED:
        _page_acknowledged(session, incident, timer, rules=rules, now=now)
        return
    if timer is None or timer.status != "active":
        return
    change = policy_math.after_severity_raised(
        rules.policies,
        current_policy=timer.policy,
        next_level=timer.level,
        round=timer.round,
        severity=incident.severity,
        service=incident.service,
        now=now,
    )
    if change is not None:
        reason = f"severity raised to {incident.severity}"
        _follow_severity(session, timer, change, status="active", reason=reason, now=now)


def _page_acknowledged(
    session: Session,
    incident: Incident,
    timer: EscalationTimer,
    *,
    rules: EscalationRules,
    now: datetime,
) -> None:
    assert incident.id is not None
    change = policy_math.page_while_acknowledged(
        rules.policies,
        current_policy=timer.policy,
        current=timer.current_level,
        round=timer.round,
        severity=incident.severity,
        service=incident.service,
        now=now,
    )
    if change is not None:
        reason = f"severity raised to {incident.severity} while acknowledged"
        _follow_severity(session, timer, change, status="once", reason=reason, now=now)


def _follow_severity(
    session: Session,
    timer: EscalationTimer,
    change: tuple[Policy, Position],
    *,
    status: str,
    reason: str,
    now: datetime,
) -> None:
    """Schedule the position a severity rise chose, recording a change of policy."""
    policy, position = change
    if policy.name != timer.policy:
        timer.policy = policy.name
        timer.current_level = None
        _record_start(
            session, timer.incident_id, policy.name, position, reason=reason, now=now, say_why=True
        )
    _schedule(timer, position, status=status, reason=reason, now=now)
    session.add(timer)


def restart(
    session: Session,
    incident: Incident,
    *,
    rules: EscalationRules,
    now: datetime,
    actor: str,
    reason: str | None = None,
) -> None:
    """Un-acknowledged: notify the level notified last again, now, and carry on."""
    assert incident.id is not None
    reason = reason or f"un-acknowledged by {actor}"
    timer = timers_q.lock_timer(session, incident.id)
    policy = rules.policy(timer.policy) if timer else None
    if timer is None or policy is None:
        start(session, incident, rules=rules, now=now, reason=reason)
        return
    position = policy_math.restart_at_current(
        policy,
        current=timer.current_level,
        round=timer.round,
        severity=incident.severity,
        now=now,
    )
    timer.ack_due_at = None
    _schedule(timer, position, status="active", reason=reason, now=now)
    session.add(timer)


def jump(
    session: Session,
    incident: Incident,
    *,
    rules: EscalationRules,
    now: datetime,
    actor: str,
    requester: Requester,
) -> Position | None:
    """Escalate: the next level is due now. On an acknowledged incident a person's request
    notifies it once and the acknowledgement stands; automation's pages nobody and the
    timeline says so (None)."""
    assert incident.id is not None
    acknowledged = incident.status == IncidentStatus.ACKNOWLEDGED
    status = policy_math.escalation_status(acknowledged=acknowledged, requester=requester)
    if status is None:
        _record_held(session, incident, requested_by=actor, now=now)
        return None
    timer = timers_q.lock_timer(session, incident.id)
    policy = rules.policy(timer.policy) if timer else None
    if timer is None or policy is None:
        started = start(session, incident, rules=rules, now=now, reason=f"escalated by {actor}")
        if started is None:
            raise ConflictError("no escalation policy applies to this incident")
        timer, policy = started, rules.policy(started.policy)
        assert policy is not None
    position = policy_math.escalate_now(
        policy, current=timer.current_level, round=timer.round, now=now
    )
    _schedule(timer, position, status=status, reason=f"escalated by {actor}", now=now)
    session.add(timer)
    return position


def _record_held(session: Session, incident: Incident, *, requested_by: str, now: datetime) -> None:
    assert incident.id is not None
    by = incident.acknowledged_by or "a person"
    timer = session.get(EscalationTimer, incident.id)
    held = EscalationHeld(requested_by=requested_by, acknowledged_by=by)
    if timer is not None:
        held["policy"] = timer.policy
    queries.add_event(
        session,
        incident_id=incident.id,
        kind=EventKind.ESCALATION_HELD,
        text=f"Not escalated by {requested_by}: {by} acknowledged the incident, nobody paged",
        actor="fireline",
        at=now,
        recorded_at=now,
        data=as_data(held),
    )


def _schedule(
    timer: EscalationTimer, position: Position, *, status: str, reason: str, now: datetime
) -> None:
    timer.status = status
    timer.level = position.level
    timer.round = position.round
    timer.due_at = position.due_at
    timer.reason = reason
    timer.claimed_by = None
    timer.version += 1
    timer.updated_at = now


def _event(
    incident_id: int,
    kind: str,
    text: str,
    *,
    actor: str,
    now: datetime,
    data: dict[str, Any],
    dedupe_key: str | None = None,
) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "kind": kind,
        "text": text,
        "actor": actor,
        "at": now,
        "recorded_at": now,
        "data": data,
        "dedupe_key": dedupe_key,
    }


def _stop(
    timer: EscalationTimer, events: list[dict[str, Any]], *, reason: str, now: datetime, status: str
) -> None:
    timer.status = status
    timer.due_at = None
    timer.version += 1
    timer.updated_at = now
    events.append(
        _event(
            timer.incident_id,
            EventKind.ESCALATION_STOPPED,
            f"Escalation stopped: {reason}",
            actor="fireline",
            now=now,
            data={"reason": reason, "policy": timer.policy},
        )
    )


# --- use cases with their own transaction ----------------------------------------------


def escalate(
    db: Database, incident_id: int, *, actor: str, rules: EscalationRules, clock: Clock = utcnow
) -> Incident:
    with db.write() as session:
        incident = lifecycle.locked(session, incident_id)
        if incident.status == IncidentStatus.RESOLVED:
            raise ConflictError("the incident is resolved; there is nobody left to escalate to")
        jump(session, incident, rules=rules, now=clock(), actor=actor, requester=Requester.PERSON)
        return incident


def release_held(
    session: Session,
    incident: Incident,
    *,
    rules: EscalationRules,
    deferred_until: datetime,
    now: datetime,
) -> str:
    """A maintenance window stopped holding an open incident: start its escalation as
    triage would have, or bring forward the page deferred to the window's planned end;
    a timer that went on by itself since is left alone. Returns what was done."""
    assert incident.id is not None
    if incident.status != IncidentStatus.OPEN:
        return f"escalation not started: the incident is {incident.status}"
    timer = timers_q.lock_timer(session, incident.id)
    if timer is not None and timer.status in timers_q.FIRING_STATUSES:
        deferred = timer.due_at is not None and abs(timer.due_at - deferred_until) < timedelta(
            seconds=1
        )
        if deferred and timer.due_at is not None and timer.due_at > now:
            timer.due_at, timer.updated_at = now, now
            session.add(timer)
            return "the deferred page is due now"
        return "escalation was already under way"
    if start(session, incident, rules=rules, now=now, reason="maintenance ended") is None:
        return "no escalation policy applies"
    return "escalation started"


# --- firing -----------------------------------------------------------------------------


def fire_due(
    db: Database,
    *,
    rules: EscalationRules,
    owner: str,
    clock: Clock = utcnow,
    limit: int = 200,
) -> list[Notification]:
    """Fire every claimable due timer (up to ``limit``) in one transaction, withdrawing
    timed-out acknowledgements first; returns the pages decided, which are queued in the
    outbox and go out once it commits.

    Incidents are locked first (skipping those another transaction holds), then their
    timers, the same order a person's acknowledgement takes; the timers are checked again
    under the lock. Timeline events are written together at the end of the batch.
    """
    pages: list[Notification] = []
    with db.write() as session:
        now = clock()
        ids = timers_q.due_incident_ids(session, now=now, limit=limit)
        incidents = timers_q.claim_incidents(session, ids)
        timers = timers_q.lock_timers(session, [i.id for i in incidents if i.id is not None])
        events: list[dict[str, Any]] = []
        for incident in incidents:
            timer = timers.get(incident.id or 0)
            if timer is not None:
                _lapse_acknowledgement(session, incident, timer, rules=rules, now=now)
            if timer is None or timer.status not in timers_q.FIRING_STATUSES:
                continue
            if timer.due_at is None or timer.due_at > now:
                continue
            page = _fire(session, incident, timer, events, rules=rules, owner=owner, now=now)
            if page is not None:
                pages.append(page)
        session.add_all(timers.values())
        timers_q.append_events(session, events)
    return pages


def _lapse_acknowledgement(
    session: Session,
    incident: Incident,
    timer: EscalationTimer,
    *,
    rules: EscalationRules,
    now: datetime,
) -> None:
    """An acknowledgement past its timeout is withdrawn through the lifecycle, as a person's
    un-acknowledge is, and escalation restarts at the level notified last; the caller then
    fires it in the same transaction. A timeout switched off since is dropped."""
    if timer.ack_due_at is None or timer.ack_due_at > now:
        return
    lapsed_after = timer.ack_due_at - (incident.acknowledged_at or timer.ack_due_at)
    timer.ack_due_at = None
    timer.version += 1
    timer.updated_at = now
    if incident.status != IncidentStatus.ACKNOWLEDGED or rules.ack_timeout is None:
        return
    reason = f"the acknowledgement timed out after {format_duration(lapsed_after)}"
    # Escalation is this module's own: it restarts here, as EscalationHooks would.
    lifecycle.unacknowledge(session, incident, actor="fireline", now=now, hooks=None, reason=reason)
    restart(session, incident, rules=rules, now=now, actor="fireline", reason=reason)


def _fire(
    session: Session,
    incident: Incident,
    timer: EscalationTimer,
    events: list[dict[str, Any]],
    *,
    rules: EscalationRules,
    owner: str,
    now: datetime,
) -> Notification | None:
    """Page the timer's current level and move the timer on; None when the timer stops
    instead."""
    once = timer.status == "once"
    if incident.status == IncidentStatus.RESOLVED or (
        incident.status == IncidentStatus.ACKNOWLEDGED and not once
    ):
        _stop(timer, events, reason=f"the incident is {incident.status}", now=now, status="stopped")
        return None
    policy = rules.policy(timer.policy)
    if policy is None:
        reason = f"policy {timer.policy} is no longer configured"
        _stop(timer, events, reason=reason, now=now, status="stopped")
        return None
    if rules.maintenance is not None:
        window = rules.maintenance.hold(session, incident, held="escalation", now=now)
        if window is not None:
            timer.due_at, timer.updated_at = window.ends_at, now
            return None
    index = min(timer.level, len(policy.levels) - 1)
    if timer.current_level is not None and index != timer.current_level:
        events.append(_level_changed(timer, policy, index, now=now))
    notification = build_notification(
        session,
        incident,
        policy,
        index,
        timer.round,
        rules=rules,
        now=now,
        reason=timer.reason,
        due_at=timer.due_at,
    )
    destinations = _queue_pages(session, notification, version=timer.version, once=once, now=now)
    reached = notify.queue_page(
        session,
        notify.Page(
            incident_id=notification.incident_id,
            title=notification.title,
            severity=notification.severity,
            policy=notification.policy,
            level=notification.level,
            users=notification.users,
            at=now,
        ),
        rules=rules.reach,
        version=timer.version,
        once=once,
        now=now,
    )
    event = _notified(timer, policy, index, notification, destinations, once=once, now=now)
    event["data"]["reached"] = reached
    events.append(event)
    timer.current_level = index
    timer.claimed_by = owner
    _after_notifying(timer, events, policy, index, once=once, now=now)
    return notification


def _queue_pages(
    session: Session, notification: Notification, *, version: int, once: bool, now: datetime
) -> list[str]:
    """One outbox row per webhook, keyed by the timer's version: a firing recorded twice
    cannot queue its page twice, and the key is the page's ``Idempotency-Key``."""
    destinations = []
    for name in notification.webhooks:
        destination = f"{WEBHOOK}:{name}"
        outbox.queue(
            session,
            destination=destination,
            lane=f"{destination}:incident:{notification.incident_id}",
            kind="page",
            payload={"notification": notification.as_json(), "once": once},
            now=now,
            incident_id=notification.incident_id,
            idempotency_key=f"page:{notification.incident_id}:{version}:{name}",
        )
        destinations.append(destination)
    return destinations


def _level_changed(
    timer: EscalationTimer, policy: Policy, index: int, *, now: datetime
) -> dict[str, Any]:
    assert timer.current_level is not None
    return _event(
        timer.incident_id,
        EventKind.ESCALATION_LEVEL_CHANGED,
        f"Escalation moved from level {timer.current_level + 1} to {index + 1}: {timer.reason}",
        actor="scheduler",
        now=now,
        data={
            "policy": policy.name,
            "from": timer.current_level + 1,
            "to": index + 1,
            "reason": timer.reason,
        },
    )


def _notified(
    timer: EscalationTimer,
    policy: Policy,
    index: int,
    notification: Notification,
    destinations: list[str],
    *,
    once: bool,
    now: datetime,
) -> dict[str, Any]:
    return _event(
        timer.incident_id,
        EventKind.ESCALATION_NOTIFIED,
        notification.text,
        actor="scheduler",
        now=now,
        data={
            "policy": policy.name,
            "level": index + 1,
            "round": timer.round,
            "targets": list(notification.targets),
            "users": list(notification.users),
            "groups": list(notification.groups),
            "webhooks": list(notification.webhooks),
            "unresolved": list(notification.unresolved),
            "destinations": destinations,
            "once": once,
            "fired_due_at": notification.due_at.isoformat() if notification.due_at else None,
            "due_at": timer.due_at.isoformat() if timer.due_at else None,
            "reason": timer.reason,
        },
        # A second firing of the same timer version could only be a bug; the unique key
        # makes it fail the whole transaction rather than notify twice on the timeline.
        dedupe_key=f"escalation.notified:{timer.version}",
    )


def _after_notifying(
    timer: EscalationTimer,
    events: list[dict[str, Any]],
    policy: Policy,
    index: int,
    *,
    once: bool,
    now: datetime,
) -> None:
    """Schedule the next notification, or stop the timer: a one-off page stops quietly,
    a policy with nothing left stops as exhausted."""
    following = (
        None
        if once
        else policy_math.after_notifying(policy, level=index, round=timer.round, now=now)
    )
    if following is None:
        if once:
            timer.status, timer.due_at = "stopped", None
            timer.version += 1
            timer.updated_at = now
        else:
            reason = f"policy {policy.name} exhausted after {policy.repeat + 1} round(s)"
            _stop(timer, events, reason=reason, now=now, status="exhausted")
        return
    wait = format_duration(policy.levels[index].delay)
    why = f"no acknowledgement within {wait}"
    if following.round != timer.round:
        why += f"; repeat {following.round} of {policy.repeat}"
    _schedule(timer, following, status="active", reason=why, now=now)


# --- who gets notified ----------------------------------------------------------------


@dataclass
class _Resolved:
    users: list[str]
    groups: list[str]
    webhooks: list[str]
    unresolved: list[str]


def effective_schedule(
    session: Session, rules: EscalationRules, name: str, *, now: datetime
) -> Schedule:
    schedule = rules.schedules.get(name)
    if schedule is None:
        raise NotFoundError(f"no schedule named {name!r}")
    stored = timers_q.overrides_for(session, name, ending_after=now)
    return schedule.with_overrides([Override(o.user, o.start_at, o.end_at) for o in stored])


def who_is_on_call(session: Session, rules: EscalationRules, name: str, *, at: datetime) -> OnCall:
    return on_call(effective_schedule(session, rules, name, now=at), at)


def ladder_of(
    db: Database, incident_id: int, *, pages: int = 20
) -> tuple[EscalationTimer | None, list[TimelineEvent]]:
    """The incident's escalation timer (None before any) and its latest ``pages`` pages,
    oldest first."""
    with db.session() as session:
        timer = session.get(EscalationTimer, incident_id)
        pages_sent = queries.latest_events_of_kind(
            session, incident_id, EventKind.ESCALATION_NOTIFIED, limit=pages
        )
        return timer, pages_sent


def commander_of(session: Session, incident_id: int) -> str | None:
    """The incident's latest assigned commander."""
    incident = session.get(Incident, incident_id)
    return incident.commander if incident else None


def _resolve(
    session: Session,
    target: Target,
    out: _Resolved,
    *,
    rules: EscalationRules,
    incident_id: int,
    now: datetime,
) -> None:
    if target.kind is TargetKind.USER:
        out.users.append(target.name)
    elif target.kind is TargetKind.PERSON:
        out.users.append(rules.reach.address_of(target.name))
    elif target.kind is TargetKind.TEAM:
        out.users.extend(rules.reach.address_of(m) for m in rules.reach.teams.get(target.name, ()))
    elif target.kind is TargetKind.GROUP:
        out.groups.append(target.name)
    elif target.kind is TargetKind.WEBHOOK:
        out.webhooks.append(target.name)
    elif target.kind is TargetKind.SCHEDULE:
        who = (
            who_is_on_call(session, rules, target.name, at=now)
            if (target.name in rules.schedules)
            else None
        )
        if who is not None and who.user:
            out.users.append(who.user)
        else:
            out.unresolved.append(str(target))
    else:
        commander = commander_of(session, incident_id) if target.name == COMMANDER_ROLE else None
        if commander:
            out.users.append(commander)
            return
        mapped = rules.roles.get(target.name, ())
        if not mapped:
            out.unresolved.append(str(target))
        for inner in mapped:
            _resolve(session, inner, out, rules=rules, incident_id=incident_id, now=now)


def build_notification(
    session: Session,
    incident: Incident,
    policy: Policy,
    index: int,
    round: int,
    *,
    rules: EscalationRules,
    now: datetime,
    reason: str = "",
    due_at: datetime | None = None,
) -> Notification:
    assert incident.id is not None
    level: Level = policy.levels[index]
    out = _Resolved([], [], [], [])
    for target in level.targets:
        _resolve(session, target, out, rules=rules, incident_id=incident.id, now=now)
    # Slack users are mentioned; a person without a Slack id is named by their id.
    mentioned = (f"<@{u}>" if SLACK_USER_ID.match(u) else u for u in out.users)
    names = [*mentioned, *(f"<!subteam^{g}>" for g in out.groups)]
    who = ", ".join(names) or "nobody resolved"
    text = (
        f"[{incident.severity}] {incident.title}: level {index + 1} of {policy.name} "
        f"notifies {who}" + (f" ({reason})" if reason else "")
    )
    return Notification(
        incident_id=incident.id,
        title=incident.title,
        severity=incident.severity,
        policy=policy.name,
        level=index + 1,
        round=round,
        targets=tuple(str(t) for t in level.targets),
        users=tuple(dict.fromkeys(out.users)),
        groups=tuple(dict.fromkeys(out.groups)),
        webhooks=tuple(dict.fromkeys(out.webhooks)),
        text=text,
        at=now,
        unresolved=tuple(out.unresolved),
        due_at=due_at,
    )


# --- after a page was queued -------------------------------------------------------------


def page_still_wanted(db: Database, incident_id: int, *, once: bool) -> str | None:
    """Why a queued page should no longer go out (the incident was resolved, or
    acknowledged since it was queued), or None. A page a person asked for on an
    acknowledged incident (``once``) still goes unless the incident is resolved."""
    with db.session() as session:
        incident = session.get(Incident, incident_id)
    if incident is None:
        return f"incident {incident_id} no longer exists"
    if incident.status == IncidentStatus.RESOLVED:
        return "the incident was resolved before the page went out"
    if incident.status == IncidentStatus.ACKNOWLEDGED and not once:
        return f"{incident.acknowledged_by or 'someone'} acknowledged before the page went out"
    return None


def record_page_failed(
    db: Database,
    incident_id: int,
    *,
    destination: str,
    level: int,
    attempts: int,
    error: str,
    now: datetime,
) -> None:
    """Say in the timeline (and so in the thread) that a page never arrived."""
    with db.write() as session:
        queries.add_event(
            session,
            incident_id=incident_id,
            kind=EventKind.ESCALATION_PAGE_FAILED,
            text=f"The level {level} page to {destination} failed after {attempts} attempt(s): "
            f"{error}",
            actor="fireline",
            at=now,
            recorded_at=now,
            data={
                "destination": destination,
                "level": level,
                "attempts": attempts,
                "error": error,
            },
        )
