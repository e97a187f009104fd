"""Every bad setting or unreachable dependency: one message naming the variable, exit 2,
no traceback; through the real command, as an operator meets it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CASES = [
    ({"FIRELINE_SECRETS": "{bad"}, "FIRELINE_SECRETS: not valid JSON"),
    ({"FIRELINE_DATABASE_URL": "notaurl"}, "FIRELINE_DATABASE_URL: not a database URL"),
    ({"FIRELINE_DATABASE_URL": "mysql://x/y"}, "FIRELINE_DATABASE_URL: Fireline runs on SQLite"),
    ({"FIRELINE_DATABASE_URL": "postgresql+asyncpg://h/db"}, "driver 'postgresql+asyncpg'"),
    # Nothing listens on port 1: the host is down.
    ({"FIRELINE_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}, "Connection refused"),
    ({"FIRELINE_DATABASE_URL": "sqlite:////nonexistent/dir/fireline.db"}, "unable to open"),
    ({"SLACK_BOT_TOKEN": "not-a-token"}, "FIRELINE_SLACK_BOT_TOKEN: a Slack bot token"),
    ({"FIRELINE_SLACK_APP_TOKEN": "xoxb-1"}, "FIRELINE_SLACK_APP_TOKEN: a Slack app-level"),
    ({"FIRELINE_ALERTMANAGER_URL": "alertmanager:9093"}, "FIRELINE_ALERTMANAGER_URL:"),
    ({"FIRELINE_PROMETHEUS_URL": "ftp://prom"}, "FIRELINE_PROMETHEUS_URL:"),
    ({"FIRELINE_PORT": "eighty"}, "FIRELINE_PORT:"),
    ({"FIRELINE_RUNBOOK_REVIEW_AGE": "12h"}, "FIRELINE_RUNBOOK_REVIEW_AGE: a review age is at"),
    ({"FIRELINE_RUNBOOK_REVIEW_AGE": "quarterly"}, "FIRELINE_RUNBOOK_REVIEW_AGE: 'quarterly'"),
]


def run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FIRELINE_", "SLACK_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, "COLUMNS": "200", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("env", "says"), CASES, ids=[next(iter(e)) for e, _ in CASES])
def test_a_bad_setting_is_one_message_naming_it(
    env: dict[str, str], says: str, tmp_path: Path
) -> None:
    done = run(env, tmp_path, "db", "upgrade")
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0  # one line


def test_serve_checks_the_database_before_it_starts(tmp_path: Path) -> None:
    env = {"FIRELINE_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}
    done = run(env, tmp_path, "serve", "--port", "18099")
    assert done.returncode == 2
    assert "FIRELINE_DATABASE_URL: cannot use" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_password_never_reaches_the_message(tmp_path: Path) -> None:
    env = {"FIRELINE_DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:1/x"}
    done = run(env, tmp_path, "db", "upgrade")
    assert done.returncode == 2
    assert "hunter2" not in done.stderr


def test_a_database_not_yet_migrated_says_how_to_migrate(tmp_path: Path) -> None:
    env = {"FIRELINE_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    done = run(env, tmp_path, "incidents", "list")
    assert done.returncode == 2
    assert "run `fireline db upgrade` first" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("option", "value"), [("--status", "bogus"), ("--severity", "SEV9")])
def test_the_cli_refuses_what_the_api_refuses(option: str, value: str, tmp_path: Path) -> None:
    env = {"FIRELINE_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"}
    assert run(env, tmp_path, "db", "upgrade").returncode == 0
    done = run(env, tmp_path, "incidents", "list", option, value)
    assert done.returncode == 2
    assert f"{value!r} is not one of" in done.stderr
    ok = run(env, tmp_path, "incidents", "list", "--status", "OPEN", "--severity", "sev1")
    assert ok.returncode == 0, ok.stderr


def test_simulate_says_what_a_file_is_not(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# not a payload\n")
    done = run({}, tmp_path, "simulate", str(readme))
    assert done.returncode == 2
    assert "not an Alertmanager webhook body (JSON)" in done.stderr
    assert ": : " not in done.stderr
