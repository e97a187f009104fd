"""A named background loop: one cycle per tick, or at once when poked.

Every loop in the service runs on this: it never dies silently (a failed cycle is logged
and retried with a growing pause), logs its ticks at DEBUG only, and stops cleanly. The one
exception, the receipt writer, must stay a thread for SQLite's single writer; it still
offers the same ``BackgroundWork`` surface, so the app starts and stops all of them alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from storage.errors import SQLAlchemyError

log = logging.getLogger(__name__)


def owner_name() -> str:
    """Who holds a claim or a lease: host, process and a random part, unique per run."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def backoff_delay(tick: float, failures: int, ceiling: float) -> float:
    """The pause after `failures` cycles in a row failed: the tick doubled, capped."""
    if failures <= 0:
        return tick
    return min(max(tick, 0.05) * float(2 ** min(failures, 30)), max(ceiling, tick))


class BackgroundWork(Protocol):
    """What the app starts at startup and stops at shutdown."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


class Workers:
    """Background work started in the order given and stopped in the reverse order.

    Only what was started is stopped, and one failing ``stop`` does not keep the rest
    running: it is logged and the others are still stopped.
    """

    def __init__(self, works: Iterable[BackgroundWork]) -> None:
        self._works = list(works)
        self._started: list[BackgroundWork] = []

    def start_all(self) -> None:
        for work in self._works:
            work.start()
            self._started.append(work)

    async def stop_all(self) -> None:
        while self._started:
            work = self._started.pop()
            try:
                await work.stop()
            except Exception:
                log.exception("stopping %s failed", type(work).__name__)


class Worker:
    def __init__(
        self,
        name: str,
        tick: float,
        cycle: Callable[[], Awaitable[object]],
        *,
        max_backoff: float = 60.0,
        run_at_start: bool = False,
        stop_grace: float | None = None,
    ) -> None:
        self.name = name
        self._tick = tick
        self._cycle = cycle
        self._max_backoff = max_backoff
        self._run_at_start = run_at_start
        self._stop_grace = stop_grace
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake_at: float | None = None
        self._cycled = asyncio.Condition()
        self.failures = 0
        self.cycles = 0
        self.stopping = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self.stopping = False
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name=self.name)

    def poke(self) -> None:
        """Run a cycle now; safe from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def wake_in(self, seconds: float) -> None:
        """Run the next cycle after `seconds` if that is sooner than the tick (loop thread)."""
        if self._loop is None:
            return
        when = self._loop.time() + max(0.0, seconds)
        if self._wake_at is None or when < self._wake_at:
            self._wake_at = when

    async def wait_cycles(self, count: int) -> None:
        """Return once `count` cycles have run in all (for callers that must see one done)."""
        async with self._cycled:
            await self._cycled.wait_for(lambda: self.cycles >= count)

    async def stop(self) -> None:
        """Let the cycle in hand finish, then stop; a wait in progress ends at once.

        With a ``stop_grace``, a cycle still running after that many seconds is cancelled.
        """
        self.stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            async with asyncio.timeout(self._stop_grace):
                await asyncio.shield(self._task)
        except TimeoutError:
            log.warning("%s did not stop within %ss; cancelling it", self.name, self._stop_grace)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        except asyncio.CancelledError:
            if not self._task.cancelled():
                raise
        self._task = None

    def _timeout(self) -> float:
        delay = backoff_delay(self._tick, self.failures, self._max_backoff)
        if self._wake_at is not None and self._loop is not None:
            delay = min(delay, max(0.0, self._wake_at - self._loop.time()))
        return delay

    async def _run(self) -> None:
        first = self._run_at_start
        while not self.stopping:
            if not first:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a
                # cancellation that arrives as the event is set; stop() would then hang.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._timeout()):
                        await self._wake.wait()
            first = False
            self._wake.clear()
            self._wake_at = None
            if self.stopping:
                return
            log.debug("%s cycle", self.name)
            try:
                await self._cycle()
            except SQLAlchemyError as exc:
                self.failures += 1
                log.warning("%s paused a tick: database error: %s", self.name, exc)
            except Exception:
                self.failures += 1
                log.exception("%s cycle failed (%d in a row)", self.name, self.failures)
            else:
                self.failures = 0
            async with self._cycled:
                self.cycles += 1
                self._cycled.notify_all()
