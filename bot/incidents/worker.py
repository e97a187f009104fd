"""The triage worker: drains stored receipts after ingest commits, and on a slow tick for
receipts that another replica or an earlier run left behind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from bot.changes.service import ChangeCorrelator
from bot.clock import Clock, utcnow
from bot.incidents.decide import TriageRule, triage_defers
from bot.incidents.lifecycle import StatusHooks
from bot.incidents.triage import TriageOutcome, process_pending
from bot.runbooks.service import RunbookSelector
from bot.worker import Worker
from storage import queries
from storage.db import Database

log = logging.getLogger(__name__)


class TriageWorker:
    def __init__(
        self,
        db: Database,
        *,
        rules: tuple[TriageRule, ...],
        flap_window: timedelta,
        batch_size: int,
        clock: Clock = utcnow,
        poll_interval: float = 1.0,
        on_outcome: Callable[[TriageOutcome], None] | None = None,
        max_deferral: float = 1.0,
        selector: RunbookSelector | None = None,
        escalation: StatusHooks | None = None,
        changes: ChangeCorrelator | None = None,
    ) -> None:
        self._db = db
        self._rules = rules
        self._flap_window = flap_window
        self._batch_size = batch_size
        self._clock = clock
        self._on_outcome = on_outcome
        self._ingest_under_load: Callable[[], bool] | None = None
        self._max_deferral = max_deferral
        self._selector = selector
        self._escalation = escalation
        self._changes = changes
        self._worker = Worker(
            "triage-worker", poll_interval, self._drain_pending, max_backoff=30.0, stop_grace=30.0
        )

    def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        """Finish the batch in hand (its transaction must not be cut off), then stop."""
        await self._worker.stop()

    def defer_while(self, ingest_under_load: Callable[[], bool]) -> None:
        self._ingest_under_load = ingest_under_load

    def poke(self) -> None:
        """Wake the worker; safe to call from any thread."""
        self._worker.poke()

    def drain(self) -> int:
        """Process everything pending now, in this thread (for the CLI and tests)."""
        total = 0
        while True:
            taken, _outcome = self._process()
            total += taken
            if not taken:
                return total

    def _process(self) -> tuple[int, TriageOutcome]:
        taken, outcome = process_pending(
            self._db,
            rules=self._rules,
            flap_window=self._flap_window,
            batch_size=self._batch_size,
            clock=self._clock,
            selector=self._selector,
            escalation=self._escalation,
            changes=self._changes,
        )
        if taken and self._on_outcome is not None:
            self._on_outcome(outcome)
        return taken, outcome

    async def _yield_to_ingest(self) -> None:
        """During a webhook storm, let ingest have the database and the CPU first, but
        only while the oldest receipt waiting is younger than ``max_deferral`` seconds.

        Receipts are already durable, so triage may lag a little; past that budget it
        takes batches back to back whatever the load, so the lag cannot grow without bound
        (waiting a fixed time per batch did: under a sustained storm triage fell minutes
        behind).
        """
        if self._ingest_under_load is None:
            return
        while not self._worker.stopping:
            under_load = self._ingest_under_load()
            waited = await asyncio.to_thread(self._oldest_wait) if under_load else 0.0
            if not triage_defers(
                under_load=under_load, oldest_wait=waited, budget=self._max_deferral
            ):
                return
            await asyncio.sleep(min(0.05, self._max_deferral - waited))

    def _oldest_wait(self) -> float:
        with self._db.session() as session:
            oldest = queries.oldest_pending_receipt(session)
        return 0.0 if oldest is None else (self._clock() - oldest).total_seconds()

    async def _drain_pending(self) -> None:
        while True:
            await self._yield_to_ingest()
            taken, _ = await asyncio.to_thread(self._process)
            if not taken or self._worker.stopping:
                return
