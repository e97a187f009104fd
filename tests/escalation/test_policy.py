"""Escalation policy arithmetic with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.escalation.decide import (
    Level,
    Policy,
    Position,
    Requester,
    Target,
    TargetKind,
    after_notifying,
    after_severity_raised,
    escalate_now,
    escalation_status,
    first_position,
    ladder,
    page_while_acknowledged,
    restart_at_current,
    select_policy,
)

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def level(name: str, minutes: int) -> Level:
    return Level((Target(TargetKind.USER, name),), timedelta(minutes=minutes))


SEED = Policy(
    name="default",
    levels=(level("oncall", 5), level("secondary", 10), level("senior", 15), level("ic", 30)),
    start_level={"SEV1": 1},
)


def test_seed_ladder_notifies_at_0_5_15_and_30_minutes() -> None:
    times = [p.due_at - T0 for p, _ in ladder(SEED, severity="SEV2", start=T0)]
    assert times == [timedelta(minutes=m) for m in (0, 5, 15, 30)]


def test_sev1_starts_at_a_higher_level() -> None:
    assert first_position(SEED, severity="SEV1", now=T0) == Position(1, 0, T0)
    assert first_position(SEED, severity="SEV3", now=T0) == Position(0, 0, T0)


def test_next_level_waits_for_the_notified_levels_delay() -> None:
    nxt = after_notifying(SEED, level=0, round=0, now=T0)
    assert nxt == Position(1, 0, T0 + timedelta(minutes=5))


def test_repeat_walks_the_ladder_again_then_is_exhausted() -> None:
    policy = Policy("p", (level("a", 5), level("b", 10)), repeat=1)
    steps = ladder(policy, severity="SEV3", start=T0)
    assert [(p.level, p.round) for p, _ in steps] == [(0, 0), (1, 0), (0, 1), (1, 1)]
    assert after_notifying(policy, level=1, round=1, now=T0) is None
    assert after_notifying(policy, level=1, round=0, now=T0) == Position(
        0, 1, T0 + timedelta(minutes=10)
    )


def test_no_repeat_means_exhausted_after_the_last_level() -> None:
    assert after_notifying(SEED, level=3, round=0, now=T0) is None


def test_escalate_jumps_to_the_next_level_now_and_stops_at_the_top() -> None:
    assert escalate_now(SEED, current=0, round=0, now=T0) == Position(1, 0, T0)
    assert escalate_now(SEED, current=3, round=0, now=T0) == Position(3, 0, T0)
    assert escalate_now(SEED, current=None, round=0, now=T0) == Position(0, 0, T0)


def test_unacknowledge_restarts_from_the_current_level() -> None:
    assert restart_at_current(SEED, current=2, round=0, severity="SEV3", now=T0) == Position(
        2, 0, T0
    )
    assert restart_at_current(SEED, current=None, round=0, severity="SEV1", now=T0) == Position(
        1, 0, T0
    )


def test_policy_selection_by_severity_and_service() -> None:
    checkout = Policy("checkout", (level("c", 5),), services=frozenset({"checkout"}))
    paging = Policy("sev1", (level("p", 5),), severities=frozenset({"SEV1"}))
    catch_all = Policy("default", (level("d", 5),))
    policies = [checkout, paging, catch_all]
    assert select_policy(policies, severity="SEV3", service="checkout") is checkout
    assert select_policy(policies, severity="SEV1", service="search") is paging
    assert select_policy(policies, severity="SEV3", service=None) is catch_all
    assert select_policy([checkout], severity="SEV3", service=None) is None


def test_policy_refuses_a_start_level_that_does_not_exist() -> None:
    with pytest.raises(ValueError, match="level 3"):
        Policy("p", (level("a", 5),), start_level={"SEV1": 2})


URGENT = Policy("urgent", (level("ic", 5),), severities=frozenset({"SEV1"}))


def test_a_severity_raise_hands_over_to_the_new_severitys_policy() -> None:
    policies = (URGENT, SEED)
    change = after_severity_raised(
        policies,
        current_policy="default",
        next_level=1,
        round=0,
        severity="SEV1",
        service=None,
        now=T0,
    )
    assert change == (URGENT, Position(0, 0, T0))


def test_a_severity_raise_within_one_policy_jumps_to_its_start_level_only_forwards() -> None:
    raised: dict[str, Any] = {"current_policy": "default", "round": 0, "service": None, "now": T0}
    assert after_severity_raised((SEED,), next_level=0, severity="SEV1", **raised) == (
        SEED,
        Position(1, 0, T0),
    )
    assert after_severity_raised((SEED,), next_level=2, severity="SEV1", **raised) is None
    assert after_severity_raised((SEED,), next_level=0, severity="SEV2", **raised) is None


def test_only_a_person_pages_an_acknowledged_incident_and_only_once() -> None:
    assert escalation_status(acknowledged=False, requester=Requester.PERSON) == "active"
    assert escalation_status(acknowledged=False, requester=Requester.AUTOMATION) == "active"
    assert escalation_status(acknowledged=True, requester=Requester.PERSON) == "once"
    assert escalation_status(acknowledged=True, requester=Requester.AUTOMATION) is None


def test_a_severity_rise_while_acknowledged_pages_the_higher_of_last_and_start_level() -> None:
    raised: dict[str, Any] = {"current_policy": "default", "round": 0, "service": None, "now": T0}
    page = page_while_acknowledged
    assert page((SEED,), current=0, severity="SEV1", **raised) == (SEED, Position(1, 0, T0))
    assert page((SEED,), current=2, severity="SEV1", **raised) == (SEED, Position(2, 0, T0))
    assert page((SEED,), current=None, severity="SEV2", **raised) == (SEED, Position(0, 0, T0))
    assert page((SEED,), current=9, severity="SEV2", **raised) == (SEED, Position(3, 0, T0))
    assert page((URGENT, SEED), current=2, severity="SEV1", **raised) == (
        URGENT,
        Position(0, 0, T0),
    )
    assert page((URGENT,), current=0, severity="SEV3", **raised) is None
