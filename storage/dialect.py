"""Where SQLite and PostgreSQL differ: row locks, skipping locked rows, and upserts.

SQLite has neither row locks nor ``FOR UPDATE``: its writers are serialised by the
database-wide write lock that every write transaction takes, so "lock this row" and
"skip rows another worker holds" reduce to plain reads there.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")

POSTGRESQL = "postgresql"


def name(session: Session) -> str:
    return session.get_bind().dialect.name


def is_postgres(session: Session) -> bool:
    return name(session) == POSTGRESQL


def locked(session: Session, query: SelectOfScalar[T]) -> SelectOfScalar[T]:
    """``query`` taking row locks (``FOR UPDATE``) held to the end of the transaction."""
    return query.with_for_update() if is_postgres(session) else query


def claimed(session: Session, query: SelectOfScalar[T]) -> SelectOfScalar[T]:
    """``query`` locking its rows and passing over rows another transaction holds.

    How several replicas share one queue without handing the same row to two of them.
    """
    return query.with_for_update(skip_locked=True) if is_postgres(session) else query


def upsert(session: Session, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` for ``table`` that offers ``on_conflict_do_nothing``/``_do_update``."""
    return postgresql.insert(table) if is_postgres(session) else sqlite.insert(table)
