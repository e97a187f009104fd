"""``fireline init``: a starter config that loads, pages its operator, and keeps its
secrets private; bad options are named."""

from __future__ import annotations

import asyncio
import hashlib
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.settings import Settings, load_settings
from bot.app.starter import Operator, check_options, render
from tests.notify.smtp import smtp_server
from tests.support import alert, payload, running_app, settle

runner = CliRunner()


@pytest.mark.parametrize(
    ("email", "slack", "methods"),
    [
        ("ada@example.com", None, ["mail"]),
        (None, "U012ADA", ["slack"]),
        ("ada@example.com", "U012ADA", ["slack", "mail"]),
    ],
)
def test_the_starter_loads_and_pages_its_operator(
    tmp_path: Path, email: str | None, slack: str | None, methods: list[str]
) -> None:
    starter = render(Operator("Ada Lovelace", email, slack, "Europe/London"), config_path="x")
    path = tmp_path / "fireline.yaml"
    path.write_text(starter.config)
    settings = load_settings(config=path, database_url="sqlite://")
    (ada,) = settings.people.directory
    assert ada.id == "ada-lovelace"
    assert [m.name for m in ada.contact_methods] == methods
    assert ada.notification_rules is not None
    assert [s.method for s in ada.notification_rules.high] == methods
    (policy,) = settings.escalation.compiled()
    assert str(policy.levels[0].targets[0]) == "schedule:primary"
    assert settings.schedules[0].layers[0].members == ["ada-lovelace"]
    (token,) = settings.people.tokens
    assert token.sha256 == hashlib.sha256(starter.token.encode()).hexdigest()
    assert starter.token not in starter.config


def test_bad_options_are_named() -> None:
    problems = check_options(Operator("x", "not-an-address", "alice", "Mars/Olympus"))
    assert [p.split(":")[0] for p in problems] == ["--email", "--slack", "--timezone"]
    assert check_options(Operator("x")) == [
        "give --email or --slack (or both): how Fireline reaches you"
    ]


def test_the_command_writes_both_files_once(tmp_path: Path) -> None:
    args = ["init", "--name", "Ada", "--email", "ada@example.com", "--dir", str(tmp_path)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    env = tmp_path / "fireline.env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    values = dict(
        line.split("=", 1) for line in env.read_text().splitlines() if not line.startswith("#")
    )
    assert values["FIRELINE_CONFIG"] == str((tmp_path / "fireline.yaml").resolve())
    assert len(values["FIRELINE_LINK_SECRET"]) >= 32
    (line,) = [x for x in first.output.splitlines() if "token (shown once)" in x]
    token = line.rsplit(" ", 1)[1]
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert digest in (tmp_path / "fireline.yaml").read_text()

    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert "--force" in again.output
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0

    bad = runner.invoke(
        app, ["init", "--name", "Ada", "--email", "nope", "--dir", str(tmp_path / "b")]
    )
    assert bad.exit_code == 2
    assert "--email" in bad.output
    assert not (tmp_path / "b" / "fireline.yaml").exists()


async def test_a_new_install_emails_its_operator_on_the_first_alert(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    starter = render(Operator("Ada", "ada@example.com"), config_path="x")
    config = tmp_path / "fireline.yaml"
    config.write_text(starter.config)
    with smtp_server() as box:
        settings = make_settings(
            config=config,
            migrate_on_start=True,
            runbook_dirs=[tmp_path],
            smtp_host=box.host,
            smtp_port=box.port,
            smtp_starttls=False,
        )
        async with running_app(settings) as (app_, client):
            body = payload([alert(labels={"severity": "critical"})])
            assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
            await settle(app_)
            for _ in range(300):
                if len(box.to("ada@example.com")) >= 2:  # the test message, then the page
                    break
                await asyncio.sleep(0.05)
            subjects = [m["Subject"] for m in box.to("ada@example.com")]
    assert any(s.startswith("[SEV1] HighErrorRate") for s in subjects), subjects


def test_serve_without_a_config_file_suggests_init(tmp_path: Path) -> None:
    from bot.app.cli import first_start_hint

    bare = Settings(database_url="sqlite://")
    assert "fireline init" in (first_start_hint(bare) or "")
    config = tmp_path / "fireline.yaml"
    config.write_text(render(Operator("Ada", "ada@example.com"), config_path="x").config)
    assert first_start_hint(Settings(config=config, database_url="sqlite://")) is None
