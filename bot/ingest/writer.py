"""Durable ingest: every webhook is committed before it is answered, in shared commits.

Requests that arrive together wait for one transaction instead of one each (group
commit). A single writer thread owns the inserts, so SQLite sees one writer and
PostgreSQL one short transaction per batch. Triage happens after the commit, elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.errors import StorageUnavailableError
from storage.db import Database
from storage.errors import SQLAlchemyError
from storage.queries import insert_receipts

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    row: dict[str, Any]
    future: asyncio.Future[None]


_STOP = object()


def _settle(pendings: list[_Pending], error: BaseException | None) -> None:
    for pending in pendings:
        if pending.future.done():
            continue
        if error is None:
            pending.future.set_result(None)
        else:
            pending.future.set_exception(error)


class ReceiptWriter:
    """Commits receipts in batches from one thread; ``submit`` returns once committed."""

    def __init__(
        self,
        db: Database,
        *,
        batch_size: int = 256,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._batch_size = batch_size
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._busy_until = 0.0

    def under_load(self) -> bool:
        """True while webhooks arrive faster than one per commit (batches of several)."""
        return time.monotonic() < self._busy_until

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="receipt-writer", daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        """Commit what is queued, then stop (the join waits off the event loop)."""
        thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(thread.join, 30)
            self._thread = None

    async def submit(self, row: dict[str, Any]) -> None:
        if self._thread is None:
            raise RuntimeError("the receipt writer is not running")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put(_Pending(row, future))
        await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch: list[_Pending] = [first]
            while len(batch) < self._batch_size:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        if len(batch) > 1:
            self._busy_until = time.monotonic() + 0.25
        error: BaseException | None = None
        try:
            with self._db.urgent_write() as connection:
                insert_receipts(connection, [p.row for p in batch])
        except SQLAlchemyError as exc:
            log.error("could not store %d webhook receipt(s): %s", len(batch), exc)
            error = StorageUnavailableError("the database is unavailable")
        except Exception as exc:
            log.exception("could not store %d webhook receipt(s)", len(batch))
            error = exc
        loops: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
        for pending in batch:
            loops.setdefault(pending.future.get_loop(), []).append(pending)
        for loop, pendings in loops.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: its requests are gone
                loop.call_soon_threadsafe(_settle, pendings, error)
        if error is None and self._on_commit is not None:
            self._on_commit()
