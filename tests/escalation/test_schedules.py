"""Rotation arithmetic: hand-offs at local wall-clock time, across daylight saving."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.escalation.schedules import (
    Override,
    Rotation,
    Schedule,
    Shift,
    next_handoffs,
    on_call,
    shifts,
    swap,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(
    zone: ZoneInfo,
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    fold: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=zone, fold=fold).astimezone(UTC)


def daily(zone: str, start: date, members: tuple[str, ...] = ("ann", "bob", "cem")) -> Rotation:
    return Rotation(
        members=tuple(members),
        length=timedelta(days=1),
        handoff=time(9, 0),
        zone=zone,
        start=start,
    )


def test_daily_rotation_turns_at_the_handoff() -> None:
    rotation = daily("UTC", date(2026, 1, 5))
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert rotation.on_call(start - timedelta(seconds=1)) is None
    assert rotation.on_call(start) == "ann"
    assert rotation.on_call(start + timedelta(hours=23, minutes=59)) == "ann"
    assert rotation.on_call(start + timedelta(days=1)) == "bob"
    assert rotation.on_call(start + timedelta(days=3)) == "ann"


@pytest.mark.parametrize(
    ("zone", "spring_day", "autumn_day"),
    [
        ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
        ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
    ],
)
def test_daily_handoff_stays_at_local_nine_across_both_changes(
    zone: str, spring_day: date, autumn_day: date
) -> None:
    tz = ZoneInfo(zone)
    rotation = daily(zone, date(2026, 1, 1))
    for day in (spring_day, autumn_day):
        for offset in (-1, 0, 1):
            when = datetime.combine(day + timedelta(days=offset), time(9, 0), tzinfo=tz)
            index = rotation.shift_index(when)
            assert rotation.handoff_at(index) == when.astimezone(UTC)
            assert rotation.shift_index(when - timedelta(seconds=1)) == index - 1
    # The shift that contains the spring change is 23 hours long, the autumn one 25.
    spring = datetime.combine(spring_day - timedelta(days=1), time(9), tzinfo=tz)
    i = rotation.shift_index(spring)
    assert rotation.handoff_at(i + 1) - rotation.handoff_at(i) == timedelta(hours=23)
    autumn = datetime.combine(autumn_day - timedelta(days=1), time(9), tzinfo=tz)
    j = rotation.shift_index(autumn)
    assert rotation.handoff_at(j + 1) - rotation.handoff_at(j) == timedelta(hours=25)


def test_weekly_rotation_in_new_york_hands_off_on_monday_nine_local_after_dst() -> None:
    rotation = Rotation(
        members=("ann", "bob"),
        length=timedelta(weeks=1),
        handoff=time(9, 0),
        zone="America/New_York",
        start=date(2026, 3, 2),  # a Monday, before the change on 8 March
    )
    assert rotation.on_call(local(NEW_YORK, 2026, 3, 9, 8, 59)) == "ann"
    assert rotation.on_call(local(NEW_YORK, 2026, 3, 9, 9, 0)) == "bob"
    assert rotation.next_handoff(local(NEW_YORK, 2026, 3, 9, 10)) == local(NEW_YORK, 2026, 3, 16, 9)


def test_handoff_inside_the_repeated_autumn_hour_happens_once() -> None:
    rotation = Rotation(
        members=("ann", "bob"),
        length=timedelta(days=1),
        handoff=time(2, 30),
        zone="Europe/Berlin",
        start=date(2026, 10, 24),
    )
    first = local(BERLIN, 2026, 10, 25, 2, 30, fold=0)
    second = local(BERLIN, 2026, 10, 25, 2, 30, fold=1)
    assert second - first == timedelta(hours=1)
    assert rotation.on_call(first - timedelta(seconds=1)) == "ann"
    assert rotation.on_call(first) == "bob"
    assert rotation.on_call(second) == "bob"  # the repeated 02:30 is no second hand-off


def test_handoff_in_the_spring_gap_happens_at_the_change() -> None:
    rotation = Rotation(
        members=("ann", "bob"),
        length=timedelta(days=1),
        handoff=time(2, 30),
        zone="Europe/Berlin",
        start=date(2026, 3, 28),
    )
    # 02:30 does not exist on 29 March; 01:30 UTC is 03:30 CEST.
    change = rotation.handoff_at(1)
    assert change == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert rotation.on_call(change - timedelta(seconds=1)) == "ann"
    assert rotation.on_call(change) == "bob"


def test_twelve_hour_rotation_follows_the_local_clock() -> None:
    rotation = Rotation(
        members=("day", "night"),
        length=timedelta(hours=12),
        handoff=time(8, 0),
        zone="Europe/Berlin",
        start=date(2026, 3, 27),
    )
    assert rotation.on_call(local(BERLIN, 2026, 3, 29, 7, 59)) == "night"
    assert rotation.on_call(local(BERLIN, 2026, 3, 29, 8, 0)) == "day"
    assert rotation.on_call(local(BERLIN, 2026, 3, 29, 20, 0)) == "night"


def test_higher_layer_wins_where_it_has_someone() -> None:
    base = daily("UTC", date(2026, 1, 5), members=("ann",))
    business = Rotation(
        members=("lea",),
        length=timedelta(days=1),
        zone="Europe/Berlin",
        start=date(2026, 1, 1),
        window=(time(9), time(17)),
        weekdays=frozenset(range(5)),
    )
    schedule = Schedule("primary", (base, business))
    tuesday_noon = local(BERLIN, 2026, 1, 6, 12)
    assert on_call(schedule, tuesday_noon).user == "lea"
    assert on_call(schedule, tuesday_noon).source == "layer 2"
    assert on_call(schedule, local(BERLIN, 2026, 1, 6, 18)).user == "ann"
    assert on_call(schedule, local(BERLIN, 2026, 1, 10, 12)).user == "ann"  # Saturday


def test_override_spanning_a_handoff_wins_on_both_sides_and_then_ends() -> None:
    rotation = daily("UTC", date(2026, 1, 5))
    handoff = datetime(2026, 1, 6, 9, tzinfo=UTC)
    override = Override("zoe", handoff - timedelta(hours=2), handoff + timedelta(hours=3))
    schedule = Schedule("primary", (rotation,), (override,))
    assert on_call(schedule, handoff - timedelta(hours=3)).user == "ann"
    assert on_call(schedule, handoff - timedelta(hours=1)).user == "zoe"
    assert on_call(schedule, handoff + timedelta(hours=1)).user == "zoe"
    after = on_call(schedule, handoff + timedelta(hours=3))
    assert (after.user, after.source) == ("bob", "layer 1")


def test_later_override_wins_where_overrides_overlap() -> None:
    rotation = daily("UTC", date(2026, 1, 5))
    t = datetime(2026, 1, 6, 12, tzinfo=UTC)
    schedule = Schedule("p", (rotation,)).with_overrides(
        [
            Override("zoe", t - timedelta(hours=5), t + timedelta(hours=5)),
            Override("max", t - timedelta(hours=1), t + timedelta(hours=1)),
        ]
    )
    assert on_call(schedule, t).user == "max"
    assert on_call(schedule, t + timedelta(hours=2)).user == "zoe"


def test_nobody_before_any_layer_starts() -> None:
    schedule = Schedule("p", (daily("UTC", date(2026, 1, 5)),))
    result = on_call(schedule, datetime(2025, 1, 1, tzinfo=UTC))
    assert (result.user, result.source) == (None, "nobody")


def test_rotation_refuses_empty_members_and_naive_instants() -> None:
    with pytest.raises(ValueError, match="member"):
        Rotation(members=(), length=timedelta(days=1))
    schedule = Schedule("p", (daily("UTC", date(2026, 1, 5)),))
    with pytest.raises(ValueError, match="tz-aware"):
        on_call(schedule, datetime(2026, 1, 6, 12))  # noqa: DTZ001


def _utc(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_shifts_follow_the_local_handoff_across_a_clock_change() -> None:
    daily = Rotation(("ann", "bo"), timedelta(days=1), time(9), "Europe/Berlin", date(2026, 3, 27))
    found = shifts(Schedule("primary", (daily,)), _utc(2026, 3, 28, 0), _utc(2026, 3, 30, 12))
    assert found == [
        Shift("primary", "ann", _utc(2026, 3, 28, 0), _utc(2026, 3, 28, 8), "layer 1"),
        Shift("primary", "bo", _utc(2026, 3, 28, 8), _utc(2026, 3, 29, 7), "layer 1"),
        Shift("primary", "ann", _utc(2026, 3, 29, 7), _utc(2026, 3, 30, 7), "layer 1"),
        Shift("primary", "bo", _utc(2026, 3, 30, 7), _utc(2026, 3, 30, 12), "layer 1"),
    ]


def test_shifts_apply_overrides_and_windows_and_agree_with_on_call() -> None:
    weekly = Rotation(("ann", "bo"), timedelta(days=7), time(9), "UTC", date(2026, 11, 30))
    business = Rotation(
        ("cy",), timedelta(days=7), time(0), "UTC", date(2026, 11, 30), (time(9), time(17))
    )
    cover = Override("dee", _utc(2026, 12, 5, 12), _utc(2026, 12, 6, 12))
    schedule = Schedule("primary", (weekly, business), (cover,))
    start, end = _utc(2026, 12, 4, 0), _utc(2026, 12, 8, 0)
    found = shifts(schedule, start, end)
    assert found[0].start == start
    assert found[-1].end == end
    for before, after in itertools.pairwise(found):
        assert before.end == after.start
        assert before.user != after.user
    probe = start
    while probe < end:
        [shift] = [s for s in found if s.start <= probe < s.end]
        assert shift.user == on_call(schedule, probe).user, probe
        probe += timedelta(minutes=30)
    assert Shift("primary", "dee", _utc(2026, 12, 5, 12), _utc(2026, 12, 6, 12), "override") in (
        found
    )
    assert [(s.user, s.start) for s in found[:3]] == [
        ("ann", start),
        ("cy", _utc(2026, 12, 4, 9)),
        ("ann", _utc(2026, 12, 4, 17)),
    ]


def test_next_handoffs_are_the_shifts_that_begin_within_two_weeks() -> None:
    weekly = Rotation(("ann", "bo"), timedelta(days=7), time(9), "UTC", date(2026, 11, 30))
    now = _utc(2026, 12, 5, 12)
    coming = next_handoffs(Schedule("primary", (weekly,)), now)
    assert [(s.user, s.start) for s in coming] == [
        ("bo", _utc(2026, 12, 7, 9)),
        ("ann", _utc(2026, 12, 14, 9)),
    ]


def test_a_swap_trades_two_whole_shifts() -> None:
    schedule = Schedule("primary", (daily("Europe/Berlin", date(2026, 3, 2)),))
    # Monday 2 March: ann 09:00 → Tuesday 09:00; Tuesday bob; Wednesday cem.
    ann_at = local(BERLIN, 2026, 3, 2, 15)
    bob_at = local(BERLIN, 2026, 3, 3, 20)
    bob_covers, ann_covers = swap(schedule, "ann", ann_at, "bob", bob_at)
    assert (bob_covers.user, bob_covers.start, bob_covers.end) == (
        "bob",
        local(BERLIN, 2026, 3, 2, 9),
        local(BERLIN, 2026, 3, 3, 9),
    )
    assert (ann_covers.user, ann_covers.start, ann_covers.end) == (
        "ann",
        local(BERLIN, 2026, 3, 3, 9),
        local(BERLIN, 2026, 3, 4, 9),
    )
    swapped = schedule.with_overrides([bob_covers, ann_covers])
    assert on_call(swapped, ann_at).user == "bob"
    assert on_call(swapped, bob_at).user == "ann"
    assert on_call(swapped, local(BERLIN, 2026, 3, 4, 12)).user == "cem"


def test_a_swap_refuses_a_shift_that_is_not_the_named_persons() -> None:
    schedule = Schedule("primary", (daily("Europe/Berlin", date(2026, 3, 2)),))
    with pytest.raises(ValueError, match="is ann's shift in primary, not cem's"):
        swap(schedule, "cem", local(BERLIN, 2026, 3, 2, 15), "bob", local(BERLIN, 2026, 3, 3, 20))
    with pytest.raises(ValueError, match="is nobody's shift"):
        swap(schedule, "ann", local(BERLIN, 2026, 3, 1, 15), "bob", local(BERLIN, 2026, 3, 3, 20))
