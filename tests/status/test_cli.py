"""``fireline status`` and ``fireline status post``, run for real against the database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bot.app.settings import Settings
from tests.support import alert, payload, running_app, settle

FIRELINE = Path(sys.executable).with_name("fireline")
CONFIG = """\
status:
  title: Acme status
  components:
    - {name: Checkout, services: [checkout]}
people:
  directory:
    - {id: carol, role: commander}
    - {id: alice, role: responder}
"""


def fireline(database_url: str, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "FIRELINE_DATABASE_URL": database_url,
        "FIRELINE_CONFIG": str(config),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [str(FIRELINE), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_show_and_post(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "fireline.yaml"
    config.write_text(CONFIG)
    async with running_app(make_settings(config=config)) as (app, client):
        body = payload([alert(labels={"severity": "error", "service": "checkout"})])
        assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
        await settle(app)

    shown = fireline(database_url, config, "status")
    assert shown.returncode == 0, shown.stderr
    assert "Acme status: Degraded" in shown.stdout
    assert "Checkout: Degraded" in shown.stdout

    refused = fireline(
        database_url, config, "status", "post", "1", "monitoring", "x", "--by", "alice"
    )
    assert refused.returncode == 1
    assert "alice is a responder; post_status needs commander" in refused.stderr
    bad = fireline(database_url, config, "status", "post", "1", "fixed", "x", "--by", "carol")
    assert (bad.returncode, "a phase is one of" in bad.stderr) == (1, True)

    posted = fireline(
        database_url, config, "status", "post", "1", "monitoring", "A fix is out.", "--by", "carol"
    )
    assert posted.returncode == 0, posted.stderr
    assert "status update #1 posted for incident #1" in posted.stdout
    shown = fireline(database_url, config, "status")
    assert "monitoring: A fix is out." in shown.stdout
