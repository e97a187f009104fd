"""``fireline automation`` against the database the service uses."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bot.app.demo.run import demo_service
from bot.app.settings import Settings
from tests.automation.support import (
    kinds,
    post_alert,
    wait_for,
    web_down,
    write_runbook,
)
from tests.support import running_app

FIRELINE = Path(sys.executable).with_name("fireline")


def fireline(database_url: str, runbooks: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "FIRELINE_DATABASE_URL": database_url,
        "FIRELINE_RUNBOOK_DIRS": str(runbooks),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [str(FIRELINE), "automation", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_pause_from_the_cli_holds_the_running_service(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    runbooks = tmp_path / "runbooks"
    write_runbook(runbooks)
    settings = make_settings(
        runbook_dirs=[runbooks], http_allow=["127.0.0.0/8"], automation_tick="100ms"
    )
    promoted = fireline(database_url, runbooks, "promote", "web-heal", "--by", "U-LEAD")
    assert promoted.returncode == 0, promoted.stderr
    assert "promoted" in promoted.stdout
    paused = fireline(
        database_url, runbooks, "pause", "--reason", "game day", "--by", "U-IC", "--for", "1h"
    )
    assert paused.returncode == 0, paused.stderr
    shown = fireline(database_url, runbooks, "status")
    assert "game day" in shown.stdout
    assert "U-IC" in shown.stdout

    with demo_service() as (url, demo):
        async with running_app(settings) as (app, client):
            await post_alert(client, web_down(f"{url}/heal", fingerprint="f000000000000001"))
            await wait_for(lambda: "automation.paused" in kinds(app, 1), what="the pause")
            assert demo.heals == 0
            # Off the event loop: the running service must keep serving (and release its
            # SQLite write lock) while the command waits for it.
            resumed = await asyncio.to_thread(
                fireline, database_url, runbooks, "resume", "--by", "U-IC"
            )
            assert "lifted manual pause" in resumed.stdout
            await post_alert(client, web_down(f"{url}/heal", fingerprint="f000000000000002"))
            await wait_for(lambda: demo.heals == 1, what="the heal after resuming")

    wrong = fireline(
        database_url, runbooks, "pause", "--reason", "x", "--by", "U", "--scope", "runbook"
    )
    assert wrong.returncode == 2
    assert "a runbook pause names its runbook" in wrong.stderr
