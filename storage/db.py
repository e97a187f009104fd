"""The database: one engine per role and the one session factory everything uses.

SQLite is the embedded default. It allows one writer at a time, and several writers in
one process produce second-long stalls and ``database is locked``; so on SQLite every
write goes through a single pooled connection that starts ``BEGIN IMMEDIATE``, which makes
writers in a process queue in order instead of spinning. PostgreSQL uses one ordinary
pool for everything and row locks where work is claimed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session


def normalise_url(url: str) -> str:
    """Pick the drivers Fireline ships with: psycopg 3 for PostgreSQL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_engine(url: str, *, immediate: bool, synchronous: str, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


class WriteGate:
    """SQLite's one write connection, taken in turn, with ingest's commits first.

    A webhook is answered once its receipt commits, so every transaction a receipt batch
    queues behind (triage's, the projections', the outbox's) is webhook latency. Through
    the gate an urgent writer goes before the ordinary ones waiting, though never twice
    in a row while one waits, so triage cannot be starved by a steady stream of webhooks.
    """

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._held = False
        self._waiting = {True: 0, False: 0}  # urgent -> writers waiting
        self._last_urgent = False

    @property
    def queued(self) -> tuple[int, int]:
        """Writers waiting for their turn: (urgent, ordinary)."""
        with self._turn:
            return self._waiting[True], self._waiting[False]

    def _may_take(self, urgent: bool) -> bool:
        if self._held:
            return False
        others_wait = self._waiting[not urgent] > 0
        return not others_wait or (urgent != self._last_urgent)

    @contextmanager
    def hold(self, *, urgent: bool) -> Iterator[None]:
        with self._turn:
            self._waiting[urgent] += 1
            try:
                self._turn.wait_for(lambda: self._may_take(urgent))
            finally:
                self._waiting[urgent] -= 1
            self._held, self._last_urgent = True, urgent
        try:
            yield
        finally:
            with self._turn:
                self._held = False
                self._turn.notify_all()


class Database:
    """Engines and sessions for one database URL."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.url = normalise_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        if self.is_sqlite:
            if sqlite_synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
                raise ValueError(f"unknown SQLite synchronous mode {sqlite_synchronous!r}")
            sync = sqlite_synchronous.upper()
            self.engine = _sqlite_engine(self.url, immediate=False, synchronous=sync, pool_size=5)
            self.write_engine = _sqlite_engine(
                self.url, immediate=True, synchronous=sync, pool_size=1
            )
            self._gate: WriteGate | None = WriteGate()
        else:
            self.engine = create_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=10,
                max_overflow=10,
                connect_args={"connect_timeout": 5},
            )
            self.write_engine = self.engine
            self._gate = None  # row locks: writers do not queue for one connection

    @property
    def shown_url(self) -> str:
        """The URL with its password hidden, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session; nothing it changes is committed."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def _turn(self, *, urgent: bool) -> AbstractContextManager[None]:
        return self._gate.hold(urgent=urgent) if self._gate is not None else nullcontext()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        with (
            self._turn(urgent=False),
            Session(self.write_engine, expire_on_commit=False) as session,
        ):
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def urgent_waiting(self) -> bool:
        """Whether an urgent writer (a webhook's receipt) waits for the write lock: a long
        ordinary transaction should commit what it has and let it go first. Never on
        PostgreSQL, where writers do not queue for one connection."""
        return self._gate is not None and self._gate.queued[0] > 0

    @contextmanager
    def urgent_write(self) -> Iterator[Connection]:
        """A Core transaction that goes before the ordinary writes waiting (ingest's
        receipt commits, which webhooks wait on)."""
        with self._turn(urgent=True), self.write_engine.begin() as connection:
            yield connection

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()


Row = TypeVar("Row")

_HELD = "storage.held"  # session.info: the rows get_held found, by (model, key)


def get_held(session: Session, model: type[Row], key: int) -> Row | None:
    """``session.get`` that keeps what it found until the session ends.

    The session's identity map holds loaded rows weakly: a row read for one item of a
    batch is collected before the next item, and ``session.get`` selects it again. A
    projection's batch of 500 timeline events covers a few incidents, and without this
    it read each of them hundreds of times. A row that is not there is not remembered,
    so one added later in the transaction is found."""
    held: dict[tuple[type[Any], int], Any] = session.info.setdefault(_HELD, {})
    found = held.get((model, key))
    if found is None:
        found = session.get(model, key)
        if found is not None:
            held[(model, key)] = found
    return found


def sqlite_file_exists(url: str) -> bool:
    """Whether ``url`` names an SQLite file that is there (opening one would create it)."""
    database = make_url(url).database
    return database is not None and database != ":memory:" and Path(database).exists()
