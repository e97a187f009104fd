"""Schema migrations through Alembic, driven from code (no alembic.ini to find).

Several replicas may start together on a fresh database, and each migrates on start; so
every upgrade runs inside ``schema_lock``, which lets one process migrate while the others
wait, then find the schema current and do nothing.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from storage.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")

LOCK_NAME = "fireline.schema_migrations"
# PostgreSQL advisory locks take a 64-bit key: the first 8 bytes of the name's SHA-256 as a
# signed integer (-6780801394429229544; pg_locks shows it as classid 0xa1e5c10e, objid
# 0xd8928618). One key per database, so schemas sharing a database migrate one at a time.
LOCK_KEY = int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True)
LOCK_TIMEOUT = timedelta(minutes=5)

_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout runs out

log = logging.getLogger(__name__)


class MigrationLockTimeout(Exception):
    """Another process held the schema migration lock for longer than the wait allowed."""

    def __init__(self, db: Database, timeout: timedelta) -> None:
        where = (
            "the SQLite database's write lock"
            if db.is_sqlite
            else f"PostgreSQL advisory lock {LOCK_KEY}"
        )
        super().__init__(
            f"waited {timeout.total_seconds():g}s for the schema migration lock "
            f"{LOCK_NAME!r} ({where}): another process is still migrating or holds it"
        )


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(
    db: Database,
    revision: str = "head",
    *,
    lock_timeout: timedelta = LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> str | None:
    """Bring the schema up to ``revision`` (the one head by default); safe to repeat, and
    safe to run from several processes at once (see ``schema_lock``).

    Returns the revision the database is at afterwards. Raises ``MigrationLockTimeout``
    when another process holds the lock for longer than ``lock_timeout``. ``on_wait`` is
    told, once, that the lock is taken and this process waits; by default that is logged.
    """
    config = _config()
    with schema_lock(db, lock_timeout, on_wait=on_wait) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    current = current_revisions(db)
    return min(current) if len(current) == 1 else ", ".join(sorted(current)) or None


@contextmanager
def schema_lock(
    db: Database,
    timeout: timedelta = LOCK_TIMEOUT,
    *,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[Connection]:
    """A connection in a transaction that holds the schema migration lock; committed when
    the block ends, rolled back if it raises, and the lock released with it.

    Alembic is handed this connection already in its transaction, so every revision and
    the version row run in that one transaction (on both databases DDL is transactional).
    On PostgreSQL the lock is therefore the transaction-level ``pg_advisory_xact_lock``:
    it is released by the very commit that makes the new schema visible (or by the
    rollback of a failed upgrade), so a waiter always reads the finished schema, and it
    cannot outlive the upgrade on a pooled connection the way a session lock whose unlock
    was skipped would. A revision that committed part-way (Alembic's ``autocommit_block``)
    would drop the lock early; revisions must not use one. On SQLite the lock is the
    database's write lock, which ``BEGIN IMMEDIATE`` takes at the start: it serialises
    every process writing the file, and the transaction reads the latest schema.

    A process that finds the lock taken says so through ``on_wait`` (or the log), then
    waits up to ``timeout``.
    """
    wait = on_wait or log.info
    if db.is_sqlite:
        with _sqlite_write_lock(db, timeout, wait) as connection:
            yield connection
        return
    with db.write_engine.connect() as connection, connection.begin():
        taken = connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        if not taken:
            wait(_waiting(timeout))
            _wait_for_advisory_lock(db, connection, timeout)
        yield connection


def _waiting(timeout: timedelta) -> str:
    return (
        f"another process holds the schema migration lock {LOCK_NAME!r}; "
        f"waiting up to {timeout.total_seconds():g}s"
    )


def _millis(timeout: timedelta) -> int:
    return max(1, int(timeout.total_seconds() * 1000))


def _wait_for_advisory_lock(db: Database, connection: Connection, timeout: timedelta) -> None:
    """``pg_advisory_xact_lock`` bounded by ``lock_timeout``, which is then put back so
    that it does not also bound the DDL that follows."""
    previous = connection.scalar(text("SELECT current_setting('lock_timeout')"))
    set_timeout = text("SELECT set_config('lock_timeout', :value, true)")
    connection.execute(set_timeout, {"value": f"{_millis(timeout)}ms"})
    try:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise MigrationLockTimeout(db, timeout) from exc
        raise
    connection.execute(set_timeout, {"value": previous})


@contextmanager
def _sqlite_write_lock(
    db: Database, timeout: timedelta, wait: Callable[[str], None]
) -> Iterator[Connection]:
    connection = _sqlite_begin(db.write_engine, busy_ms=0)
    if connection is None:
        wait(_waiting(timeout))
        connection = _sqlite_begin(db.write_engine, busy_ms=_millis(timeout))
        if connection is None:
            raise MigrationLockTimeout(db, timeout)
    with connection:
        yield connection
        connection.commit()


def _sqlite_begin(engine: Engine, *, busy_ms: int) -> Connection | None:
    """A connection of the write engine whose ``BEGIN IMMEDIATE`` took the write lock
    within ``busy_ms``, or None if another connection held it that long.

    A connection whose begin failed is closed rather than retried: SQLAlchemy does not
    reset its state when a ``begin`` listener raises.
    """
    connection = engine.connect()
    driver = connection.connection.driver_connection
    assert driver is not None
    usual = driver.execute("PRAGMA busy_timeout").fetchone()[0]
    driver.execute(f"PRAGMA busy_timeout={busy_ms}")
    try:
        connection.begin()
    except DBAPIError as exc:
        driver.execute(f"PRAGMA busy_timeout={usual}")
        connection.close()
        if getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY:
            return None
        raise
    driver.execute(f"PRAGMA busy_timeout={usual}")
    return connection


def head_revisions() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(_config()).get_heads())


def current_revisions(db: Database) -> frozenset[str]:
    with db.engine.connect() as connection:
        return frozenset(MigrationContext.configure(connection).get_current_heads())


def is_current(db: Database) -> bool:
    return current_revisions(db) == head_revisions()


def autogenerate(db: Database, message: str) -> None:
    """For developers: write a new revision from the difference to the tables."""
    config = _config()
    with db.write_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
