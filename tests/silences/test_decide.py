"""What the timeline asks of Alertmanager's silences."""

from __future__ import annotations

from bot.events import EventKind
from bot.silences.decide import SilenceWork, is_ours, labels_of, marker, matchers_of, work_for


def test_acknowledging_silences_and_lifting_or_resolving_expires() -> None:
    ack = work_for(EventKind.INCIDENT_ACKNOWLEDGED, incident_status="acknowledged", on_ack=True)
    assert ack is SilenceWork.CREATE
    for kind in (EventKind.INCIDENT_UNACKNOWLEDGED, EventKind.INCIDENT_RESOLVED):
        assert work_for(kind, incident_status="open", on_ack=True) is SilenceWork.EXPIRE
        assert work_for(kind, incident_status="open", on_ack=False) is SilenceWork.EXPIRE


def test_a_new_alert_is_silenced_only_while_acknowledged() -> None:
    fired = EventKind.ALERT_FIRED
    assert work_for(fired, incident_status="acknowledged", on_ack=True) is SilenceWork.CREATE
    assert work_for(fired, incident_status="open", on_ack=True) is None
    assert work_for(fired, incident_status="acknowledged", on_ack=False) is None
    assert work_for(EventKind.INCIDENT_ACKNOWLEDGED, incident_status="x", on_ack=False) is None


def test_exact_matchers_round_trip_and_the_marker_names_one_incident() -> None:
    labels = {"alertname": "DiskFull", "instance": "db-1"}
    assert labels_of(matchers_of(labels)) == labels
    assert labels_of([{"name": "a", "value": ".*", "isRegex": True, "isEqual": True}]) is None
    assert is_ours(f"{marker(4)}: acknowledged by ann", 4)
    assert not is_ours(f"{marker(42)}: acknowledged by ann", 4)
