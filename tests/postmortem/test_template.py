"""The shipped template with the default zone, and a user template that replaces it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from bot.app.settings import Settings
from tests.postmortem.script import T0, FrozenClock, scripted_incident
from tests.support import running_app


async def test_default_zone_shows_utc_only(make_settings: Callable[..., Settings]) -> None:
    clock = FrozenClock(T0)
    async with running_app(make_settings(), clock=clock) as (app, client):
        incident_id = await scripted_incident(app, client, clock)
        draft = (await client.get(f"/api/incidents/{incident_id}/postmortem")).text
    assert "| Time (UTC) | Event | Actor | What happened |" in draft
    assert "CET" not in draft
    assert "CEST" not in draft


async def test_user_template_replaces_the_shipped_one(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    template = tmp_path / "ours.md.j2"
    template.write_text(
        "# {{ pm.incident.title }}\n"
        "TTR {{ dur(pm.key_times.time_to_resolve) }}; {{ pm.timeline | length }} events\n"
        "{% for p in pm.went_badly %}* {{ p }}\n{% endfor %}"
    )
    clock = FrozenClock(T0)
    settings = make_settings(postmortem_template=template)
    async with running_app(settings, clock=clock) as (app, client):
        incident_id = await scripted_incident(app, client, clock)
        first = (await client.get(f"/api/incidents/{incident_id}/postmortem")).text
        template.write_text("{% include 'postmortem.md.j2' %}")
        stat = template.stat()
        os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        second = (await client.get(f"/api/incidents/{incident_id}/postmortem")).text
        template.unlink()
        missing = await client.get(f"/api/incidents/{incident_id}/postmortem")
    assert first.splitlines()[:2] == ["# Checkout 5xx above 5%", "TTR 47m; 24 events"]
    assert "* Escalated twice before acknowledgement" in first
    assert second.startswith("# Post-mortem: #1 Checkout 5xx above 5%")
    assert missing.status_code == 500
    assert "FIRELINE_POSTMORTEM_TEMPLATE" in missing.json()["detail"]
