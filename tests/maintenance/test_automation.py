"""Automation under a maintenance window: diagnostics run, remediation waits for its end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlmodel import select

from bot.app.demo.run import demo_service
from bot.app.settings import Settings
from storage.tables_automation import RunbookRun
from tests.automation.support import events, kinds, post_alert, wait_for, web_down, write_runbook
from tests.support import running_app


async def test_remediation_is_held_until_the_window_ends(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    write_runbook(tmp_path / "runbooks")
    settings = make_settings(
        runbook_dirs=[tmp_path / "runbooks"],
        http_allow=["127.0.0.0/8"],
        automation_tick="100ms",
        maintenance_tick="100ms",
    )
    with demo_service() as (url, demo):
        async with running_app(settings) as (app, client):
            promoted = await client.post("/api/runbooks/web-heal/promote", json={"by": "U-LEAD"})
            assert promoted.status_code == 200, promoted.text
            window = await client.post(
                "/api/maintenance",
                json={"matchers": ['alertname="WebDown"'], "duration": "1h", "reason": "deploy"},
            )
            assert window.status_code == 201, window.text
            await post_alert(client, web_down(f"{url}/heal"))

            def run_status() -> str:
                with app.state.runtime.db.session() as session:
                    return ",".join(r.status for r in session.exec(select(RunbookRun)))

            await wait_for(lambda: run_status() == "held", what="the held run")
            assert "maintenance.held" in kinds(app, 1)
            assert "step.succeeded" in kinds(app, 1)  # the read-only announce step ran
            assert demo.heals == 0

            ended = await client.delete(f"/api/maintenance/{window.json()['id']}")
            assert ended.status_code == 200, ended.text
            await wait_for(lambda: demo.heals == 1, what="the heal after the window")
            released = next(e for e in events(app, 1) if e.kind == "maintenance.released")
            assert "1 held run(s) resumed" in released.text
