"""Follow-up reminders in Slack: the owner of an open follow-up gets a direct message
before its due date and, once it is overdue, again every period until it is done.

A small worker decides (``bot.postmortem.decide``) and queues each reminder as an outbox
row keyed by the follow-up and the reminder, so none is sent twice, whichever replica
queues it; the transport drops a reminder whose follow-up was done since.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.chat.render import ChatMessage
from bot.chat.service import SLACK, ChatWrite, enqueue, person_lane
from bot.clock import Clock, utcnow
from bot.people.model import SLACK_USER_ID
from bot.postmortem.decide import REMIND_BEFORE, REMIND_EVERY, FollowupFacts, reminders
from bot.worker import Worker
from storage import queries_followups
from storage.db import Database
from storage.tables_followups import FollowUp

log = logging.getLogger(__name__)
ICON = ":spiral_calendar_pad:"

SlackIdOf = Callable[[str], str | None]
"""A follow-up's owner (a Slack user id or a person of the directory) as a Slack user id."""


def facts_of(row: FollowUp) -> FollowupFacts:
    assert row.id is not None
    return FollowupFacts(
        id=row.id,
        incident_id=row.incident_id,
        text=row.text,
        owner=row.owner,
        due_at=row.due_at,
        status=row.status,
        link=row.link,
    )


def queue_reminders(
    db: Database,
    slack_id_of: SlackIdOf,
    *,
    now: datetime,
    before: timedelta = REMIND_BEFORE,
    every: timedelta = REMIND_EVERY,
) -> int:
    """Queue every reminder owed now; returns how many were new."""
    queued = 0
    with db.write() as session:
        rows = queries_followups.owned_due_before(session, until=now + before)
        for reminder in reminders((facts_of(r) for r in rows), now=now, before=before, every=every):
            item = reminder.followup
            user = slack_id_of(str(item.owner))
            if user is None:
                continue  # an owner Slack cannot reach (a team handle, an email)
            message = ChatMessage(f"{ICON} {reminder.text}")
            queued += enqueue(
                session,
                item.incident_id,
                ChatWrite.REMINDER,
                {"user": user, "followup_id": item.id, "message": message.as_json()},
                now,
                key=f"{SLACK}:followup:{item.id}:{reminder.key}",
                lane=person_lane(user),
            )
    return queued


def slack_id_resolver(person: Callable[[str], object | None]) -> SlackIdOf:
    """Owners as Slack sees them: a user id as it is, a person by their ``slack``."""

    def resolve(owner: str) -> str | None:
        name = owner.strip().removeprefix("@")
        if SLACK_USER_ID.match(name):
            return name
        found = person(name)
        slack = getattr(found, "slack", None)
        return str(slack) if slack else None

    return resolve


class FollowupReminders:
    def __init__(
        self,
        db: Database,
        slack_id_of: SlackIdOf,
        *,
        clock: Clock = utcnow,
        tick: timedelta = timedelta(minutes=5),
        before: timedelta = REMIND_BEFORE,
        every: timedelta = REMIND_EVERY,
    ) -> None:
        self._db = db
        self._slack_id_of = slack_id_of
        self._clock = clock
        self._before = before
        self._every = every
        self.worker = Worker("followup-reminders", max(tick.total_seconds(), 0.05), self._run)

    def start(self) -> None:
        self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()

    def run_once(self) -> int:
        queued = queue_reminders(
            self._db, self._slack_id_of, now=self._clock(), before=self._before, every=self._every
        )
        if queued:
            log.info("follow-ups: %d reminder(s) queued", queued)
        return queued

    async def _run(self) -> None:
        await asyncio.to_thread(self.run_once)
