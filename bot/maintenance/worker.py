"""The worker that releases what maintenance windows held once they are over."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from bot.clock import Clock, utcnow
from bot.maintenance.service import Maintenance, Release, Released, release_ended
from bot.worker import Worker
from storage.db import Database

log = logging.getLogger(__name__)


class MaintenanceWorker:
    def __init__(
        self,
        db: Database,
        maintenance: Maintenance,
        release: Release,
        *,
        clock: Clock = utcnow,
        tick: timedelta = timedelta(seconds=5),
        on_released: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self.maintenance = maintenance
        self._release = release
        self._clock = clock
        # Told after a release commits, to wake escalation and automation.
        self._on_released = on_released
        self.worker = Worker("maintenance", max(tick.total_seconds(), 0.05), self._run)

    def start(self) -> None:
        self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()

    def poke(self) -> None:
        """Look for ended windows now (a person ended one); safe from any thread."""
        self.worker.poke()

    def run_once(self) -> Released:
        outcome = release_ended(self._db, self.maintenance, self._release, now=self._clock())
        if outcome.released:
            log.info("maintenance over: incidents %s re-evaluated", outcome.released)
            if self._on_released is not None:
                self._on_released()
        return outcome

    async def _run(self) -> None:
        await asyncio.to_thread(self.run_once)
