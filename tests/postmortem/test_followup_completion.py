"""Follow-ups' completion against the 100% goal: the pure figure, the API's summary, the
report's lines and the console's reports page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app.settings import Settings
from bot.postmortem.reports import FollowupCompletion, report_lines, summary_report
from tests.support import alert, payload, running_app, settle

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_completion_counts_done_and_overdue() -> None:
    figure = FollowupCompletion.of(
        [
            ("done", NOW - timedelta(days=3)),
            ("open", NOW - timedelta(days=1)),  # overdue
            ("open", NOW + timedelta(days=5)),
            ("open", None),
        ],
        now=NOW,
    )
    assert (figure.total, figure.done, figure.overdue, figure.completion_rate) == (4, 1, 1, 0.25)
    assert FollowupCompletion.of([], now=NOW).completion_rate is None


async def test_the_report_and_the_console_show_completion_against_the_goal(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with running_app(make_settings(runbook_dirs=[tmp_path])) as (app, client):
        body = payload([alert(labels={"severity": "warning"})])
        assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
        await settle(app)
        now = datetime.now(UTC)
        for text, due in (("a", now - timedelta(days=1)), ("b", now + timedelta(days=3))):
            added = await client.post(
                "/api/incidents/1/followups", json={"text": text, "due": due.isoformat()}
            )
            assert added.status_code in (200, 201), added.text
        assert (await client.post("/api/followups/2/done", json={})).status_code == 200
        summary = (await client.get("/api/reports/summary")).json()
        assert summary["followups"] == {
            "total": 2,
            "done": 1,
            "overdue": 1,
            "completion_rate": 0.5,
            "target": 1.0,
        }
        lines = report_lines(summary_report(app.state.runtime.db))
        assert "Follow-ups: 1 of 2 done, 1 overdue, completion 50% (target 100%: below)" in lines
        page = (await client.get("/reports")).text
        assert "<strong>1 of 2 done</strong> (50% against the goal of 100%)" in page
