"""One background worker that fires due escalation timers and checks the watchdog.

The worker runs on a short tick (for timers that other replicas or requests create) and
wakes early at the next due time whenever that comes sooner. The database does the
claiming, so any number of replicas may run it at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.clock import Clock, utcnow
from bot.escalation import service, watchdog
from bot.escalation.notify import Notification
from bot.escalation.service import EscalationRules
from bot.worker import Worker, owner_name
from storage import queries_escalation as timers_q
from storage.db import Database

log = logging.getLogger(__name__)


class EscalationScheduler:
    def __init__(
        self,
        db: Database,
        *,
        rules: EscalationRules,
        clock: Clock = utcnow,
        tick: timedelta = timedelta(seconds=1),
        batch_size: int = 200,
        on_fired: Callable[[list[Notification]], None] | None = None,
    ) -> None:
        self.db = db
        self.rules = rules
        self.owner = owner_name()
        self._clock = clock
        self._tick = max(tick.total_seconds(), 0.05)
        self._batch_size = batch_size
        # Told of the pages each run decided, after they are committed to the outbox.
        self._on_fired = on_fired
        self.worker = Worker("escalation-timers", self._tick, self._run, run_at_start=True)
        self.fired = 0

    def start(self) -> None:
        self.worker.start()

    async def stop(self) -> None:
        """Stop waking; a firing in progress finishes its transaction."""
        await self.worker.stop()

    def poke(self) -> None:
        """Look at the timers now; safe from any thread."""
        self.worker.poke()

    async def _run(self) -> None:
        while True:
            fired = await asyncio.to_thread(self.run_once)
            upcoming = await asyncio.to_thread(self._next_due)
            # More fell due while this run fired: take them now.
            due_now = upcoming is not None and upcoming <= self._clock()
            if self.worker.stopping or not (fired and due_now):
                break
        if upcoming is not None:
            # The clock may be injected: translate "due in N seconds" into real time.
            self.worker.wake_in(max(0.0, (upcoming - self._clock()).total_seconds()))

    def run_once(self) -> list[Notification]:
        """Fire everything due now and check the watchdog (in the calling thread); returns
        the pages decided, already committed to the outbox."""
        pages: list[Notification] = []
        while True:
            taken = service.fire_due(
                self.db,
                rules=self.rules,
                owner=self.owner,
                clock=self._clock,
                limit=self._batch_size,
            )
            pages += taken
            if len(taken) < self._batch_size:
                break
        watchdog.check(self.db, rules=self.rules, now=self._clock())
        for page in pages:
            log.warning(
                "escalation: incident %s level %s: %s", page.incident_id, page.level, page.text
            )
        if pages and self._on_fired is not None:
            self._on_fired(pages)
        self.fired += len(pages)
        return pages

    def _next_due(self) -> datetime | None:
        with self.db.session() as session:
            return timers_q.next_due(session)
