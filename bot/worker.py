"""A background task that does its work every tick, or at once when poked."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from storage.errors import SQLAlchemyError

log = logging.getLogger(__name__)


class Ticker:
    def __init__(self, name: str, tick: float, work: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self._tick = tick
        self._work = work
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.stopping = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name=self.name)

    def poke(self) -> None:
        """Work now; safe from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def stop(self) -> None:
        """Let the work in hand finish, then stop."""
        self.stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while not self.stopping:
            # asyncio.timeout, not wait_for: see TriageWorker._run.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._tick):
                    await self._wake.wait()
            self._wake.clear()
            if self.stopping:
                return
            try:
                await self._work()
            except SQLAlchemyError as exc:
                log.warning("%s paused a tick: database error: %s", self.name, exc)
            except Exception:
                log.exception("%s tick failed", self.name)
