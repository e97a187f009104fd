"""What an incident's card shows of its alerts, drawn from a summary rather than every
alert record: counts, the earliest alert's labels and the first links any alert gave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.chat import service as chat_service
from storage.db import Database
from tests.support import alert, triage

T0 = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)


def test_the_card_counts_alerts_and_shows_the_earliest_labels_and_first_links(
    db: Database,
) -> None:
    later = T0 + timedelta(minutes=1)
    shown = alert("DiskFull", fingerprint="a" * 16, starts_at=T0, labels={"host": "db-1"})
    linked = alert("DiskFull", fingerprint="b" * 16, starts_at=later, labels={"host": "db-2"})
    linked["dashboardURL"] = "https://grafana.example.com/d/disk"
    gone = alert("DiskFull", fingerprint="c" * 16, starts_at=later, labels={"host": "db-3"})
    (incident_id,) = triage(db, [linked, gone, shown], at=later).opened
    resolved = alert(
        "DiskFull",
        fingerprint="c" * 16,
        starts_at=later,
        status="resolved",
        labels={"host": "db-3"},
    )
    triage(db, [resolved], at=later + timedelta(minutes=1))

    view = chat_service.view_of(db, incident_id, now=later + timedelta(minutes=2))

    assert view is not None
    assert (view.alerts_firing, view.alerts_total) == (2, 3)
    assert view.labels["host"] == "db-1"
    assert view.links == {"dashboard": "https://grafana.example.com/d/disk"}
