"""``fireline oncall`` against a migrated database with an override stored in it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.app.cli import app
from storage.db import Database
from storage.tables_escalation import OnCallOverride

CONFIG = """\
schedules:
  - name: primary
    zone: America/New_York
    layers:
      - {members: [ann, bob], length: weekly, handoff: "09:00", start: 2026-03-02}
escalation: {}
"""


def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, *args: str) -> Result:
    config = tmp_path / "fireline.yml"
    config.write_text(CONFIG)
    monkeypatch.setenv("FIRELINE_CONFIG", str(config))
    monkeypatch.setenv("FIRELINE_DATABASE_URL", database_url)
    return CliRunner().invoke(app, ["oncall", *args])


def test_oncall_at_a_time_after_the_dst_change(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> None:
    result = run(
        monkeypatch, tmp_path, database_url, "primary", "--at", "2026-03-09T13:00Z", "--json"
    )
    assert result.exit_code == 0, result.output
    (answer,) = json.loads(result.stdout)
    assert (answer["user"], answer["until"]) == ("bob", "2026-03-16T13:00:00+00:00")


def test_oncall_merges_overrides_from_the_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, db: Database
) -> None:
    with db.write() as session:
        session.add(
            OnCallOverride(
                schedule="primary",
                user="zoe",
                start_at=datetime(2026, 3, 9, 12, tzinfo=UTC),
                end_at=datetime(2026, 3, 9, 14, tzinfo=UTC),
                created_by="ann",
                created_at=datetime(2026, 3, 1, tzinfo=UTC),
            )
        )
    result = run(monkeypatch, tmp_path, database_url, "--at", "2026-03-09T13:30:00Z", "--json")
    assert result.exit_code == 0, result.output
    (answer,) = json.loads(result.stdout)
    assert (answer["user"], answer["source"]) == ("zoe", "override")


def test_unknown_schedule_and_bad_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> None:
    assert run(monkeypatch, tmp_path, database_url, "nope").exit_code == 1
    assert run(monkeypatch, tmp_path, database_url, "--at", "tuesday").exit_code == 2


def test_overrides_are_listed_and_removed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, db: Database
) -> None:
    with db.write() as session:
        row = OnCallOverride(
            schedule="primary",
            user="zoe",
            start_at=datetime(2099, 3, 9, 12, tzinfo=UTC),
            end_at=datetime(2099, 3, 9, 14, tzinfo=UTC),
            created_by="ann",
            created_at=datetime(2026, 3, 1, tzinfo=UTC),
        )
        session.add(row)
        session.flush()
        override_id = row.id
    run(monkeypatch, tmp_path, database_url)  # sets the environment
    listed = CliRunner().invoke(app, ["overrides", "list", "primary", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(o["id"], o["user"]) for o in json.loads(listed.stdout)] == [(override_id, "zoe")]
    removed = CliRunner().invoke(app, ["overrides", "remove", str(override_id), "--by", "ann"])
    assert removed.exit_code == 0, removed.output
    assert "override" in removed.stdout
    assert "zoe" in removed.stdout
    assert (
        json.loads(CliRunner().invoke(app, ["overrides", "list", "primary", "--json"]).stdout) == []
    )
    again = CliRunner().invoke(app, ["overrides", "remove", str(override_id)])
    assert again.exit_code == 1
    assert CliRunner().invoke(app, ["overrides", "list", "nope"]).exit_code == 1


def test_a_swap_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, db: Database
) -> None:
    run(monkeypatch, tmp_path, database_url)  # sets the environment
    # Weekly from Monday 2 March 2026, 09:00 New York: ann, then bob.
    args = ["overrides", "swap", "primary", "ann", "2026-03-03T12:00:00-05:00"]
    wrong = CliRunner().invoke(app, [*args, "ann", "2026-03-10T12:00:00-04:00"])
    assert wrong.exit_code == 1
    assert "bob's shift in primary, not ann's" in wrong.output
    made = CliRunner().invoke(app, [*args, "bob", "2026-03-10T12:00:00-04:00", "--by", "ann"])
    assert made.exit_code == 0, made.output
    assert "bob covers 2026-03-02 14:00 to 2026-03-09 13:00 UTC" in made.stdout
    assert "ann covers 2026-03-09 13:00 to 2026-03-16 13:00 UTC" in made.stdout
    bad = CliRunner().invoke(app, [*args, "bob", "next tuesday"])
    assert bad.exit_code == 2
