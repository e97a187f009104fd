"""Helpers for the escalation tests: a settable clock, policies, incidents through triage."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.escalation.config import WatchdogConfig
from bot.escalation.decide import Level, Policy, Target, TargetKind
from bot.escalation.hooks import EscalationHooks
from bot.escalation.notify import Notification
from bot.escalation.service import EscalationRules
from bot.incidents.triage import apply_payload
from bot.ingest.model import WebhookPayload
from storage.db import Database
from storage.tables import TimelineEvent
from storage.tables_escalation import EscalationTimer
from tests.support import alert, payload

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


def user_level(name: str, minutes: int) -> Level:
    return Level((Target(TargetKind.USER, name),), timedelta(minutes=minutes))


SEED = Policy(
    name="default",
    levels=(
        user_level("oncall", 5),
        user_level("secondary", 10),
        user_level("senior", 15),
        user_level("ic", 30),
    ),
    start_level={"SEV1": 1},
)


def rules(*policies: Policy, watchdog: WatchdogConfig | None = None, **kw: Any) -> EscalationRules:
    return EscalationRules(
        policies=policies or (SEED,),
        schedules=kw.get("schedules", {}),
        roles=kw.get("roles", {}),
        watchdog=watchdog or WatchdogConfig(),
        ack_timeout=kw.get("ack_timeout"),
    )


@dataclass
class Recorder:
    """Keeps the pages ``fire_due`` decided (and queued in the outbox)."""

    sent: list[Notification] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, pages: list[Notification]) -> int:
        with self.lock:
            self.sent.extend(pages)
        return len(pages)

    def levels(self, incident_id: int | None = None) -> list[int]:
        return [n.level for n in self.sent if incident_id in (None, n.incident_id)]


def open_incident(
    db: Database,
    escalation_rules: EscalationRules,
    *,
    now: datetime,
    name: str = "HighErrorRate",
    severity: str = "warning",
    fingerprint: str = "0123456789abcdef",
    status: str = "firing",
    starts_at: datetime | None = None,
) -> int:
    """An incident opened by triage from an Alertmanager payload, with the escalation hook."""
    body = payload(
        [
            alert(
                name,
                fingerprint=fingerprint,
                status=status,
                starts_at=starts_at,
                labels={"severity": severity},
            )
        ]
    )
    with db.write() as session:
        outcome = apply_payload(
            session,
            WebhookPayload.model_validate(body),
            received_at=now,
            now=now,
            rules=(),
            flap_window=timedelta(minutes=10),
            escalation=EscalationHooks(escalation_rules),
        )
    ids = outcome.opened or outcome.reopened
    return ids[0] if ids else 0


def events(db: Database, incident_id: int, kind: str) -> list[TimelineEvent]:
    with db.session() as session:
        query = select(TimelineEvent).where(
            TimelineEvent.incident_id == incident_id, TimelineEvent.kind == kind
        )
        return list(session.exec(query.order_by(col(TimelineEvent.id))))


def timer(db: Database, incident_id: int) -> EscalationTimer:
    with db.session() as session:
        state = session.get(EscalationTimer, incident_id)
    assert state is not None, f"incident {incident_id} has no escalation timer"
    return state
