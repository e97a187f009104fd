"""What an incident's status changes do to its escalation timers, in the same transaction."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.escalation import service, watchdog
from bot.escalation.service import EscalationRules
from bot.ingest.model import WebhookPayload
from storage.tables import Incident


class EscalationHooks:
    """Implements ``bot.incidents.lifecycle.StatusHooks``."""

    def __init__(self, rules: EscalationRules) -> None:
        self.rules = rules

    def payload_received(
        self, session: Session, payload: WebhookPayload, *, received_at: datetime, now: datetime
    ) -> bool:
        config = self.rules.watchdog
        if config.missing_after is None or not watchdog.is_heartbeat(payload, config):
            return False
        watchdog.record_arrival(session, payload, config=config, received_at=received_at, now=now)
        return True

    def incident_opened(
        self, session: Session, incident: Incident, *, now: datetime, reason: str | None = None
    ) -> None:
        reason = reason or ("re-opened" if incident.reopen_count else "opened")
        service.start(session, incident, rules=self.rules, now=now, reason=reason)

    def severity_raised(self, session: Session, incident: Incident, *, now: datetime) -> None:
        service.severity_raised(session, incident, rules=self.rules, now=now)

    def incident_acknowledged(
        self, session: Session, incident_id: int, *, actor: str, now: datetime
    ) -> None:
        service.acknowledged(session, incident_id, rules=self.rules, actor=actor, now=now)

    def incident_unacknowledged(
        self, session: Session, incident: Incident, *, actor: str, now: datetime
    ) -> None:
        service.restart(session, incident, rules=self.rules, now=now, actor=actor)

    def incident_resolved(
        self, session: Session, incident_id: int, *, reason: str, now: datetime
    ) -> None:
        service.stop(session, incident_id, reason=reason, now=now)
