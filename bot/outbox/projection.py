"""Timeline projections: turn committed timeline events into outbox rows, each exactly once.

A projection has a name and a handler. ``project`` reads the events past the projection's
cursor and calls the handler for each inside the transaction that moves the cursor, so the
rows a handler queues commit together with the new position: an event is projected once,
whoever wrote it, and none is skipped whatever order transactions commit in
(``storage.queries_chat.events_after``). Chat's cards and threads are one projection; any
other feature that reacts to what happened (an acknowledgement from any path, a
resolution) can be another, with a cursor of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from bot.clock import Clock, utcnow
from bot.outbox.worker import OutboxSender
from bot.worker import Worker
from storage import queries_chat
from storage.db import Database
from storage.tables import TimelineEvent
from storage.tables_chat import ChatCursor

EventHandler = Callable[[Session, TimelineEvent, datetime], None]
"""(session, event, now): queue whatever the event calls for, in the projection's transaction."""


def start_cursor(db: Database, name: str) -> None:
    """The first time a projection runs, start from now: events from before are not
    projected. Called at startup, before anything can write to the timeline."""
    with db.write() as session:
        if session.get(ChatCursor, name) is None:
            txid, last = queries_chat.last_position(session)
            session.add(ChatCursor(name=name, last_event_id=last, last_txid=txid))


YIELD_AFTER = 0.02  # seconds a batch runs before it gives way to a waiting webhook


def project(
    db: Database, name: str, handle: EventHandler, *, now: datetime, batch: int = 500
) -> int:
    """Project one batch of new events through ``handle``; returns how many were handled.

    On SQLite the batch holds the one write lock, and a webhook's receipt waits behind
    it: once it has run ``YIELD_AFTER`` with a receipt waiting, it commits what it has
    handled and the cursor stops there. With nobody waiting the whole batch goes in one
    transaction, so a storm's alerts still fold into one message."""
    with db.session() as session:  # most cycles find nothing new: no write lock for them
        if not queries_chat.events_waiting(session, name):
            return 0
    with db.write() as session:
        cursor = queries_chat.lock_cursor(session, name)
        if cursor is None:
            cursor = ChatCursor(name=name, last_event_id=0)
            session.add(cursor)
            session.flush()
        events = queries_chat.events_after(
            session, txid=cursor.last_txid, event_id=cursor.last_event_id, limit=batch
        )
        handled = 0
        started = time.monotonic()
        for event in events:
            handle(session, event, now)
            handled += 1
            if time.monotonic() - started > YIELD_AFTER and db.urgent_waiting():
                break
        if handled:
            last = events[handled - 1]
            assert last.id is not None
            cursor.last_event_id = last.id
            cursor.last_txid = last.txid or 0
            session.add(cursor)
        return handled


class TimelineProjector:
    """The background loop of one projection; wakes the outbox sender when it queued."""

    def __init__(
        self,
        db: Database,
        name: str,
        handle: EventHandler,
        sender: OutboxSender,
        *,
        clock: Clock = utcnow,
        tick: float = 0.25,
    ) -> None:
        self.db = db
        self.name = name
        self.handle = handle
        self.sender = sender
        self._clock = clock
        self._worker = Worker(f"{name}-projector", tick, self._project_all)

    def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    def poke(self) -> None:
        self._worker.poke()

    async def run_once(self) -> int:
        """Project one batch of new events; returns how many were read."""
        read = await asyncio.to_thread(project, self.db, self.name, self.handle, now=self._clock())
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
                raise TimeoutError(f"the {self.name} projector did not catch up")
        await self.sender.drain(within=max(0.1, deadline - loop.time()))
        while await self.run_once():  # delivering may have written to the timeline
            await self.sender.drain(within=max(0.1, deadline - loop.time()))
