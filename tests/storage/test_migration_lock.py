"""Replicas that migrate together: one upgrades while the others wait on the schema
migration lock, then find the schema current; a wait past the timeout names the lock."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from bot.app.cli import app as cli
from storage import migrate
from storage.db import Database
from tests.support import wait_until

WAITING = "holds the schema migration lock"


def start_upgrade(url: str, log: Path) -> subprocess.Popen[bytes]:
    """``fireline db upgrade`` in a process of its own, its output in ``log``."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "FIRELINE_DATABASE_URL": url,
        "FIRELINE_MIGRATE_LOCK_TIMEOUT": "120s",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def reaped() -> Iterator[list[subprocess.Popen[bytes]]]:
    """A list for started processes; any still running when the block ends are killed."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()


def assert_at_the_one_head(db: Database) -> None:
    assert migrate.is_current(db)
    with db.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM alembic_version")) == 1


def test_three_processes_upgrading_at_once_all_reach_the_one_head(
    empty_url: str, tmp_path: Path
) -> None:
    logs = [tmp_path / f"upgrade-{n}.log" for n in range(3)]
    with reaped() as processes:
        processes.extend([start_upgrade(empty_url, log) for log in logs])
        codes = [process.wait(timeout=180) for process in processes]

    outputs = [log.read_text() for log in logs]
    assert codes == [0, 0, 0], outputs
    (head,) = migrate.head_revisions()
    for output in outputs:
        assert f"database at revision {head}" in output
    db = Database(empty_url)
    try:
        assert_at_the_one_head(db)
    finally:
        db.dispose()


def waits_on_the_advisory_lock(db: Database, application_name: str) -> bool:
    """Whether the session named ``application_name`` waits for the migration lock."""
    key = migrate.LOCK_KEY & 0xFFFFFFFFFFFFFFFF
    with db.engine.connect() as connection:
        waiting = connection.scalar(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND NOT l.granted"
                " AND l.classid::bigint = :high AND l.objid::bigint = :low"
                " AND a.application_name = :name"
            ),
            {"high": key >> 32, "low": key & 0xFFFFFFFF, "name": application_name},
        )
    return bool(waiting)


def test_an_upgrade_waits_while_the_lock_is_held_then_migrates(
    empty_url: str, tmp_path: Path
) -> None:
    holder = Database(empty_url)
    log = tmp_path / "upgrade.log"
    url = empty_url
    name = f"fireline-waiter-{uuid.uuid4().hex[:8]}"
    if holder.is_postgres:
        url = f"{empty_url}&application_name={name}"
    try:
        with reaped() as processes:
            with migrate.schema_lock(holder):
                process = start_upgrade(url, log)
                processes.append(process)
                wait_until(lambda: WAITING in log.read_text(), what="the upgrade to find it held")
                if holder.is_postgres:
                    wait_until(
                        lambda: waits_on_the_advisory_lock(holder, name),
                        what="the upgrade to wait on the advisory lock",
                    )
                assert process.poll() is None, log.read_text()
                assert migrate.current_revisions(holder) == frozenset()

            assert process.wait(timeout=120) == 0, log.read_text()
        assert_at_the_one_head(holder)
    finally:
        holder.dispose()


def test_an_upgrade_that_waits_too_long_names_the_lock_and_changes_nothing(
    empty_url: str,
) -> None:
    holder, waiter = Database(empty_url), Database(empty_url)
    told: list[str] = []
    try:
        with migrate.schema_lock(holder):
            with pytest.raises(migrate.MigrationLockTimeout, match=migrate.LOCK_NAME):
                migrate.upgrade(
                    waiter, lock_timeout=timedelta(milliseconds=200), on_wait=told.append
                )
            assert len(told) == 1
            assert WAITING in told[0]
        assert migrate.current_revisions(waiter) == frozenset()

        migrate.upgrade(waiter, lock_timeout=timedelta(milliseconds=200), on_wait=told.append)

        assert len(told) == 1
        assert_at_the_one_head(waiter)
        if waiter.is_sqlite:
            with waiter.write_engine.connect() as connection:
                driver = connection.connection.driver_connection
                assert driver is not None
                assert driver.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    finally:
        holder.dispose()
        waiter.dispose()


def test_db_upgrade_gives_up_after_the_lock_timeout(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRELINE_DATABASE_URL", empty_url)
    monkeypatch.setenv("FIRELINE_MIGRATE_LOCK_TIMEOUT", "0.2s")
    holder = Database(empty_url)
    try:
        with migrate.schema_lock(holder):
            result = CliRunner().invoke(cli, ["db", "upgrade"])
    finally:
        holder.dispose()
    assert result.exit_code == 1, result.output
    assert migrate.LOCK_NAME in result.output
    assert "FIRELINE_MIGRATE_LOCK_TIMEOUT" in result.output
