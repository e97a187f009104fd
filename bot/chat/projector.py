"""The worker that turns new timeline events into chat's outbox rows.

Any part of the service may write to the timeline; this loop reads what committed since
it last looked (``service.project``) and wakes the outbox sender when it queued anything.
"""

from __future__ import annotations

import asyncio

from bot.chat import service
from bot.chat.service import ChatRules
from bot.clock import Clock, utcnow
from bot.outbox.worker import OutboxSender
from bot.worker import Worker
from storage.db import Database


class ChatProjector:
    def __init__(
        self,
        db: Database,
        rules: ChatRules,
        sender: OutboxSender,
        *,
        clock: Clock = utcnow,
        tick: float = 0.25,
    ) -> None:
        self.db = db
        self.rules = rules
        self.sender = sender
        self._clock = clock
        self._worker = Worker("chat-projector", tick, self._project_all)

    def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    def poke(self) -> None:
        self._worker.poke()

    async def run_once(self) -> int:
        """Project one batch of new events; returns how many were read."""
        read = await asyncio.to_thread(service.project, self.db, self.rules, now=self._clock())
        if read:
            self.sender.poke()
        return read

    async def _project_all(self) -> None:
        while await self.run_once() and not self._worker.stopping:
            pass

    async def drain(self, within: float = 30.0) -> None:
        """Project and deliver until nothing is left (tests and the CLI)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while await self.run_once():
            if loop.time() > deadline:
                raise TimeoutError("the chat projector did not catch up")
        await self.sender.drain(within=max(0.1, deadline - loop.time()))
        while await self.run_once():  # delivering may have written to the timeline
            await self.sender.drain(within=max(0.1, deadline - loop.time()))
