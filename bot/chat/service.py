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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from bot.chat.config import ChatConfig
from bot.chat.decide import joins_digest, refresh_budget, too_far_behind
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
from storage.db import Database, get_held
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
    DIGEST = "digest"  # what a channel too far behind was not told one by one, in one message
    NOTICE = "channel.notice"  # a major incident's channel, told in the channel it left


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
    lines = []
    with db.session() as session:
        for incident_id in dict.fromkeys(incident_ids):
            incident = session.get(Incident, incident_id)
            if incident is None or incident.id is None:
                continue
            card = session.get(ChatCard, incident_id)
            own = card.channel if card is not None and card.own_channel else None
            lines.append(
                DigestLine(incident.id, incident.severity, incident.title, incident.status, own)
            )
    return lines


def refresh_held_cards(db: Database, rules: ChatRules, *, now: datetime) -> int:
    """Redraw the cards whose updates a digest held, in channels that have caught up
    (as many at a time as keeps them from falling too far behind again)."""
    with db.session() as session:  # most cycles find nothing to do: no write lock for them
        budgets = {
            channel: _refresh_budget(session, channel, rules, now)
            for channel in queries_chat.channels_with_stale_cards(session)
        }
    budgets = {channel: budget for channel, budget in budgets.items() if budget != 0}
    if not budgets:
        return 0
    redrawn = 0
    with db.write() as session:
        for channel, budget in budgets.items():
            for card in queries_chat.stale_cards(session, channel, limit=max(budget, 0) or None):
                _card_update(session, card.incident_id, now)
                card.stale = False
                session.add(card)
                redrawn += 1
    return redrawn


def _refresh_budget(session: Session, channel: str, rules: ChatRules, now: datetime) -> int:
    queue = _queue_of(session, channel)
    return refresh_budget(
        queue.waiting,
        rate=rules.rate,
        burst=rules.burst,
        digest_after=rules.digest_after / 2,  # room left for what happens next
        oldest_wait=_oldest_wait(queue, now),
    )


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
    incident = get_held(session, Incident, event.incident_id)
    if incident is None or incident.id is None:
        return
    card = get_held(session, ChatCard, incident.id)
    if event.kind == EventKind.INCIDENT_OPENED and card is None:
        channel = rules.routes.channel_for(
            service=incident.service, severity=incident.severity, default=rules.default_channel
        )
        if channel is None:
            return
        _open_card(session, event, incident, channel, rules, now)
        return
    if card is None:
        return
    if card.digest:
        # Listed in a digest: no card or thread to post to; pages still reach people.
        if event.kind == EventKind.ESCALATION_NOTIFIED:
            _page_people(session, event, incident, now)
        return
    _project_to_card(session, event, incident, card, rules, now)


def _open_card(
    session: Session,
    event: TimelineEvent,
    incident: Incident,
    channel: str,
    rules: ChatRules,
    now: datetime,
) -> None:
    """A new incident's card, or its line in the channel's digest when the channel is too
    far behind. A major incident always gets its card, in a channel of its own; the
    channel it leaves is told so in a message (or the digest's line) of its own lane, so
    that a busy channel never holds back the new one."""
    assert incident.id is not None
    major = rules.is_major(incident.severity)
    queue = _queue_of(session, channel)
    digest = joins_digest(
        queue.waiting,
        rate=rules.rate,
        burst=rules.burst,
        digest_after=rules.digest_after,
        major=major,
        oldest_wait=_oldest_wait(queue, now),
    )
    session.add(ChatCard(incident_id=incident.id, channel=channel, digest=digest, updated_at=now))
    if digest:
        _add_to_digest(session, channel, "incidents", incident.id, rules, now)
        return
    key = f"{SLACK}:{event.id}"
    if major:
        enqueue(session, incident.id, ChatWrite.CHANNEL_CREATE, {}, now, key=f"{key}:chan")
        if _too_far_behind(session, channel, rules, now):
            _add_to_digest(session, channel, "incidents", incident.id, rules, now)
        elif not _in_waiting_digest(session, channel, incident.id):
            enqueue(
                session,
                incident.id,
                ChatWrite.NOTICE,
                {"channel": channel},
                now,
                key=f"{key}:notice",
                lane=channel_lane(channel),
            )
            _queued_into(session, channel)
    else:
        _queued_into(session, channel)
    enqueue(session, incident.id, ChatWrite.CARD_POST, {}, now, key=f"{key}:card")


_WAITING = "chat.waiting"  # session.info: each channel's queue, in this transaction


def _oldest_wait(queue: queries_chat.ChannelQueue, now: datetime) -> float:
    return 0.0 if queue.oldest is None else max(0.0, (now - queue.oldest).total_seconds())


def _queue_of(session: Session, channel: str) -> queries_chat.ChannelQueue:
    """Chat's rows waiting to go into ``channel``: read once per projecting transaction
    (a batch of up to 500 events), then kept up to date by ``_queued_into``."""
    queues: dict[str, queries_chat.ChannelQueue] = session.info.setdefault(_WAITING, {})
    if channel not in queues:
        queues[channel] = queries_chat.waiting_in_channel(
            session, channel, incident_lanes=INCIDENT_LANES, digest_lane=channel_lane(channel)
        )
    return queues[channel]


def _queued_into(session: Session, channel: str) -> None:
    """Count one more row for ``channel`` (an upper bound: it may have been folded). The
    oldest stays: a row queued now has waited nothing."""
    queues: dict[str, queries_chat.ChannelQueue] | None = session.info.get(_WAITING)
    if queues is not None and channel in queues:
        queues[channel] = queues[channel]._replace(waiting=queues[channel].waiting + 1)


def _too_far_behind(session: Session, channel: str, rules: ChatRules, now: datetime) -> bool:
    queue = _queue_of(session, channel)
    return too_far_behind(
        queue.waiting,
        rate=rules.rate,
        burst=rules.burst,
        digest_after=rules.digest_after,
        oldest_wait=_oldest_wait(queue, now),
    )


def _naming(field: str, incident_id: int) -> Callable[[OutboxMessage], None]:
    """A fold that names the incident in a waiting digest's ``field``."""

    def fold(row: OutboxMessage) -> None:
        named = list(row.payload.get(field) or ())
        if incident_id not in named:
            row.payload = {**row.payload, field: [*named, incident_id]}

    return fold


def _add_to_digest(
    session: Session, channel: str, field: str, incident_id: int, rules: ChatRules, now: datetime
) -> None:
    """Name the incident in the channel's digest still waiting, or start a new one;
    ``field`` is ``incidents`` (opened meanwhile) or ``updated`` (updates held).

    A new digest gathers for a third of ``digest_after`` before it is sent: sent as soon
    as it had a line, digests took every other slot of the channel's pace from the
    backlog they stand in for."""
    payload: dict[str, Any] = {"channel": channel, "incidents": [], "updated": []}
    payload[field] = [incident_id]
    outbox.fold_or_queue(
        session,
        destination=SLACK,
        lane=channel_lane(channel),
        kind=ChatWrite.DIGEST,
        payload=payload,
        now=now,
        incident_id=None,
        fold=_naming(field, incident_id),
        last=True,
        not_before=now + timedelta(seconds=rules.digest_after / 3),
    )


def _in_waiting_digest(session: Session, channel: str, incident_id: int) -> bool:
    """Name a major incident in the channel's digest if one still waits (the channel
    was behind a moment ago): a notice of its own would queue behind it, and split the
    digest in two."""
    return outbox.fold_into_waiting(
        session,
        lane=channel_lane(channel),
        kind=ChatWrite.DIGEST,
        fold=_naming("incidents", incident_id),
        last=True,
    )


def _hold_in_digest(
    session: Session,
    event: TimelineEvent,
    incident: Incident,
    card: ChatCard,
    rules: ChatRules,
    now: datetime,
) -> None:
    """The card's channel is too far behind: what the event would post there is named in
    the channel's digest instead (the thread keeps the timeline in the console), and the
    card is redrawn once the channel has caught up. Pages still go out."""
    assert incident.id is not None
    if event.kind == EventKind.ESCALATION_NOTIFIED:
        _page_people(session, event, incident, now)
    posts = (
        event.kind in CARD_EVENTS
        or event.kind in (EventKind.ALERT_FIRED, EventKind.ALERT_RESOLVED, EventKind.GRAPH_DRAWN)
        or thread_message(event.kind, event.text, dict(event.data), rules.verbosity) is not None
    )
    if not posts:
        return
    if not card.stale:
        card.stale = True
        session.add(card)
    _add_to_digest(session, card.channel, "updated", incident.id, rules, now)


def _project_to_card(
    session: Session,
    event: TimelineEvent,
    incident: Incident,
    card: ChatCard,
    rules: ChatRules,
    now: datetime,
) -> None:
    assert incident.id is not None
    if not card.own_channel and _too_far_behind(session, card.channel, rules, now):
        _hold_in_digest(session, event, incident, card, rules, now)
        return
    _queued_into(session, card.channel)
    key = f"{SLACK}:{event.id}"
    if event.kind in CARD_EVENTS or card.stale:
        _card_update(session, incident.id, now)
        if card.stale:
            card.stale = False
            session.add(card)
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
    alerts = queries.alert_summary(session, incident_id)
    first = alerts.first
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
    labels = dict(first.labels) if first else dict(incident.labels)
    return IncidentView(
        id=incident.id,
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
        service=incident.service,
        labels=labels,
        source_url=incident.source_url or (first.generator_url if first else None) or None,
        opened_at=incident.opened_at,
        resolved_at=incident.resolved_at,
        acknowledged_by=incident.acknowledged_by,
        commander=commander_of(session, incident_id),
        runbook_id=incident.runbook_id,
        run_status=run.status if run else None,
        verification=run.verification if run else None,
        steps=steps,
        responders=people,
        alerts_firing=alerts.firing,
        alerts_total=alerts.total,
        escalation_level=(timer.level + 1) if timer and timer.status != "stopped" else None,
        silenced=silenced,
        changes=changes,
        now=now,
        links=alerts.links,
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
