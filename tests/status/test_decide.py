"""The status page's decisions, as plain data with a fixed clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from bot.status.config import StatusConfig
from bot.status.decide import (
    ComponentState,
    IncidentFacts,
    current_states,
    history,
    impact,
    public_heading,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def config(**overrides: object) -> StatusConfig:
    values: dict[str, object] = {
        "title": "Acme status",
        "components": [
            {"name": "Checkout", "services": ["checkout", "payments"]},
            {"name": "Search", "services": ["search"]},
            {"name": "EU region", "match": {"region": '=~"eu-.*"'}},
        ],
    }
    values.update(overrides)
    return StatusConfig.model_validate(values)


def incident(
    n: int,
    *,
    severity: str = "SEV2",
    service: str | None = "checkout",
    opened: datetime = NOW - timedelta(hours=1),
    resolved: datetime | None = None,
    labels: dict[str, str] | None = None,
    named: frozenset[str] = frozenset(),
) -> IncidentFacts:
    return IncidentFacts(
        id=n,
        title=f"secret title {n}",
        severity=severity,
        service=service,
        labels=labels or {},
        opened_at=opened,
        resolved_at=resolved,
        named_components=named,
    )


def states(cfg: StatusConfig, *incidents: IncidentFacts) -> dict[str, ComponentState]:
    return {c.name: c.state for c in current_states(cfg, incidents)}


def test_nothing_open_is_operational() -> None:
    assert set(states(config()).values()) == {ComponentState.OPERATIONAL}


def test_a_sev2_on_a_mapped_service_degrades_its_component_only() -> None:
    got = states(config(), incident(1, service="payments"))
    assert got == {
        "Checkout": ComponentState.DEGRADED,
        "Search": ComponentState.OPERATIONAL,
        "EU region": ComponentState.OPERATIONAL,
    }


def test_below_the_threshold_leaves_it_operational() -> None:
    assert states(config(), incident(1, severity="SEV3"))["Checkout"] is ComponentState.OPERATIONAL
    lowered = config(min_severity="SEV3")
    assert states(lowered, incident(1, severity="SEV3"))["Checkout"] is ComponentState.DEGRADED


def test_the_worst_incident_wins_and_a_resolved_one_counts_for_nothing() -> None:
    cfg = config(partial_severity="SEV2", min_severity="SEV3")
    got = states(
        cfg,
        incident(1, severity="SEV3"),
        incident(2, severity="SEV1", resolved=NOW - timedelta(minutes=5)),
        incident(3, severity="SEV2"),
    )
    assert got["Checkout"] is ComponentState.PARTIAL_OUTAGE
    assert states(cfg, incident(4, severity="SEV1"))["Checkout"] is ComponentState.MAJOR_OUTAGE


def test_impact_follows_the_thresholds() -> None:
    cfg = config(min_severity="SEV3", partial_severity="SEV2", major_severity="SEV1")
    assert [impact(cfg, s) for s in ("SEV1", "SEV2", "SEV3", "SEV4", "bogus")] == [
        ComponentState.MAJOR_OUTAGE,
        ComponentState.PARTIAL_OUTAGE,
        ComponentState.DEGRADED,
        ComponentState.OPERATIONAL,
        ComponentState.OPERATIONAL,
    ]


def test_label_matchers_and_named_components_map_incidents() -> None:
    by_label = incident(1, service=None, labels={"region": "eu-west-1"})
    assert states(config(), by_label)["EU region"] is ComponentState.DEGRADED
    other = incident(2, service=None, labels={"region": "us-east-1"})
    assert set(states(config(), other).values()) == {ComponentState.OPERATIONAL}
    named = incident(3, service=None, named=frozenset({"Search"}))
    assert states(config(), named)["Search"] is ComponentState.DEGRADED


def test_history_is_the_worst_state_of_each_utc_day() -> None:
    cfg = config(history_days=90)
    past = incident(
        1,
        severity="SEV1",
        opened=datetime(2026, 11, 30, 23, 0, tzinfo=UTC),
        resolved=datetime(2026, 12, 1, 1, 0, tzinfo=UTC),
    )
    minor = incident(
        2,
        severity="SEV2",
        opened=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        resolved=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    )
    ongoing = incident(3, severity="SEV2", service="search", opened=NOW - timedelta(days=2))
    days = history(cfg, [past, minor, ongoing], now=NOW)
    checkout = days["Checkout"]
    assert len(checkout) == 90
    assert checkout[0].day == date(2026, 9, 7)
    assert checkout[-1].day == date(2026, 12, 5)
    worst = {d.day: (d.state, d.incident_ids) for d in checkout if d.incident_ids}
    assert worst == {
        date(2026, 11, 30): (ComponentState.MAJOR_OUTAGE, (1,)),
        date(2026, 12, 1): (ComponentState.MAJOR_OUTAGE, (1, 2)),
    }
    search = [d.day for d in days["Search"] if d.state is ComponentState.DEGRADED]
    assert search == [date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 5)]


def test_the_public_heading_hides_titles_unless_configured() -> None:
    item = incident(1, service="payments")
    assert public_heading(config(), item) == "Incident affecting Checkout"
    assert public_heading(config(show_titles=True), item) == "secret title 1"
    assert public_heading(config(), incident(2, service="unmapped")) == "Service incident"


def test_config_refuses_what_cannot_work() -> None:
    with pytest.raises(ValidationError, match="names no services"):
        config(components=[{"name": "Lonely"}])
    with pytest.raises(ValidationError, match="unique"):
        config(components=[{"name": "A", "services": ["a"]}, {"name": "A", "services": ["b"]}])
    with pytest.raises(ValidationError):
        config(components=[{"name": "A", "match": {"region": '=~"("'}}])
    with pytest.raises(ValidationError):
        config(min_severity="SEV9")
