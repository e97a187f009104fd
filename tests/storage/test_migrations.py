"""The migration history stays one line, and databases at the old branch heads upgrade."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import insert
from typer.testing import CliRunner

from bot.app.cli import app as cli
from storage import migrate
from storage.db import Database
from storage.tables import Incident, TimelineEvent

OLD_HEADS = ("0002_runbooks", "0003_automation", "0004_escalation", "0005_followups", "0006_slack")


def test_history_has_exactly_one_head() -> None:
    heads = ScriptDirectory.from_config(migrate._config()).get_heads()
    assert len(heads) == 1, f"migrations branch into {sorted(heads)}: add a merge revision"


def _assigned(db: Database, incident_id: int, user: str | None, n: int) -> None:
    now = datetime(2026, 1, 1, 0, n, tzinfo=UTC)
    data = {"user": user} if user else {}
    with db.engine.begin() as connection:
        connection.execute(
            insert(TimelineEvent.__table__).values(  # type: ignore[attr-defined]
                incident_id=incident_id,
                kind="commander.assigned",
                text="assigned",
                actor="test",
                at=now,
                recorded_at=now,
                data=data,
            )
        )


def test_database_at_the_old_heads_upgrades_and_backfills_the_commander(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        for head in OLD_HEADS:
            migrate.upgrade(db, head)
        assert migrate.current_revisions(db) == frozenset(OLD_HEADS)
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO incident (title, status, severity, labels, started_at, opened_at,"
                " reopen_count, updated_at) VALUES"
                " ('twice', 'open', 'SEV1', '{}', '2026-01-01', '2026-01-01', 0, '2026-01-01'),"
                " ('never', 'open', 'SEV2', '{}', '2026-01-01', '2026-01-01', 0, '2026-01-01')"
            )
            ids = [
                row[0] for row in connection.exec_driver_sql("SELECT id FROM incident ORDER BY id")
            ]
        twice, never = ids
        _assigned(db, twice, "alice", 1)
        _assigned(db, twice, "bob", 2)

        reached = migrate.upgrade(db)

        assert reached == min(migrate.head_revisions())
        assert migrate.is_current(db)
        with db.session() as session:
            assert session.get(Incident, twice).commander == "bob"  # type: ignore[union-attr]
            assert session.get(Incident, never).commander is None  # type: ignore[union-attr]
    finally:
        db.dispose()


def test_db_upgrade_prints_the_one_head_it_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRELINE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    (head,) = migrate.head_revisions()
    assert f"database at revision {head}" in result.output
    assert "," not in result.output
