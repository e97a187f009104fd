"""Schema migrations through Alembic, driven from code (no alembic.ini to find)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(db: Database, revision: str = "head") -> str | None:
    """Bring the schema up to ``revision`` (the one head by default); safe to repeat.

    Returns the revision the database is at afterwards.
    """
    config = _config()
    with db.write_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    current = current_revisions(db)
    return min(current) if len(current) == 1 else ", ".join(sorted(current)) or None


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
