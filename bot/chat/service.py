"""From the timeline to the outbox, and chat's own bookkeeping (cards, where a thread is).

``project`` reads timeline events past the chat cursor and queues outbox rows in the same
transaction that moves the cursor, so each event is turned into chat writes exactly
once, whoever wrote it (triage, automation, escalation, a person), and none is skipped
whatever order transactions commit in (``storage.queries_chat.events_after``). The one
outbox sender delivers them: an incident's rows in order in its lane, and each person's
pages in a lane of their own, bundled when several wait.

Storms stay readable: card redraws fold into one waiting redraw, and alerts that fire (or
resolve) while an alerts message is still waiting join it ("47 alerts fired: ...").
When a channel is so far behind that a new card would reach it more than
``digest_after`` seconds late (``bot.chat.decide``), the new incident is listed in the
channel's storm digest instead: one message naming every incident opened while it waited,
with no card or thread of their own, so the channel catches up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from bot.chat.config import ChatConfig
from bot.chat.decide import joins_digest
from bot.chat.render import (
    CARD_EVENTS,
    DigestLine,
    IncidentView,
    StepLine,
    Verbosity,
    escalation_dms,
    thread_message,
)
from bot.errors import ConflictError
from bot.escalation.service import commander_of
from bot.events import EventKind
from bot.outbox import projection
from bot.outbox import service as outbox
from storage import queries, queries_chat
from storage import queries_automation as automation_q
from storage.db import Database
from storage.tables import Incident, TimelineEvent
from storage.tables_chat import ChatCard
from storage.tables_escalation import EscalationTimer
from storage.tables_followups import FollowUp
from storage.tables_outbox import OutboxMessage

CURSOR = "slack"
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")


@dataclass(frozen=True)
class ChatRules:
    default_channel: str | None
    routes: ChatConfig
    verbosity: Verbosity = "normal"
    major_severity: str | None = "SEV1"
    # The pace chat writes to one channel at, and how late a card may be before new
    # incidents go to the channel's digest instead (0: never).
    rate: float = 0.0
    burst: int = 1
    digest_after: float = 0.0

    def is_major(self, severity: str) -> bool:
        if self.major_severity is None or severity not in SEVERITIES:
            return False
        return SEVERITIES.index(severity) <= SEVERITIES.index(self.major_severity)


SLACK = "slack"  # the outbox destination


class ChatWrite(StrEnum):
    """The kinds of chat's outbox rows."""

    CARD_POST = "card.post"
    CARD_UPDATE = "card.update"
    THREAD = "thread"
    ALERTS_FIRED = "alerts.fired"  # one alert's line, or a storm's folded together
    ALERTS_RESOLVED = "alerts.resolved"
    DM = "dm"  # a page to one person
    INVITE = "invite"
    FILE = "file"
    CHANNEL_CREATE = "channel.create"
    SILENCE_EXPIRE = "silence.expire"
    REMINDER = "reminder"  # a follow-up's owner, reminded in a direct message
    DIGEST = "digest"  # the incidents a busy channel got no card for, in one message


ALERT_LINES = 20  # alerts named in a bundled alerts message; the rest are counted


INCIDENT_LANES = f"{SLACK}:incident:"  # how every incident's lane is named


def incident_lane(incident_id: int) -> str:
    return f"{INCIDENT_LANES}{incident_id}"


def channel_lane(channel: str) -> str:
    """The lane of a channel's own messages (its storm digests)."""
    return f"{SLACK}:channel:{channel}"


def person_lane(user: str) -> str:
    return f"{SLACK}:user:{user}"


def enqueue(
    session: Session,
    incident_id: int,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    key: str | None = None,
    lane: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Queue one of chat's rows in the caller's transaction; False when ``key`` was queued."""
    return outbox.queue(
        session,
        destination=SLACK,
        lane=lane or incident_lane(incident_id),
        kind=kind,
        payload=payload,
        now=now,
        incident_id=incident_id,
        idempotency_key=key,
        not_before=not_before,
    )


def _card_update(session: Session, incident_id: int, now: datetime) -> None:
    """Queue a redraw of the card, folding it into one already waiting."""
    outbox.fold_or_queue(
        session,
        destination=SLACK,
        lane=incident_lane(incident_id),
        kind=ChatWrite.CARD_UPDATE,
        payload={},
        now=now,
        incident_id=incident_id,
        fold=lambda row: None,
        last=False,
    )


def _alerts(session: Session, event: TimelineEvent, now: datetime) -> None:
    """An alert fired or resolved: its own message, or a line in the alerts message still
    waiting at the end of the incident's lane."""
    kind = (
        ChatWrite.ALERTS_FIRED if event.kind == EventKind.ALERT_FIRED else ChatWrite.ALERTS_RESOLVED
    )

    def fold(row: OutboxMessage) -> None:
        lines = list(row.payload.get("lines", []))
        if len(lines) < ALERT_LINES:
            lines.append(event.text)
        row.payload = {**row.payload, "lines": lines, "count": int(row.payload["count"]) + 1}

    outbox.fold_or_queue(
        session,
        destination=SLACK,
        lane=incident_lane(event.incident_id),
        kind=kind,
        payload={"lines": [event.text], "count": 1},
        now=now,
        incident_id=event.incident_id,
        fold=fold,
        last=True,
    )


def share_file(
    db: Database, incident_id: int, *, filename: str, title: str, content: str, now: datetime
) -> None:
    """Queue a file for the incident's channel or thread (the card must exist)."""
    with db.write() as session:
        card = session.get(ChatCard, incident_id)
        if card is None:
            raise ConflictError(f"incident {incident_id} has no card in Slack to attach it to")
        if card.digest:
            raise ConflictError(
                f"incident {incident_id} was opened in a storm and is listed in its channel's "
                "digest, with no thread to attach it to; the console has its timeline"
            )
        enqueue(
            session,
            incident_id,
            ChatWrite.FILE,
            {"filename": filename, "title": title, "content": content},
            now,
        )


def digest_lines(db: Database, incident_ids: Sequence[int]) -> list[DigestLine]:
    """The incidents a digest names, as they stand now (a deleted one is left out)."""
    with db.session() as session:
        found = (session.get(Incident, i) for i in dict.fromkeys(incident_ids))
        return [
            DigestLine(i.id, i.severity, i.title, i.status)
            for i in found
            if i is not None and i.id is not None
        ]


def start_cursor(db: Database) -> None:
    """The first time chat is configured, start from now: incidents from before get no
    card. Called at startup, before anything can write to the timeline."""
    projection.start_cursor(db, CURSOR)


def project(db: Database, rules: ChatRules, *, now: datetime, batch: int = 500) -> int:
    """Turn new timeline events into outbox rows; returns how many events were read."""
    return projection.project(db, CURSOR, handler(rules), now=now, batch=batch)


def handler(rules: ChatRules) -> projection.EventHandler:
    """Chat's projection of one timeline event."""
    return lambda session, event, now: _project_event(session, event, rules, now)


def _project_event(session: Session, event: TimelineEvent, rules: ChatRules, now: datetime) -> None:
    incident = session.get(Incident, event.incident_id)
    if incident is None or incident.id is None:
        return
    card = session.get(ChatCard, incident.id)
    if event.kind == EventKind.INCIDENT_OPENED and card is None:
        channel = rules.routes.channel_for(
            service=incident.service, severity=incident.severity, default=rules.default_channel
        )
        if channel is None:
            return
        major = rules.is_major(incident.severity)
        if _joins_digest(session, channel, rules, major=major):
            session.add(
                ChatCard(incident_id=incident.id, channel=channel, digest=True, updated_at=now)
            )
            _add_to_digest(session, channel, incident.id, now)
            return
        session.add(ChatCard(incident_id=incident.id, channel=channel, updated_at=now))
        key = f"{SLACK}:{event.id}"
        if major:
            enqueue(
                session,
                incident.id,
                ChatWrite.CHANNEL_CREATE,
                {"notify": channel},
                now,
                key=f"{key}:chan",
            )
        enqueue(session, incident.id, ChatWrite.CARD_POST, {}, now, key=f"{key}:card")
        return
    if card is None:
        return
    if card.digest:
        # Listed in a digest: no card or thread to post to; pages still reach people.
        if event.kind == EventKind.ESCALATION_NOTIFIED:
            _page_people(session, event, incident, now)
        return
    _project_to_card(session, event, incident, card, rules, now)


def _joins_digest(session: Session, channel: str, rules: ChatRules, *, major: bool) -> bool:
    if major or rules.digest_after <= 0 or rules.rate <= 0:
        return False
    waiting = queries_chat.waiting_in_channel(
        session, channel, incident_lanes=INCIDENT_LANES, digest_lane=channel_lane(channel)
    )
    return joins_digest(
        waiting, rate=rules.rate, burst=rules.burst, digest_after=rules.digest_after, major=major
    )


def _add_to_digest(session: Session, channel: str, incident_id: int, now: datetime) -> None:
    """Name the incident in the channel's digest still waiting, or start a new one."""

    def fold(row: OutboxMessage) -> None:
        row.payload = {**row.payload, "incidents": [*row.payload["incidents"], incident_id]}

    outbox.fold_or_queue(
        session,
        destination=SLACK,
        lane=channel_lane(channel),
        kind=ChatWrite.DIGEST,
        payload={"channel": channel, "incidents": [incident_id]},
        now=now,
        incident_id=None,
        fold=fold,
        last=True,
    )


def _project_to_card(
    session: Session,
    event: TimelineEvent,
    incident: Incident,
    card: ChatCard,
    rules: ChatRules,
    now: datetime,
) -> None:
    assert incident.id is not None
    key = f"{SLACK}:{event.id}"
    if event.kind in CARD_EVENTS:
        _card_update(session, incident.id, now)
    message = thread_message(event.kind, event.text, dict(event.data), rules.verbosity)
    if message is not None and event.kind in (EventKind.ALERT_FIRED, EventKind.ALERT_RESOLVED):
        _alerts(session, event, now)
    elif message is not None:
        enqueue(
            session, incident.id, ChatWrite.THREAD, {"message": message.as_json()}, now, key=key
        )
    if event.kind == EventKind.ESCALATION_NOTIFIED:
        _page_people(session, event, incident, now)
    if event.kind == EventKind.GRAPH_DRAWN:
        moment = event.data.get("moment", "open")
        graph = {
            "graph_id": event.data.get("graph_id"),
            "filename": f"incident-{incident.id}-{moment}.png",
            "title": event.text,
        }
        enqueue(session, incident.id, ChatWrite.FILE, graph, now, key=f"{key}:graph")
    if card.own_channel or rules.is_major(incident.severity):
        # Responders join a major incident's channel as they are paged or given a role.
        joining: list[str] = []
        if event.kind == EventKind.ESCALATION_NOTIFIED:
            joining = [str(u) for u in event.data.get("users") or ()]
        elif event.kind == EventKind.COMMANDER_ASSIGNED and event.data.get("user"):
            joining = [str(event.data["user"])]
        if joining:
            enqueue(
                session, incident.id, ChatWrite.INVITE, {"users": joining}, now, key=f"{key}:invite"
            )


def slack_step_times(data: dict[str, Any]) -> dict[str, datetime]:
    """When each paged Slack user's ``slack`` step of their notification rules is due
    (``reached`` of ``escalation.notified``): the earliest, per user."""
    due: dict[str, datetime] = {}
    for step in data.get("reached") or ():
        user = step.get("to")
        if step.get("kind") == "slack" and user:
            at = datetime.fromisoformat(str(step["at"]))
            due[str(user)] = min(at, due.get(str(user), at))
    return due


def _page_people(session: Session, event: TimelineEvent, incident: Incident, now: datetime) -> None:
    """A direct message to each person paged, in that person's lane; pages waiting for one
    person from the same service go out together as one message.

    A person whose rules put Slack later (or a low-urgency page outside their working
    hours) gets the message at that step's time, on a lane of its own so that it holds
    back no other page to them."""
    assert incident.id is not None
    data = dict(event.data)
    held_until = slack_step_times(data)
    for user, dm in escalation_dms(incident.id, incident.title, data):
        due = held_until.get(user)
        later = due is not None and due > now
        page = {
            "incident_id": incident.id,
            "title": incident.title,
            "severity": incident.severity,
            "level": data.get("level"),
            "once": bool(data.get("once")),
        }
        enqueue(
            session,
            incident.id,
            ChatWrite.DM,
            {
                "user": user,
                "message": dm.as_json(),
                "page": page,
                "bundle": f"page:{user}:{incident.service or '-'}",
                "service": incident.service,
            },
            now,
            key=f"{SLACK}:{event.id}:dm:{user}",
            lane=f"{person_lane(user)}:incident:{incident.id}" if later else person_lane(user),
            not_before=due if later else None,
        )


# --- the card's data ----------------------------------------------------------------------


def load_view(session: Session, incident_id: int, *, now: datetime) -> IncidentView | None:
    incident = session.get(Incident, incident_id)
    if incident is None or incident.id is None:
        return None
    alerts = queries.alerts_of(session, incident_id)
    run = queries_chat.latest_run(session, incident_id)
    steps: list[StepLine] = []
    if run is not None and run.id is not None:
        rows = automation_q.steps_of_run(session, run.id)
        steps = [StepLine(r.step_id, r.action, r.state) for r in rows]
    timer = session.get(EscalationTimer, incident_id)
    people = list(
        dict.fromkeys(
            str(u)
            for e in queries.events_of_kind(session, incident_id, EventKind.ESCALATION_NOTIFIED)
            for u in e.data.get("users") or ()
        )
    )
    silenced = _silenced_now(session, incident_id)
    correlated = queries.events_of_kind(session, incident_id, EventKind.CHANGE_CORRELATED)
    changes = [e.text for e in sorted(correlated, key=lambda e: e.at, reverse=True)]
    labels = dict(alerts[0].labels) if alerts else dict(incident.labels)
    return IncidentView(
        id=incident.id,
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
        service=incident.service,
        labels=labels,
        source_url=incident.source_url or (alerts[0].generator_url if alerts else None) or None,
        opened_at=incident.opened_at,
        resolved_at=incident.resolved_at,
        acknowledged_by=incident.acknowledged_by,
        commander=commander_of(session, incident_id),
        runbook_id=incident.runbook_id,
        run_status=run.status if run else None,
        verification=run.verification if run else None,
        steps=steps,
        responders=people,
        alerts_firing=sum(1 for a in alerts if a.status == "firing"),
        alerts_total=len(alerts),
        escalation_level=(timer.level + 1) if timer and timer.status != "stopped" else None,
        silenced=silenced,
        changes=changes,
        now=now,
        links=next((dict(a.links) for a in alerts if a.links), {}),
    )


# --- delivery bookkeeping -----------------------------------------------------------------


def card_of(db: Database, incident_id: int) -> ChatCard | None:
    with db.session() as session:
        return session.get(ChatCard, incident_id)


def save_card(
    db: Database,
    incident_id: int,
    *,
    now: datetime,
    channel: str | None = None,
    ts: str | None = None,
    own_channel: bool | None = None,
) -> None:
    with db.write() as session:
        card = session.get(ChatCard, incident_id)
        if card is None:
            return
        if channel is not None:
            card.channel = channel
        if ts is not None:
            card.ts = ts
        if own_channel is not None:
            card.own_channel = own_channel
        card.updated_at = now
        session.add(card)


def view_of(db: Database, incident_id: int, *, now: datetime) -> IncidentView | None:
    with db.session() as session:
        return load_view(session, incident_id, now=now)


def followup_open(db: Database, followup_id: int) -> bool:
    with db.session() as session:
        item = session.get(FollowUp, followup_id)
        return item is not None and item.status == "open"


def incident_for_channel(db: Database, channel: str) -> int | None:
    """The incident whose own channel this is."""
    with db.session() as session:
        card = queries_chat.own_channel_card(session, channel)
        return card.incident_id if card else None


def incident_for_thread(db: Database, channel: str, ts: str) -> int | None:
    """The incident whose card is this message (a thread's parent)."""
    with db.session() as session:
        card = queries_chat.card_at(session, channel, ts)
        return card.incident_id if card else None


def pending_count(db: Database) -> int:
    """Chat's messages waiting in the outbox."""
    return outbox.waiting(db, SLACK)


def messages(db: Database, incident_id: int) -> Sequence[OutboxMessage]:
    return outbox.messages_of(db, incident_id)


def _silenced_now(session: Session, incident_id: int) -> bool:
    """Whether the incident's latest silence news is a silence, not its lifting."""
    news = [
        *queries.events_of_kind(session, incident_id, EventKind.INCIDENT_SILENCED),
        *queries.events_of_kind(session, incident_id, EventKind.INCIDENT_UNSILENCED),
    ]
    latest = max(news, key=lambda e: e.id or 0, default=None)
    return latest is not None and latest.kind == EventKind.INCIDENT_SILENCED
