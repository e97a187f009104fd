"""Who is on call, with the overrides stored in the database merged into the config's;
the coming shifts; the stored overrides listed, added and removed; shifts swapped."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock, utcnow
from bot.errors import InvalidInputError, NotFoundError
from bot.escalation import schedules
from bot.escalation.calendar import render_calendar
from bot.escalation.schedules import OnCall, Shift, shifts
from bot.escalation.service import EscalationRules, effective_schedule, who_is_on_call
from storage import queries_escalation
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


def swap_shifts(
    db: Database,
    rules: EscalationRules,
    *,
    schedule: str,
    first: str,
    first_at: datetime,
    second: str,
    second_at: datetime,
    actor: str,
    clock: Clock = utcnow,
) -> list[OnCallOverride]:
    """Two people trade shifts: two overrides written in one transaction, checked against
    the schedule as it stands (stored overrides applied) in that transaction."""
    _known(rules, schedule)
    now = clock()
    with db.write() as session:
        effective = effective_schedule(session, rules, schedule, now=now)
        try:
            covers = schedules.swap(effective, first, first_at, second, second_at)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from exc
        rows = [
            OnCallOverride(
                schedule=schedule,
                user=o.user,
                start_at=o.start,
                end_at=o.end,
                created_by=actor,
                created_at=now,
            )
            for o in covers
        ]
        session.add_all(rows)
        session.flush()
        return rows


def _known(rules: EscalationRules, schedule: str) -> None:
    if schedule not in rules.schedules:
        raise NotFoundError(f"no schedule named {schedule!r}")


def shifts_of(
    db: Database, rules: EscalationRules, schedule: str, *, start: datetime, span: timedelta
) -> list[Shift]:
    """The shifts of ``schedule`` from ``start`` for ``span``, stored overrides applied."""
    _known(rules, schedule)
    with db.session() as session:
        effective = effective_schedule(session, rules, schedule, now=start)
    return shifts(effective, start, start + span)


def overrides_of(
    db: Database, rules: EscalationRules, schedule: str, *, now: datetime
) -> list[OnCallOverride]:
    """The stored overrides of ``schedule`` that have not ended, in the order given."""
    _known(rules, schedule)
    with db.session() as session:
        return queries_escalation.overrides_for(session, schedule, ending_after=now)


def remove_override(
    db: Database, override_id: int, *, schedule: str | None = None
) -> OnCallOverride:
    """Delete a stored override (of ``schedule``, when given); NotFoundError if none."""
    with db.write() as session:
        row = session.get(OnCallOverride, override_id)
        if row is None or (schedule is not None and row.schedule != schedule):
            where = f" in schedule {schedule!r}" if schedule else ""
            raise NotFoundError(f"no override {override_id}{where}")
        session.delete(row)
        return row


#: A feed shows the past week and the seven weeks ahead.
FEED_BEFORE = timedelta(days=7)
FEED_SPAN = timedelta(weeks=8)


def schedule_feed(db: Database, rules: EscalationRules, schedule: str, *, now: datetime) -> str:
    """The iCalendar feed of one schedule: every shift, overrides applied."""
    found = shifts_of(db, rules, schedule, start=now - FEED_BEFORE, span=FEED_SPAN)
    return render_calendar(f"On call: {schedule}", found, now=now)


def person_feed(
    db: Database, rules: EscalationRules, person: str, names: frozenset[str], *, now: datetime
) -> str:
    """The iCalendar feed of one person: their shifts in every schedule, under any of
    ``names`` (their id, their Slack user)."""
    start = now - FEED_BEFORE
    mine: list[Shift] = []
    with db.session() as session:
        schedules = [
            effective_schedule(session, rules, name, now=start) for name in sorted(rules.schedules)
        ]
    for schedule in schedules:
        mine += [s for s in shifts(schedule, start, start + FEED_SPAN) if s.user in names]
    mine.sort(key=lambda s: (s.start, s.schedule))
    return render_calendar(f"On call: {person}", mine, now=now)
