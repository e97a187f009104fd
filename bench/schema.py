"""A PostgreSQL schema of a bench run's own, so runs never see each other's rows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from storage.db import normalise_url


@contextmanager
def own_schema(url: str | None, *, prefix: str) -> Iterator[str | None]:
    """On PostgreSQL (``url`` given), the URL of a new schema named ``prefix`` and this
    process's id, dropped afterwards; None when there is no PostgreSQL to use."""
    if url is None:
        yield None
        return
    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()
