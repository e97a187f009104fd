"""Which follow-ups need a reminder now, and which follow-ups an incident leaves its
runbooks. Plain data in and out, the clock passed in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# Before the due date once; after it, once per period, so a reminder missed while the
# service was down is sent once on its return, not once per missed period.
REMIND_BEFORE = timedelta(days=2)
REMIND_EVERY = timedelta(days=3)


@dataclass(frozen=True)
class FollowupFacts:
    id: int
    incident_id: int
    text: str
    owner: str | None
    due_at: datetime | None
    status: str
    link: str | None = None


@dataclass(frozen=True)
class Reminder:
    followup: FollowupFacts
    key: str  # due-soon | overdue:N, unique per follow-up: each is sent once
    overdue: bool
    text: str


def _when(delta: timedelta) -> str:
    days = delta.days
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = int(delta.total_seconds() // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}" if hours else "less than an hour"


def reminder_for(
    item: FollowupFacts,
    *,
    now: datetime,
    before: timedelta = REMIND_BEFORE,
    every: timedelta = REMIND_EVERY,
) -> Reminder | None:
    """The reminder an open, owned follow-up with a due date is owed now, if any."""
    if item.status != "open" or not item.owner or item.due_at is None:
        return None
    what = f"follow-up #{item.id} of incident #{item.incident_id}: {item.text}"
    if item.link:
        what += f" ({item.link})"
    if now >= item.due_at:
        late = now - item.due_at
        period = int(late / every) if every > timedelta(0) else 0
        return Reminder(item, f"overdue:{period}", True, f"Overdue by {_when(late)}: {what}")
    if now >= item.due_at - before:
        return Reminder(item, "due-soon", False, f"Due in {_when(item.due_at - now)}: {what}")
    return None


def reminders(
    items: Iterable[FollowupFacts],
    *,
    now: datetime,
    before: timedelta = REMIND_BEFORE,
    every: timedelta = REMIND_EVERY,
) -> list[Reminder]:
    found = (reminder_for(i, now=now, before=before, every=every) for i in items)
    return [r for r in found if r is not None]


@dataclass(frozen=True)
class RunbookOutcome:
    """What a resolved incident's runbook did, from its timeline."""

    runbook_id: str | None
    alert_name: str
    step_failed: bool
    verification_failed: bool


def runbook_followup(outcome: RunbookOutcome, owners: Sequence[str]) -> str | None:
    """The follow-up a resolved incident leaves its runbooks: none matched, a step failed
    or verification failed. None when the runbook did its job."""
    who = f" (owners: {', '.join(owners)})" if owners else ""
    if outcome.runbook_id is None:
        return f"Write a runbook for {outcome.alert_name}: no runbook matched this incident"
    if outcome.step_failed:
        return f"Update runbook {outcome.runbook_id}: a step failed in this incident{who}"
    if outcome.verification_failed:
        return f"Update runbook {outcome.runbook_id}: its verification failed{who}"
    return None
