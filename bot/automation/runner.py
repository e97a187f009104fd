"""The loop that claims runbook runs and executes their steps.

Database work happens in threads (one short transaction per decision); actions run on the
event loop under their timeouts. While a step runs, its lease is renewed, so a replica
that dies mid-step is noticed by the others' sweep once the lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

import httpx

from actions.context import ActionContext, Endpoints
from actions.engine import StepOutcome, execute_step
from actions.gates import StepState
from bot import logs
from bot.automation import service
from bot.automation.service import AutomationRules, StepWork
from bot.clock import Clock, utcnow
from bot.worker import Worker, owner_name
from storage import queries_automation as q
from storage.db import Database
from storage.errors import SQLAlchemyError

log = logging.getLogger(__name__)


class AutomationRunner:
    def __init__(
        self,
        db: Database,
        *,
        rules: AutomationRules,
        http: httpx.AsyncClient,
        endpoints: Endpoints,
        secrets: Mapping[str, str] | None = None,
        clock: Clock = utcnow,
        tick: float = 1.0,
        batch_size: int = 20,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.rules = rules
        self.owner = owner_name()
        self._http = http
        self._endpoints = endpoints
        self._secrets = dict(secrets or {})
        self._clock = clock
        self._batch_size = batch_size
        self._on_change = on_change
        self._worker = Worker("automation-runner", tick, self.run_once)
        self._active: set[int] = set()
        self._running: set[asyncio.Task[None]] = set()
        self._executing: set[asyncio.Task[StepOutcome]] = set()

    @property
    def _stopping(self) -> bool:
        return self._worker.stopping

    def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        """Stop claiming; actions in flight are cancelled and their steps recorded as
        interrupted, never re-run."""
        self._worker.stopping = True
        for task in list(self._executing):
            task.cancel()
        if self._running:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await asyncio.gather(*self._running, return_exceptions=True)
        await self._worker.stop()

    def poke(self) -> None:
        """Look for work now; safe from any thread."""
        self._worker.poke()

    async def run_once(self) -> None:
        """Sweep, claim what is runnable, and start advancing each claimed run."""
        await asyncio.to_thread(service.sweep, self.db, rules=self.rules, now=self._clock())
        claimed = await asyncio.to_thread(self._claim)
        for run_id in claimed:
            self._active.add(run_id)
            task = asyncio.create_task(self._advance(run_id), name=f"run-{run_id}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def settle(self) -> None:
        """Run until nothing is claimable or in flight (for the CLI and tests)."""
        while True:
            await self.run_once()
            if not self._running:
                return
            await asyncio.gather(*self._running, return_exceptions=True)

    def _claim(self) -> list[int]:
        now = self._clock()
        with self.db.session() as session:  # most cycles find nothing: no write lock for them
            if not q.runs_waiting(session, now=now):
                return []
        with self.db.write() as session:
            ids = q.claim_runs(
                session,
                owner=self.owner,
                now=now,
                lease_until=now + self.rules.lease,
                limit=self._batch_size,
            )
        return [i for i in ids if i not in self._active]

    async def _advance(self, run_id: int) -> None:
        try:
            while not self._stopping:
                work = await asyncio.to_thread(
                    service.next_work,
                    self.db,
                    run_id,
                    owner=self.owner,
                    rules=self.rules,
                    now=self._clock(),
                )
                if work is None:
                    break
                outcome = await self._execute(work)
                await asyncio.to_thread(
                    service.finish_step,
                    self.db,
                    work,
                    outcome,
                    owner=self.owner,
                    rules=self.rules,
                    now=self._clock(),
                )
        except Exception:
            log.exception("run %s failed to advance; its lease will expire", run_id)
        finally:
            self._active.discard(run_id)
            if self._on_change is not None:
                self._on_change()

    async def _execute(self, work: StepWork) -> StepOutcome:
        action_type = self.rules.registry.get(work.action)
        assert action_type is not None
        context = ActionContext(
            incident_id=work.incident_id,
            run_id=work.run_id,
            step_id=work.step_id,
            http=self._http,
            endpoints=self._endpoints,
            secrets=self._secrets,
            trusted=work.trusted,
            params=work.params,
            dry_run=work.dry_run,
            timeout=work.timeout,
            post_message=lambda text: asyncio.to_thread(
                service.post_message, self.db, work.incident_id, text, now=self._clock()
            ),
        )
        logs.incident_id.set(work.incident_id)
        renew = asyncio.create_task(self._renew(work))
        # Only the action is cancelled when the service stops; the bookkeeping around it
        # finishes, so the step is recorded as interrupted instead of left running.
        execution = asyncio.create_task(
            execute_step(action_type(), work.args, context, retries=work.retries, poll=work.poll)
        )
        self._executing.add(execution)
        try:
            return await execution
        except asyncio.CancelledError:
            if not execution.cancelled():
                raise
            return StepOutcome(StepState.INTERRUPTED, "the service stopped while it ran")
        finally:
            self._executing.discard(execution)
            renew.cancel()

    async def _renew(self, work: StepWork) -> None:
        interval = max(self.rules.lease.total_seconds() / 3, 0.2)
        while True:
            await asyncio.sleep(interval)
            lease = self._clock() + self.rules.lease
            try:
                await asyncio.to_thread(self._renew_once, work, lease)
            except SQLAlchemyError as exc:
                log.warning("lease of step %s not renewed: %s", work.step_id, exc)

    def _renew_once(self, work: StepWork, lease: datetime) -> None:
        with self.db.write() as session:
            q.renew_leases(
                session,
                run_id=work.run_id,
                step_run_id=work.step_run_id,
                owner=self.owner,
                lease=lease,
            )
