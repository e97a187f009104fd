"""Every status change goes through the lifecycle, which tells escalation in the same
transaction; the people's, triage's and the watchdog's resolves write the same event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.errors import ConflictError
from bot.escalation.service import EscalationRules
from bot.incidents import service
from bot.ingest.model import WebhookPayload
from storage.db import Database
from storage.tables import Incident, TimelineEvent
from tests.escalation.support import open_incident, rules

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


class RecordingHooks:
    """A StatusHooks that writes down what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, str]] = []

    def payload_received(
        self, session: Session, payload: WebhookPayload, *, received_at: datetime, now: datetime
    ) -> bool:
        return False

    def incident_opened(
        self, session: Session, incident: Incident, *, now: datetime, reason: str | None = None
    ) -> None:
        assert incident.id is not None
        self.calls.append(("opened", incident.id, reason or ""))

    def severity_raised(self, session: Session, incident: Incident, *, now: datetime) -> None:
        assert incident.id is not None
        self.calls.append(("severity_raised", incident.id, ""))

    def incident_acknowledged(
        self, session: Session, incident_id: int, *, actor: str, now: datetime
    ) -> None:
        self.calls.append(("acknowledged", incident_id, actor))

    def incident_unacknowledged(
        self, session: Session, incident: Incident, *, actor: str, now: datetime
    ) -> None:
        assert incident.id is not None
        self.calls.append(("unacknowledged", incident.id, actor))

    def incident_resolved(
        self, session: Session, incident_id: int, *, reason: str, now: datetime
    ) -> None:
        self.calls.append(("resolved", incident_id, reason))


def clock() -> datetime:
    return T0 + timedelta(minutes=5)


def kinds(db: Database, incident_id: int) -> list[str]:
    with db.session() as session:
        rows = session.exec(
            select(TimelineEvent)
            .where(TimelineEvent.incident_id == incident_id)
            .order_by(TimelineEvent.id)  # type: ignore[arg-type]
        )
        return [row.kind for row in rows]


def status(db: Database, incident_id: int) -> dict[str, Any]:
    with db.session() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        return {
            "status": incident.status,
            "acknowledged_by": incident.acknowledged_by,
            "resolved_by": incident.resolved_by,
        }


def test_acknowledge_unacknowledge_resolve_change_status_once_and_tell_the_hooks(
    db: Database,
) -> None:
    hooks = RecordingHooks()
    incident_id = open_incident(db, rules(), now=T0)
    service.acknowledge(db, incident_id, actor="ann", hooks=hooks, clock=clock)
    service.acknowledge(db, incident_id, actor="ann", hooks=hooks, clock=clock)
    assert status(db, incident_id)["acknowledged_by"] == "ann"
    service.unacknowledge(db, incident_id, actor="bob", hooks=hooks, clock=clock)
    assert status(db, incident_id) == {
        "status": "open",
        "acknowledged_by": None,
        "resolved_by": None,
    }
    service.resolve(db, incident_id, actor="cy", reason="fixed", hooks=hooks, clock=clock)
    service.resolve(db, incident_id, actor="cy", hooks=hooks, clock=clock)
    assert status(db, incident_id)["status"] == "resolved"
    assert hooks.calls == [
        ("acknowledged", incident_id, "ann"),
        ("unacknowledged", incident_id, "bob"),
        ("resolved", incident_id, "resolved by cy"),
    ]
    assert kinds(db, incident_id)[-3:] == [
        "incident.acknowledged",
        "incident.unacknowledged",
        "incident.resolved",
    ]


def test_a_resolved_incident_cannot_be_acknowledged_and_only_an_acknowledged_one_unacknowledged(
    db: Database,
) -> None:
    hooks = RecordingHooks()
    incident_id = open_incident(db, rules(), now=T0)
    with pytest.raises(ConflictError):
        service.unacknowledge(db, incident_id, actor="ann", hooks=hooks, clock=clock)
    service.resolve(db, incident_id, actor="ann", hooks=hooks, clock=clock)
    with pytest.raises(ConflictError):
        service.acknowledge(db, incident_id, actor="ann", hooks=hooks, clock=clock)
    assert [call[0] for call in hooks.calls] == ["resolved"]


def test_a_declared_incident_opens_through_the_hooks_with_its_reason(db: Database) -> None:
    hooks = RecordingHooks()
    incident = service.declare(
        db, title="Checkout down", severity="SEV1", actor="dana", hooks=hooks, clock=clock
    )
    assert hooks.calls == [("opened", incident.id, "declared by dana")]


def test_triage_resolves_through_the_lifecycle_and_stops_escalation(db: Database) -> None:
    escalation: EscalationRules = rules()
    incident_id = open_incident(db, escalation, now=T0)
    open_incident(db, escalation, now=T0 + timedelta(minutes=1), status="resolved")
    assert status(db, incident_id) == {
        "status": "resolved",
        "acknowledged_by": None,
        "resolved_by": "alertmanager",
    }
    assert kinds(db, incident_id).count("incident.resolved") == 1
