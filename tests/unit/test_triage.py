"""The pure triage decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.incidents.decide import (
    AlertAction,
    AlertTimes,
    GroupIncidentAction,
    Severity,
    Signal,
    TriageRule,
    classify,
    decide_alert,
    incident_for_firing_group,
    incident_title,
    sane_alert_times,
    severity_from_label,
    triage_defers,
)
from bot.matchers import matchers_from_mapping


@pytest.mark.parametrize(
    ("label", "severity"),
    [
        ("critical", Severity.SEV1),
        ("error", Severity.SEV2),
        ("high", Severity.SEV2),
        ("warning", Severity.SEV3),
        ("info", Severity.SEV4),
        ("whatever", Severity.SEV4),
        (None, Severity.SEV4),
        ("SEV2", Severity.SEV2),
    ],
)
def test_severity_from_label(label: str | None, severity: Severity) -> None:
    assert severity_from_label(label) is severity


def test_rules_apply_in_order() -> None:
    rules = [
        TriageRule("prod", matchers_from_mapping({"env": "prod", "tier": "1"}), raise_by=1),
        TriageRule(
            "latency",
            matchers_from_mapping({"alertname": '=~".*Latency"'}),
            signal=Signal.LATENCY,
            service="edge",
        ),
    ]
    decision = classify(
        {"alertname": "HighLatency", "severity": "warning", "env": "prod", "tier": "1"}, rules
    )
    assert decision.severity is Severity.SEV2
    assert decision.signal is Signal.LATENCY
    assert decision.service == "edge"
    assert decision.rules == ("prod", "latency")
    assert classify({"alertname": "X", "severity": "warning"}, rules).severity is Severity.SEV3


def test_raise_never_goes_past_sev1() -> None:
    rule = TriageRule("up", matchers_from_mapping({"a": "b"}), raise_by=3)
    assert classify({"a": "b", "severity": "error"}, [rule]).severity is Severity.SEV1


def test_title_prefers_summary() -> None:
    assert incident_title({"summary": "Disk full"}, {"alertname": "X"}, {}) == "Disk full"
    title = incident_title({}, {"alertname": "NodeDown"}, {"alertname": "NodeDown", "svc": "a"})
    assert title == "NodeDown (svc=a)"


@pytest.mark.parametrize(
    ("incoming", "stored", "newer", "action"),
    [
        ("firing", None, False, AlertAction.NEW_FIRING),
        ("resolved", None, False, AlertAction.NEW_RESOLVED),
        ("firing", None, True, AlertAction.STALE),
        ("firing", "resolved", False, AlertAction.STALE),  # late firing after its resolve
        ("resolved", "resolved", False, AlertAction.STALE),
        ("resolved", "firing", False, AlertAction.RESOLVE),
        ("firing", "firing", False, AlertAction.REFRESH),
    ],
)
def test_decide_alert(incoming: str, stored: str | None, newer: bool, action: AlertAction) -> None:
    result = decide_alert(
        incoming_status=incoming, stored_status=stored, newer_episode_exists=newer
    )
    assert result is action


def test_group_incident_flap_window() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    window = timedelta(minutes=10)
    decide = incident_for_firing_group
    assert decide(latest_status=None, latest_resolved_at=None, now=now, flap_window=window) is (
        GroupIncidentAction.OPEN
    )
    assert (
        decide(latest_status="acknowledged", latest_resolved_at=None, now=now, flap_window=window)
        is GroupIncidentAction.ATTACH
    )
    recent = now - timedelta(minutes=10)
    assert (
        decide(latest_status="resolved", latest_resolved_at=recent, now=now, flap_window=window)
        is GroupIncidentAction.REOPEN
    )
    old = now - timedelta(minutes=11)
    assert (
        decide(latest_status="resolved", latest_resolved_at=old, now=now, flap_window=window)
        is GroupIncidentAction.OPEN
    )


RECEIVED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_sane_times_pass_unchanged() -> None:
    starts = RECEIVED - timedelta(minutes=4)
    times = sane_alert_times(starts, RECEIVED, received_at=RECEIVED)
    assert times == AlertTimes(starts, RECEIVED, ())
    skewed = RECEIVED + timedelta(minutes=59)
    assert sane_alert_times(skewed, None, received_at=RECEIVED).clamped == ()


@pytest.mark.parametrize(
    ("starts", "ends", "kept", "clamped"),
    [
        (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), None, (RECEIVED, None), ("startsAt",)),
        (datetime(1970, 1, 1, tzinfo=UTC), None, (RECEIVED, None), ("startsAt",)),
        (RECEIVED + timedelta(hours=1, seconds=1), None, (RECEIVED, None), ("startsAt",)),
        (
            RECEIVED - timedelta(minutes=5),
            datetime(9999, 12, 31, tzinfo=UTC),
            (RECEIVED - timedelta(minutes=5), RECEIVED),
            ("endsAt",),
        ),
        (
            datetime(9999, 12, 31, tzinfo=UTC),
            RECEIVED - timedelta(minutes=5),
            (RECEIVED, RECEIVED),
            ("startsAt", "endsAt"),
        ),
        (
            RECEIVED - timedelta(minutes=5),
            RECEIVED - timedelta(minutes=10),
            (RECEIVED - timedelta(minutes=5), RECEIVED - timedelta(minutes=5)),
            ("endsAt",),
        ),
    ],
)
def test_impossible_times_are_clamped_so_no_duration_is_negative(
    starts: datetime,
    ends: datetime | None,
    kept: tuple[datetime, datetime | None],
    clamped: tuple[str, ...],
) -> None:
    times = sane_alert_times(starts, ends, received_at=RECEIVED)
    assert (times.starts_at, times.ends_at) == kept
    assert times.clamped == clamped
    assert times.starts_at <= RECEIVED + timedelta(hours=1)
    assert times.ends_at is None or times.ends_at >= times.starts_at


def test_triage_defers_to_a_storm_only_within_its_budget() -> None:
    assert triage_defers(under_load=True, oldest_wait=0.2, budget=1.0)
    assert not triage_defers(under_load=True, oldest_wait=1.0, budget=1.0)  # budget spent
    assert not triage_defers(under_load=True, oldest_wait=300.0, budget=1.0)
    assert not triage_defers(under_load=False, oldest_wait=0.0, budget=1.0)
