"""One background worker that fires due escalation timers and checks the watchdog.

The worker runs on a short tick (for timers that other replicas or requests create) and
wakes early at the next due time whenever that comes sooner. The database does the
claiming, so any number of replicas may run it at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import socket
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

import httpx
from pydantic import SecretStr

from bot.clock import Clock, utcnow
from bot.escalation import service, watchdog
from bot.escalation.config import WebhookConfig
from bot.escalation.notify import (
    Delivery,
    FanOut,
    LogNotifier,
    Notification,
    Notifier,
    WebhookNotifier,
)
from bot.escalation.service import EscalationRules
from bot.worker import Worker
from storage import queries_escalation as timers_q
from storage.db import Database

log = logging.getLogger(__name__)


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class EscalationScheduler:
    def __init__(
        self,
        db: Database,
        *,
        rules: EscalationRules,
        clock: Clock = utcnow,
        tick: timedelta = timedelta(seconds=1),
        notifiers: list[Notifier] | None = None,
        batch_size: int = 200,
        send_timeout: float = 60.0,
        webhooks: Mapping[str, WebhookConfig] | None = None,
        secrets: Mapping[str, SecretStr] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.db = db
        self.rules = rules
        self.owner = owner_name()
        self._clock = clock
        self._tick = max(tick.total_seconds(), 0.05)
        self._fanout = FanOut(list(notifiers) if notifiers is not None else [LogNotifier()])
        self._batch_size = batch_size
        self._send_timeout = send_timeout
        self.worker = Worker("escalation-timers", self._tick, self._run, run_at_start=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        # The service's one HTTP client when given (it closes it); otherwise one of our own.
        self._client: httpx.AsyncClient | None = client
        self._owns_client = client is None
        self._webhooks = dict(webhooks or {})
        self._secrets = dict(secrets or {})
        self.fired = 0

    def add_notifier(self, notifier: Notifier) -> None:
        """Another channel (Slack) joins the log and the webhooks."""
        self._fanout.notifiers = [*self._fanout.notifiers, notifier]

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._webhooks:
            if self._client is None:
                self._client = httpx.AsyncClient(follow_redirects=False)
            self.add_notifier(
                WebhookNotifier(self._client, self._webhooks, self._secrets, clock=self._clock)
            )
        self.worker.start()

    async def stop(self) -> None:
        """Stop waking; let a firing in progress finish its transaction and deliveries."""
        await self.worker.stop()
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

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

    def run_once(self) -> int:
        """Fire everything due now and check the watchdog (in the calling thread)."""
        fired = 0
        while True:
            taken = service.fire_due(
                self.db,
                rules=self.rules,
                send=self._send,
                owner=self.owner,
                clock=self._clock,
                limit=self._batch_size,
            )
            fired += taken
            if taken < self._batch_size:
                break
        watchdog.check(self.db, rules=self.rules, now=self._clock())
        self.fired += fired
        return fired

    def _next_due(self) -> datetime | None:
        with self.db.session() as session:
            return timers_q.next_due(session)

    def _send(self, notification: Notification) -> list[Delivery]:
        """Deliver from the firing thread through the event loop's adapters."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self._fanout.notify(notification), self._loop)
        try:
            return future.result(timeout=self._send_timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return [Delivery("notifier", ok=False, detail="timed out")]
