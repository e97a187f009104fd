from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app.settings import Settings
from storage import migrate
from storage.db import Database
from tests.support import postgres_available, postgres_schema

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated schema of its own on the real PostgreSQL; required in CI."""
    reason = postgres_available()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{reason}; PostgreSQL tests must run in CI")
        pytest.skip(reason)
    with postgres_schema() as url:
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
        yield url


def _truncate_all(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlmodel import SQLModel

    import storage.schema  # noqa: F401

    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file that every test copies, so migrations run once."""
    path = tmp_path_factory.mktemp("template") / "fireline.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database: a fresh SQLite file, or the real PostgreSQL."""
    if request.param == "sqlite":
        target = tmp_path / "fireline.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def make_settings(database_url: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"database_url": database_url, "migrate_on_start": False}
        values.update(overrides)
        return Settings(**values)

    return make
