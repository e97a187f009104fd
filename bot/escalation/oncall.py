"""Who is on call, with the overrides stored in the database merged into the config's."""

from __future__ import annotations

from datetime import datetime

from bot.clock import Clock, utcnow
from bot.errors import InvalidInputError, NotFoundError
from bot.escalation.schedules import OnCall
from bot.escalation.service import EscalationRules, who_is_on_call
from storage.db import Database
from storage.tables_escalation import OnCallOverride


def on_call_now(
    db: Database, rules: EscalationRules, *, schedule: str | None, at: datetime
) -> list[OnCall]:
    names = [schedule] if schedule else sorted(rules.schedules)
    if schedule is not None and schedule not in rules.schedules:
        raise NotFoundError(f"no schedule named {schedule!r}")
    with db.session() as session:
        return [who_is_on_call(session, rules, name, at=at) for name in names]


def add_override(
    db: Database,
    rules: EscalationRules,
    *,
    schedule: str,
    user: str,
    start: datetime,
    end: datetime,
    actor: str,
    clock: Clock = utcnow,
) -> OnCallOverride:
    if schedule not in rules.schedules:
        raise NotFoundError(f"no schedule named {schedule!r}")
    if end <= start:
        raise InvalidInputError("an override must end after it starts")
    row = OnCallOverride(
        schedule=schedule,
        user=user,
        start_at=start,
        end_at=end,
        created_by=actor,
        created_at=clock(),
    )
    with db.write() as session:
        session.add(row)
        session.flush()
    return row
