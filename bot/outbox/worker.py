"""The outbox's sender: claims due rows lane by lane and delivers them, never inside a
database transaction.

Each claimed row is sent by a task of its own, so a slow peer holds only its own lanes: a
destination takes at most ``per_destination`` sends at once and the others carry on. While
a send is in flight a heartbeat renews its lease; a sender that dies stops renewing, and
its rows are claimed again within one ``lease`` (5 s by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.clock import Clock, utcnow
from bot.outbox import service
from bot.outbox.decide import gives_up, retry_delay
from bot.outbox.model import Cancelled, DeliveryError, NotYet, Outgoing, Transport
from bot.worker import Worker, owner_name
from storage.db import Database

log = logging.getLogger(__name__)


class OutboxSender:
    def __init__(
        self,
        db: Database,
        transports: Mapping[str, Transport] | None = None,
        *,
        clock: Clock = utcnow,
        tick: float = 0.25,
        lease: timedelta = timedelta(seconds=5),
        per_destination: int = 8,
        stop_grace: float = 10.0,
        jitter: random.Random | None = None,
    ) -> None:
        self.db = db
        self.owner = owner_name()
        self._transports: dict[str, Transport] = dict(transports or {})
        self._clock = clock
        self._lease = lease
        self._per_destination = per_destination
        self._stop_grace = stop_grace
        self._jitter = jitter or random.Random()  # noqa: S311 - jitter, not security
        self._inflight: dict[int, tuple[str, asyncio.Task[None]]] = {}
        # Sent, or put off by the peer's pace (with when they are due), not yet recorded:
        # the next claim records them in its own transaction.
        self._delivered: list[Outgoing] = []
        self._deferred: list[tuple[Outgoing, datetime]] = []
        self._worker = Worker("outbox", tick, self._claim_and_send)
        self._heartbeat = Worker(
            "outbox-lease", max(lease.total_seconds() / 3, 0.05), self._renew_leases
        )
        self.delivered = 0
        self._first_kinds: tuple[str, ...] = ()
        self._concurrency: dict[str, int] = {}

    def put_first(self, *kinds: str) -> None:
        """Rows of these kinds, at the head of their lane, are claimed before the others
        (a new incident's card before the thread posts of older ones)."""
        self._first_kinds = (*self._first_kinds, *kinds)

    def add_transport(
        self, family: str, transport: Transport, *, concurrency: int | None = None
    ) -> None:
        """``family`` is the part of a destination before the colon: ``slack``, ``webhook``.
        ``concurrency`` replaces ``per_destination`` for its destinations (Slack's sends
        wait for their channel's pace while they hold a place, so it needs more)."""
        self._transports[family] = transport
        if concurrency is not None:
            self._concurrency[family] = concurrency

    def start(self) -> None:
        self._heartbeat.start()
        self._worker.start()

    async def stop(self) -> None:
        """Claim nothing more; let sends in flight finish (for ``stop_grace`` seconds, then
        cancel them: their rows are claimed again after the lease)."""
        await self._worker.stop()
        tasks = [task for _, task in self._inflight.values()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self._stop_grace)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        delivered, self._delivered = self._delivered, []
        deferred, self._deferred = self._deferred, []
        if delivered or deferred:
            await asyncio.to_thread(service.settle, self.db, delivered, deferred, now=self._clock())
            self._settled(delivered, deferred)
        await self._heartbeat.stop()

    def poke(self) -> None:
        """Look for due rows now; safe from any thread."""
        self._worker.poke()

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    async def _claim_and_send(self) -> None:
        delivered, self._delivered = self._delivered, []
        deferred, self._deferred = self._deferred, []
        settling = {m.id for m in delivered} | {m.id for m, _ in deferred}
        busy = Counter(
            destination for id_, (destination, _) in self._inflight.items() if id_ not in settling
        )
        families = set(self._transports)

        def capacity(destination: str) -> int:
            family = destination.partition(":")[0]
            if family not in families:
                return 0  # no transport here (Slack not configured): the rows wait
            return self._concurrency.get(family, self._per_destination) - busy[destination]

        try:
            claimed = await asyncio.to_thread(
                service.claim,
                self.db,
                owner=self.owner,
                now=self._clock(),
                lease=self._lease,
                capacity=capacity,
                first_kinds=self._first_kinds,
                delivered=delivered,
                deferred=deferred,
            )
        except BaseException:
            self._delivered[:0] = delivered  # recorded by the next cycle that commits
            self._deferred[:0] = deferred
            raise
        self._settled(delivered, deferred)
        for message in claimed:
            task = asyncio.create_task(self._deliver(message), name=f"outbox-{message.id}")
            self._inflight[message.id] = (message.destination, task)

    def _settled(
        self, delivered: list[Outgoing], deferred: list[tuple[Outgoing, datetime]]
    ) -> None:
        for message in [*delivered, *(m for m, _ in deferred)]:
            self._inflight.pop(message.id, None)
        self.delivered += len(delivered)
        if deferred:
            soonest = min(due for _, due in deferred)
            self._worker.wake_in((soonest - self._clock()).total_seconds())

    async def _renew_leases(self) -> None:
        ids = list(self._inflight)
        if ids:
            until = self._clock() + self._lease
            await asyncio.to_thread(service.renew, self.db, ids, owner=self.owner, until=until)

    async def _deliver(self, message: Outgoing) -> None:
        settling = False
        try:
            settling = await self._attempt(message)
        finally:
            if not settling:  # else its place is held until the next claim records it
                self._inflight.pop(message.id, None)
            self.poke()  # the lane's next row may go now

    async def _attempt(self, message: Outgoing) -> bool:
        """Deliver once; True when it was delivered or put off (and is still to be
        recorded by the next claim)."""
        transport = self._transports[message.family]
        try:
            await transport.deliver(message)
        except NotYet as exc:
            due = self._clock() + timedelta(seconds=max(0.0, exc.wait))
            self._deferred.append((message, due))
            return True
        except Cancelled as exc:
            await asyncio.to_thread(service.cancelled, self.db, message.id, reason=str(exc))
            log.info("outbox %s (%s) cancelled: %s", message.id, message.kind, exc)
            return False
        except DeliveryError as exc:
            await self._failed(message, transport, str(exc), exc.retry_after, exc.permanent)
            return False
        except Exception as exc:
            log.exception("outbox %s (%s) failed unexpectedly", message.id, message.kind)
            await self._failed(message, transport, f"{type(exc).__name__}: {exc}", None, False)
            return False
        self._delivered.append(message)
        return True

    async def _failed(
        self,
        message: Outgoing,
        transport: Transport,
        error: str,
        retry_after: float | None,
        permanent: bool,
    ) -> None:
        limit = transport.max_attempts(message)
        if gives_up(attempts=message.attempt, max_attempts=limit, permanent=permanent):
            await asyncio.to_thread(service.failed, self.db, message.id, error=error)
            log.error(
                "outbox %s (%s to %s) failed: %s",
                message.id,
                message.kind,
                message.destination,
                error,
            )
            await transport.gave_up(message, error)
            return
        delay = retry_delay(message.attempt, retry_after=retry_after, jitter=self._jitter)
        at = self._clock() + timedelta(seconds=delay)
        await asyncio.to_thread(service.retry, self.db, message.id, error=error, at=at)
        self._worker.wake_in(delay)
        log.warning(
            "outbox %s (%s to %s) retried in %.1fs: %s",
            message.id,
            message.kind,
            message.destination,
            delay,
            error,
        )

    async def drain(self, within: float = 30.0) -> None:
        """Deliver until nothing is waiting (tests and the CLI)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while await asyncio.to_thread(service.waiting, self.db) or self._inflight:
            if loop.time() > deadline:
                raise TimeoutError("the outbox did not drain")
            self.poke()
            await asyncio.sleep(0.02)
