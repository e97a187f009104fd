"""The console's /reports and /runbooks pages through the real app, signed in."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from bot.app.settings import SHIPPED_RUNBOOKS, Settings
from storage.db import Database
from tests.postmortem.script import FrozenClock
from tests.postmortem.test_library import RULES, reviewed_library, seed_runs
from tests.postmortem.test_reports import _event, _incident, m
from tests.postmortem.test_series import MONDAY, at
from tests.postmortem.test_series import seed as seed_series
from tests.support import running_app
from tests.web.support import PEOPLE, VIEWER, sign_in

EVIL = '<script>alert("x")</script>'
SVG = "{http://www.w3.org/2000/svg}"


def charts_of(html: str) -> list[ET.Element]:
    """Every inline chart of a page, parsed (our own output, not outside input)."""
    found = []
    rest = html
    while "<svg" in rest:
        start = rest.index("<svg")
        end = rest.index("</svg>", start) + len("</svg>")
        found.append(ET.fromstring(rest[start:end]))  # noqa: S314
        rest = rest[end:]
    return found


async def test_reports_draw_the_period_as_charts(
    make_settings: Callable[..., Settings], db: Database
) -> None:
    seed_series(db)
    with db.write() as s:
        evil = _incident(
            s, severity="SEV3", service=EVIL, started=at(5), opened=at(5), status="open"
        )
        _event(s, evil, at(5), "incident.opened", "alertmanager")
    async with running_app(make_settings(people=PEOPLE)) as (_app, client):
        stranger = await client.get("/reports")
        await sign_in(client, VIEWER)
        page = await client.get("/reports", params={"since": "2026-10-05", "until": "2026-10-07"})
        bad = await client.get("/reports", params={"since": "2026-10-07", "until": "2026-10-01"})
        week = await client.get(
            "/reports", params={"since": "2026-10-05", "until": "2026-10-18", "bucket": "week"}
        )
    assert stranger.status_code == 303
    assert page.status_code == 200, page.text
    assert "<script>" not in page.text
    charts = charts_of(page.text)
    assert [c.get("aria-label") for c in charts] == [
        "Time to acknowledge per day",
        "Time to mitigate per day",
        "Time to resolve per day",
        "Incidents per service and severity",
        "Automation success rate per day",
    ]
    acknowledge = charts[0]
    median = acknowledge.find(f"{SVG}g[@data-series='median']")
    assert median is not None
    assert len(median.findall(f"{SVG}circle")) == 1  # Monday only; Tuesday has none
    services = {g.get("data-category") for g in charts[3].iter(f"{SVG}g") if g.get("data-category")}
    assert services == {"checkout", "payments", EVIL}
    rate = charts[4].find(f"{SVG}g[@data-series='success rate']")
    assert rate is not None
    assert len(rate.findall(f"{SVG}circle")) == 2
    targets = {t.text for t in charts[4].iter(f"{SVG}text")} & {"automation 60%", "runbook 85%"}
    assert targets == {"automation 60%", "runbook 85%"}
    assert "4 in all" in page.text

    assert bad.status_code == 422
    assert "the period must end after it starts" in bad.text
    assert week.status_code == 200
    assert charts_of(week.text)[0].get("aria-label") == "Time to acknowledge per week"
    assert MONDAY.isoformat()[:10] in page.text


def evil_runbooks(tmp_path: Path) -> Path:
    root = tmp_path / "more"
    root.mkdir()
    (root / "evil.md").write_text(
        "---\nid: evil\ntitle: 'Evil <img src=x onerror=alert(1)>'\n"
        "match: {alertname: Evil}\n---\n# Evil\n\n<script>alert(1)</script>\n\n"
        "[click](javascript:alert(1)) and **bold**\n"
    )
    return root


async def test_runbook_library_and_one_runbook(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(
        people=PEOPLE,
        runbook_dirs=[SHIPPED_RUNBOOKS, evil_runbooks(tmp_path)],
        alert_rule_files=[RULES],
    )
    async with running_app(settings) as (_app, client):
        await sign_in(client, VIEWER)
        library = await client.get("/runbooks")
        crash = await client.get("/runbooks/kube-pod-crash-looping")
        evil = await client.get("/runbooks/evil")
        missing = await client.get("/runbooks/nope")
    assert library.status_code == 200, library.text
    assert 'data-runbook="kube-pod-crash-looping"' in library.text
    assert 'alertname="KubePodCrashLooping"' in library.text.replace("&#34;", '"')
    assert "runs as suggest: this runbook version is not promoted yet" in library.text
    assert 'id="rules"' in library.text
    assert "KubeHpaMaxedOut" in library.text
    assert "<img src=x" not in library.text

    assert crash.status_code == 200, crash.text
    assert 'data-step="restarts"' in crash.text
    assert 'suggest <span class="muted">(this runbook version is not promoted yet)' in crash.text
    assert "<h1>KubePodCrashLooping</h1>" in crash.text  # the markdown, rendered

    assert evil.status_code == 200, evil.text
    assert "<script>alert(1)</script>" not in evil.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in evil.text
    assert "<strong>bold</strong>" in evil.text
    assert 'href="javascript:' not in evil.text
    assert "<img src=x" not in evil.text
    assert missing.status_code == 404


def row_of(html: str, runbook_id: str) -> str:
    """The library table's row of one runbook."""
    start = html.index(f'<tr data-runbook="{runbook_id}">')
    return html[start : html.index("</tr>", start)]


async def test_runbook_library_shows_targets_and_reviews(
    make_settings: Callable[..., Settings], db: Database, tmp_path: Path
) -> None:
    seed_runs(db)
    settings = make_settings(people=PEOPLE, runbook_dirs=[reviewed_library(tmp_path)])
    async with running_app(settings, clock=FrozenClock(m(120))) as (_app, client):
        await sign_in(client, VIEWER)
        library = await client.get("/runbooks")
        crash = await client.get("/runbooks/crash")
        demo = await client.get("/runbooks/demo")
    assert library.status_code == 200, library.text
    assert "a review older than 90 days is overdue" in library.text
    automation = library.text[library.text.index('<p id="automation">') :]
    automation = automation[: automation.index("</p>")]
    assert "1 of 2 finished runs succeeded, 50%" in automation
    assert "(target 60%)" in automation
    assert 'data-target="below"' in automation

    stale = row_of(library.text, "crash")
    assert "50% <span" in stale
    assert "(target 85%)" in stale
    assert 'data-target="below"' in stale
    assert "2026-05-01" in stale
    assert 'data-review="overdue"' in stale
    fresh = row_of(library.text, "demo")
    assert "2026-09-20" in fresh
    assert "data-review" not in fresh
    never = row_of(library.text, "orphan")
    assert "never" in never
    assert 'data-review="overdue"' in never

    assert crash.status_code == 200, crash.text
    assert 'data-review="overdue"' in crash.text
    assert "(target 85%)" in crash.text
    assert demo.status_code == 200, demo.text
    assert "2026-09-20" in demo.text
    assert "data-review" not in demo.text
