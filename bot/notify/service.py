"""Notification use cases over the database.

``queue_page`` runs inside escalation's firing transaction: for every person the page names,
it plans their steps (``decide.plan``) and queues one outbox row per step, due when the step
is, keyed by the timer's version so a firing recorded twice queues nothing twice. The rows
of one person and incident share a lane; the transport cancels what an acknowledgement made
unnecessary and brings the next step forward when a method fails.

Slack steps are not queued here: chat sends every paged person a direct message with its
buttons (``bot.chat``), so a ``slack`` method stands for that message; it is listed among
the planned steps with its Slack id, and chat holds the message until the step's time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.durations import format_duration
from bot.errors import ConflictError, InvalidInputError, NotFoundError
from bot.events import EventKind
from bot.notify.decide import PlannedStep, Reach, plan
from bot.notify.model import MethodKind, Urgency
from bot.outbox import service as outbox
from bot.people.config import PeopleConfig, PersonConfig
from bot.people.contacts import check_address
from storage import queries, queries_notify, queries_outbox
from storage.db import Database
from storage.tables_notify import ContactMethod, MethodStatus

NOTIFY = "notify"  # the outbox destination family: notify:email, notify:sms, ...
PAGE = "page"  # an outbox row's kind: one step of a person's rules for one page
VERIFY = "verify"  # the test message a new contact method gets


@dataclass(frozen=True)
class NotifyRules:
    """The people directory as notification needs it: each person by id and Slack id."""

    people: tuple[PersonConfig, ...] = ()
    teams: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    _index: Mapping[str, PersonConfig] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, config: PeopleConfig) -> NotifyRules:
        listed = tuple(config.directory)
        index: dict[str, PersonConfig] = {}
        for person in listed:
            if person.slack:
                index.setdefault(person.slack, person)
        index.update({p.id: p for p in listed})
        teams = {t.name: tuple(t.members) for t in config.teams}
        return cls(listed, teams, index)

    def address_of(self, person_id: str) -> str:
        """How a page names a person: their Slack user id when they have one (chat
        mentions and messages them), else their id."""
        person = self._index.get(person_id)
        return (person.slack or person.id) if person else person_id

    def person(self, user: str) -> PersonConfig | None:
        """The person a page names, by person id or Slack user id."""
        return self._index.get(user)


@dataclass(frozen=True)
class Page:
    """What ``queue_page`` needs of escalation's notification."""

    incident_id: int
    title: str
    severity: str
    policy: str
    level: int
    users: Sequence[str]
    at: datetime


def reaches_of(person: PersonConfig, stored: Sequence[ContactMethod]) -> list[Reach]:
    """The person's contact methods: the config's, then those added through the API."""
    reaches = [Reach(m.name, m.kind, m.to or person.address_of(m)) for m in person.contact_methods]
    configured = {r.name for r in reaches}
    for row in stored:
        if row.source == "api" and row.name not in configured:
            urgencies = frozenset(Urgency) if row.urgency == "both" else {Urgency(row.urgency)}
            reaches.append(
                Reach(
                    row.name,
                    MethodKind(row.kind),
                    row.address,
                    after=timedelta(seconds=row.after_seconds),
                    urgencies=frozenset(urgencies),
                )
            )
    return reaches


def page_text(page: Page) -> tuple[str, str]:
    """(subject, body) of a page; the title is alert text, escaped by each sender."""
    subject = f"[{page.severity}] {page.title} (incident #{page.incident_id})"
    body = (
        f"Fireline is paging you: level {page.level} of escalation policy {page.policy}.\n\n"
        f"{page.title}\nSeverity: {page.severity} · incident #{page.incident_id}\n"
    )
    return subject[:250], body


def queue_page(
    session: Session,
    page: Page,
    *,
    rules: NotifyRules,
    version: int,
    once: bool,
    now: datetime,
) -> list[dict[str, Any]]:
    """Queue every step of every paged person's rules; returns what was planned (for the
    ``escalation.notified`` event)."""
    found = (rules.person(u) for u in page.users)
    people = list({p.id: p for p in found if p is not None}.values())
    stored = queries_notify.methods_of_people(session, [p.id for p in people])
    urgency = Urgency.of(page.severity)
    subject, body = page_text(page)
    planned: list[dict[str, Any]] = []
    for person in people:
        reaches = reaches_of(person, [m for m in stored if m.person == person.id])
        steps = plan(
            reaches,
            person.notification_rules,
            urgency,
            now=now,
            timezone=person.timezone,
            working_hours=person.working_hours,
        )
        for step in steps:
            if step.method.kind is not MethodKind.SLACK:
                _queue_step(session, page, person, step, urgency, subject, body, version, once, now)
            entry = {
                "person": person.id,
                "method": step.method.name,
                "kind": step.method.kind.value,
                "after": format_duration(step.after),
                "at": step.at.isoformat(),
            }
            if step.method.kind is MethodKind.SLACK:
                entry["to"] = step.method.address  # the Slack id chat's message goes to
            planned.append(entry)
    return planned


def _queue_step(
    session: Session,
    page: Page,
    person: PersonConfig,
    step: PlannedStep,
    urgency: Urgency,
    subject: str,
    body: str,
    version: int,
    once: bool,
    now: datetime,
) -> None:
    outbox.queue(
        session,
        destination=f"{NOTIFY}:{step.method.kind.value}",
        lane=f"{NOTIFY}:{person.id}:{page.incident_id}",
        kind=PAGE,
        payload={
            "incident_id": page.incident_id,
            "severity": page.severity,
            "person": person.id,
            "method": step.method.name,
            "kind": step.method.kind.value,
            "to": step.method.address,
            "step": step.index + 1,
            "after": format_duration(step.after),
            "urgency": urgency.value,
            "once": once,
            "subject": subject,
            "text": body,
        },
        now=now,
        incident_id=page.incident_id,
        idempotency_key=f"notify:{page.incident_id}:{version}:{person.id}:{step.index}",
        not_before=step.at,
    )


# --- after delivery --------------------------------------------------------------------


def already_delivered(db: Database, incident_id: int, message_id: int) -> bool:
    """Whether an earlier attempt at this outbox row reached the person (its
    ``notification.sent`` is on the timeline): an interrupted attempt is not repeated."""
    with db.session() as session:
        sent = queries.events_of_kind(session, incident_id, EventKind.NOTIFICATION_SENT)
    return any(e.data.get("message_id") == message_id for e in sent)


def record_delivery(
    db: Database,
    payload: Mapping[str, Any],
    *,
    message_id: int,
    lane: str,
    attempts: int,
    error: str | None,
    now: datetime,
) -> None:
    """Say on the timeline that a step reached its person, or failed; a failure brings the
    person's next step forward, in the same transaction. Once per outbox row."""
    person, method, kind = payload["person"], payload["method"], payload["kind"]
    data: dict[str, Any] = {
        "person": person,
        "method": method,
        "kind": kind,
        "step": int(payload["step"]),
        "after": payload["after"],
        "urgency": payload["urgency"],
        "attempts": attempts,
        "message_id": message_id,
    }
    if error is None:
        text = f"Reached {person} by {method} (step {payload['step']}, {kind})"
        event = EventKind.NOTIFICATION_SENT
    else:
        data["error"] = error
        text = f"Could not reach {person} by {method} ({kind}): {error}"
        event = EventKind.NOTIFICATION_FAILED
    with db.write() as session:
        queries.add_event(
            session,
            incident_id=int(payload["incident_id"]),
            kind=event,
            text=text,
            actor="fireline",
            at=now,
            recorded_at=now,
            data=data,
            dedupe_key=f"{event}:{message_id}",
        )
        if error is not None:
            queries_outbox.bring_forward(session, lane=lane, now=now)


def notification_counts(db: Database) -> list[tuple[str, str, int]]:
    """(kind, status, messages) of every page step queued, for /metrics."""
    with db.session() as session:
        rows = queries_outbox.counts_by_status(session, destination_prefix=f"{NOTIFY}:", kind=PAGE)
    return [(destination.partition(":")[2], status, n) for destination, status, n in rows]


# --- contact methods added through the API or the CLI ----------------------------------


def add_method(
    db: Database,
    person: PersonConfig,
    *,
    name: str,
    kind: MethodKind,
    to: str,
    after: timedelta,
    urgency: str,
    by: str,
    now: datetime,
) -> ContactMethod:
    """Store a new contact method and queue its verification message, in one transaction."""
    try:
        address = check_address(kind, to)
    except ValueError as exc:
        raise InvalidInputError(f"to: {exc}") from exc
    if any(m.name == name for m in person.contact_methods):
        raise ConflictError(f"{person.id} already has a contact method named {name!r} (config)")
    with db.write() as session:
        if queries_notify.method(session, person.id, name) is not None:
            raise ConflictError(f"{person.id} already has a contact method named {name!r}")
        row = queries_notify.add_method(
            session,
            person=person.id,
            name=name,
            kind=kind.value,
            address=address,
            source="api",
            created_by=by,
            now=now,
            after_seconds=int(after.total_seconds()),
            urgency=urgency,
        )
        queue_verification(session, row, now=now)
        return row


def sync_config_methods(db: Database, people: Iterable[PersonConfig], *, now: datetime) -> int:
    """Record the config's contact methods the database does not know yet (or whose address
    changed) and queue their verification; returns how many were new. Run at startup."""
    added = 0
    with db.write() as session:
        for person in people:
            for method in person.contact_methods:
                if method.kind is MethodKind.SLACK:
                    continue
                address = method.to or person.address_of(method)
                known = queries_notify.method(session, person.id, method.name)
                if known is not None and known.address == address and known.kind == method.kind:
                    continue
                if known is not None:
                    session.delete(known)
                    session.flush()
                row = queries_notify.add_method(
                    session,
                    person=person.id,
                    name=method.name,
                    kind=method.kind.value,
                    address=address,
                    source="config",
                    created_by="config",
                    now=now,
                )
                queue_verification(session, row, now=now)
                added += 1
    return added


def queue_verification(
    session: Session, row: ContactMethod, *, now: datetime, again: bool = False
) -> None:
    """Queue the method's test message (``again``: a repeat asked for, keyed apart)."""
    assert row.id is not None
    if row.kind == MethodKind.SLACK:
        queries_notify.set_status(session, row.id, MethodStatus.VERIFIED, error=None, now=now)
        return
    outbox.queue(
        session,
        destination=f"{NOTIFY}:{row.kind}",
        lane=f"{NOTIFY}:{row.person}:verify",
        kind=VERIFY,
        payload={"method_id": row.id, "person": row.person, "method": row.name, "to": row.address},
        now=now,
        idempotency_key=None if again else f"notify:verify:{row.id}",
    )


def record_verification(db: Database, method_id: int, *, error: str | None, now: datetime) -> None:
    status = MethodStatus.VERIFIED if error is None else MethodStatus.FAILED
    with db.write() as session:
        queries_notify.set_status(session, method_id, status, error=error, now=now)


def methods_of(db: Database, person: PersonConfig) -> list[dict[str, Any]]:
    """Every contact method of a person with its status, config and API alike."""
    with db.session() as session:
        stored = {m.name: m for m in queries_notify.methods_of(session, person.id)}
    out: list[dict[str, Any]] = []
    for reach in reaches_of(person, list(stored.values())):
        row = stored.get(reach.name)
        out.append(
            {
                "name": reach.name,
                "kind": reach.kind.value,
                "to": reach.address,
                "source": row.source if row else "config",
                "status": (row.status if row else MethodStatus.VERIFIED)
                if reach.kind is not MethodKind.SLACK
                else MethodStatus.VERIFIED,
                "error": row.error if row else None,
                "after": format_duration(reach.after) if reach.after is not None else None,
                "verified_at": row.verified_at.isoformat() if row and row.verified_at else None,
            }
        )
    return out


def remove_method(db: Database, person: PersonConfig, name: str) -> None:
    if any(m.name == name for m in person.contact_methods):
        raise ConflictError(
            f"{person.id}'s method {name!r} comes from the config file; edit it there"
        )
    with db.write() as session:
        if not queries_notify.remove_method(session, person.id, name):
            raise NotFoundError(f"{person.id} has no contact method named {name!r}")


def retest_method(db: Database, person: PersonConfig, name: str, *, now: datetime) -> None:
    """Send the verification message again (``fireline contacts test``)."""
    with db.write() as session:
        row = queries_notify.method(session, person.id, name)
        if row is None:
            raise NotFoundError(f"{person.id} has no stored contact method named {name!r}")
        row.status = MethodStatus.PENDING
        session.add(row)
        queue_verification(session, row, now=now, again=True)
