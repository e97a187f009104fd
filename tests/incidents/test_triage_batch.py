"""A payload's alerts are written in one flush and one statement of events: the
timeline still reads in the order triage decided, and each event names its alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot.events import EventKind
from storage.db import Database
from storage.tables import AlertRecord, TimelineEvent
from tests.support import alert, triage

T0 = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)


def timeline(db: Database) -> list[tuple[str, str, object]]:
    with db.session() as session:
        events = session.exec(select(TimelineEvent).order_by(col(TimelineEvent.id))).all()
        names = {r.id: r.fingerprint for r in session.exec(select(AlertRecord)).all()}
    return [(e.kind, e.text.split(" ")[0], names.get(e.data.get("alert_id"))) for e in events]


def test_a_payload_s_events_keep_their_order_and_name_their_alerts(db: Database) -> None:
    a, b, c = "a" * 16, "b" * 16, "c" * 16
    triage(
        db,
        [
            alert("Slow", fingerprint=a, labels={"severity": "warning"}),
            alert("Down", fingerprint=b, labels={"severity": "critical"}),
            alert("Slow", fingerprint=c, labels={"severity": "warning"}),
        ],
        at=T0,
    )
    resolved = alert("Slow", fingerprint=a, status="resolved", labels={"severity": "warning"})
    triage(db, [resolved, resolved], at=T0 + timedelta(minutes=1))

    assert timeline(db) == [
        (EventKind.INCIDENT_OPENED, "Opened", None),
        (EventKind.TRIAGE_DECIDED, "Triage:", None),
        (EventKind.ALERT_FIRED, "Slow", a),
        (EventKind.SEVERITY_CHANGED, "Severity", b),
        (EventKind.ALERT_FIRED, "Down", b),
        (EventKind.ALERT_FIRED, "Slow", c),
        (EventKind.ALERT_RESOLVED, "Slow", a),  # once: the second is the same alert again
    ]
