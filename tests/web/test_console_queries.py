"""The console's list and timeline queries on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.events import EventKind
from bot.incidents import service as incidents
from bot.web.incident_view import timeline_window
from storage import queries
from storage.db import Database
from storage.queries_console import IncidentFilter
from storage.tables import AlertGroup, AlertRecord, Incident

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _incident(db: Database, title: str, **fields: object) -> int:
    values: dict[str, object] = {
        "status": "open",
        "severity": "SEV3",
        "service": None,
        "started_at": T0,
        "opened_at": T0,
        "updated_at": T0,
    }
    values.update(fields)
    with db.write() as session:
        incident = Incident(title=title, **values)  # type: ignore[arg-type]
        session.add(incident)
        session.flush()
        assert incident.id is not None
        return incident.id


def _alert(db: Database, incident_id: int, labels: dict[str, str]) -> None:
    with db.write() as session:
        group = AlertGroup(receiver="r", group_key=f"g{incident_id}", created_at=T0)
        session.add(group)
        session.flush()
        assert group.id is not None
        session.add(
            AlertRecord(
                group_id=group.id,
                incident_id=incident_id,
                fingerprint=f"f{incident_id}",
                status="firing",
                labels=labels,
                starts_at=T0,
                first_seen_at=T0,
                last_seen_at=T0,
            )
        )


def _ids(db: Database, where: IncidentFilter, **kw: int) -> list[int]:
    return [i.id or 0 for i in incidents.find_incidents(db, where, **kw)]


def test_filters_and_search_select_the_matching_incidents(db: Database) -> None:
    disk = _incident(db, "Disk full on db-1", service="postgres", severity="SEV2")
    latency = _incident(db, "Checkout latency", service="checkout", status="acknowledged")
    old = _incident(
        db,
        "Old 100% outage",
        service="checkout",
        status="resolved",
        opened_at=T0 - timedelta(days=30),
    )
    _alert(db, latency, {"alertname": "HighLatency", "cluster": "eu-west-7"})

    assert _ids(db, IncidentFilter()) == [old, latency, disk]
    assert _ids(db, IncidentFilter(statuses=["open", "acknowledged"])) == [latency, disk]
    assert _ids(db, IncidentFilter(severities=["SEV2"])) == [disk]
    assert _ids(db, IncidentFilter(services=["checkout"])) == [old, latency]
    assert _ids(db, IncidentFilter(opened_from=T0 - timedelta(days=1))) == [latency, disk]
    assert _ids(db, IncidentFilter(opened_to=T0 - timedelta(days=1))) == [old]
    assert _ids(db, IncidentFilter(search="DISK")) == [disk]
    assert _ids(db, IncidentFilter(search="eu-west-7")) == [latency]
    assert _ids(db, IncidentFilter(search="checkout", statuses=["resolved"])) == [old]
    assert _ids(db, IncidentFilter(search="100%")) == [old]
    assert _ids(db, IncidentFilter(search="1_0")) == []


def test_the_list_pages_by_id_newest_first(db: Database) -> None:
    made = [_incident(db, f"incident {n}") for n in range(7)]
    first = _ids(db, IncidentFilter(), limit=3)
    assert first == made[::-1][:3]
    second = _ids(db, IncidentFilter(), before_id=first[-1], limit=3)
    assert second == made[::-1][3:6]
    assert _ids(db, IncidentFilter(), after_id=made[4]) == [made[6], made[5]]
    assert _ids(db, IncidentFilter(), after_id=made[6]) == []


def test_the_timeline_pages_by_cursor_and_reads_in_time_order(db: Database) -> None:
    incident_id = _incident(db, "busy")
    with db.write() as session:
        for n in range(25):
            queries.add_event(
                session,
                incident_id=incident_id,
                kind=EventKind.NOTE_ADDED,
                text=f"note {n}",
                actor="alice",
                at=T0 + timedelta(seconds=n),
                recorded_at=T0,
            )
    newest = incidents.timeline_page(db, incident_id, limit=10)
    window = timeline_window(newest, limit=10)
    assert [r.line.text for r in window.rows] == [f"note {n}" for n in range(15, 25)]
    assert window.rows[0].line.utc == "2026-12-01 09:00:15"
    assert window.older == window.rows[0].id
    older = timeline_window(
        incidents.timeline_page(db, incident_id, before_id=window.older, limit=10), limit=10
    )
    assert [r.line.text for r in older.rows] == [f"note {n}" for n in range(5, 15)]
    oldest = timeline_window(
        incidents.timeline_page(db, incident_id, before_id=older.older, limit=10), limit=10
    )
    assert [r.line.text for r in oldest.rows] == [f"note {n}" for n in range(5)]
    assert oldest.older is None
    assert incidents.timeline_page(db, incident_id, after_id=window.newest) == []


def test_a_person_changes_the_severity_and_the_timeline_says_so(db: Database) -> None:
    incident_id = _incident(db, "x", severity="SEV3")
    now = T0 + timedelta(minutes=5)
    changed = incidents.change_severity(
        db, incident_id, severity="SEV1", actor="carol", hooks=None, clock=lambda: now
    )
    assert changed.severity == "SEV1"
    again = incidents.change_severity(
        db, incident_id, severity="sev1", actor="carol", hooks=None, clock=lambda: now
    )
    assert again.severity == "SEV1"
    lowered = incidents.change_severity(
        db, incident_id, severity="4", actor="carol", hooks=None, clock=lambda: now
    )
    assert lowered.severity == "SEV4"
    with db.session() as session:
        rows = queries.events_of_kind(session, incident_id, EventKind.SEVERITY_CHANGED)
    assert [(r.text, r.data, r.actor) for r in rows] == [
        ("Severity raised from SEV3 to SEV1 by carol", {"from": "SEV3", "to": "SEV1"}, "carol"),
        ("Severity lowered from SEV1 to SEV4 by carol", {"from": "SEV1", "to": "SEV4"}, "carol"),
    ]
