"""The worker that turns new timeline events into chat's outbox rows.

Any part of the service may write to the timeline; this loop reads what committed since
it last looked (``service.handler`` through ``bot.outbox.projection``) and wakes the
outbox sender when it queued anything.
"""

from __future__ import annotations

import asyncio

from bot.chat import service
from bot.chat.service import ChatRules
from bot.clock import Clock, utcnow
from bot.outbox.projection import TimelineProjector
from bot.outbox.worker import OutboxSender
from storage.db import Database


class ChatProjector(TimelineProjector):
    def __init__(
        self,
        db: Database,
        rules: ChatRules,
        sender: OutboxSender,
        *,
        clock: Clock = utcnow,
        tick: float = 0.25,
    ) -> None:
        super().__init__(db, service.CURSOR, service.handler(rules), sender, clock=clock, tick=tick)
        self.rules = rules

    async def run_once(self) -> int:
        """Project a batch of new events, then redraw the cards a storm digest held in
        channels that have caught up since (returns how many events were read)."""
        read = await super().run_once()
        redrawn = await asyncio.to_thread(
            service.refresh_held_cards, self.db, self.rules, now=self._clock()
        )
        if redrawn:
            self.sender.poke()
        return read
