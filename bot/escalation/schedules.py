"""Who is on call: rotations, layers and overrides, as pure arithmetic on instants.

Hand-offs happen at the rotation's local wall-clock time in its IANA zone, so a daily
rotation handing off at 09:00 in Europe/Berlin still hands off at 09:00 local on the days
the clocks change (the shift that spans the change is an hour shorter or longer). A
local time that does not exist (the spring-forward gap) is taken with the offset before
the change, as ``zoneinfo`` does for ``fold=0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Rotation:
    """Members take turns; member 0 starts at ``handoff`` local time on ``start``.

    ``length`` is wall-clock time: ``timedelta(days=7)`` is a week of calendar days,
    ``timedelta(hours=12)`` is twelve hours on the local clock.
    """

    members: tuple[str, ...]
    length: timedelta
    handoff: time = time(9, 0)
    zone: str = "UTC"
    start: date = date(2024, 1, 1)
    # An optional local daily window (from, to) in which this rotation has someone; "to"
    # earlier than "from" wraps past midnight. None: all day.
    window: tuple[time, time] | None = None
    # Local weekdays (0 = Monday) on which it has someone; empty: every day.
    weekdays: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("a rotation needs at least one member")
        if self.length < timedelta(hours=1):
            raise ValueError("a rotation's length is at least one hour")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def _anchor(self) -> datetime:
        return datetime.combine(self.start, self.handoff)

    def handoff_at(self, index: int) -> datetime:
        """The instant (UTC) at which shift ``index`` begins (index 0 is the first)."""
        local = self._anchor() + self.length * index
        return local.replace(tzinfo=self.tz, fold=0).astimezone(UTC)

    def shift_index(self, at: datetime) -> int:
        """The shift in progress at ``at``; negative before the rotation starts."""
        local = at.astimezone(self.tz).replace(tzinfo=None)
        index = (local - self._anchor()) // self.length
        # The local clock repeats an hour in autumn: settle on the true instants.
        while self.handoff_at(index + 1) <= at:
            index += 1
        while self.handoff_at(index) > at:
            index -= 1
        return index

    def covers(self, at: datetime) -> bool:
        local = at.astimezone(self.tz)
        if self.weekdays and local.weekday() not in self.weekdays:
            return False
        if self.window is None:
            return True
        begin, end = self.window
        now = local.time().replace(tzinfo=None)
        if begin <= end:
            return begin <= now < end
        return now >= begin or now < end

    def on_call(self, at: datetime) -> str | None:
        index = self.shift_index(at)
        if index < 0 or not self.covers(at):
            return None
        return self.members[index % len(self.members)]

    def next_handoff(self, at: datetime) -> datetime:
        return self.handoff_at(self.shift_index(at) + 1)


@dataclass(frozen=True)
class Override:
    """``user`` is on call instead of the layers from ``start`` until ``end`` (UTC)."""

    user: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("override times must carry a zone")
        if self.end <= self.start:
            raise ValueError("an override must end after it starts")

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class Schedule:
    """Layers in order; a later (higher) layer wins wherever it has someone."""

    name: str
    layers: tuple[Rotation, ...]
    overrides: tuple[Override, ...] = field(default_factory=tuple)

    def with_overrides(self, extra: Sequence[Override]) -> Schedule:
        return Schedule(self.name, self.layers, (*self.overrides, *extra))


@dataclass(frozen=True)
class OnCall:
    schedule: str
    user: str | None
    source: str  # "override", "layer N" or "nobody"
    until: datetime | None  # the next time the answer may change, when known


def on_call(schedule: Schedule, at: datetime) -> OnCall:
    """Who is on call for ``schedule`` at the instant ``at`` (tz-aware)."""
    if at.tzinfo is None:
        raise ValueError("on_call needs a tz-aware instant")
    # The last override given wins where overrides overlap.
    for override in reversed(schedule.overrides):
        if override.covers(at):
            return OnCall(schedule.name, override.user, "override", override.end)
    for number in range(len(schedule.layers), 0, -1):
        rotation = schedule.layers[number - 1]
        user = rotation.on_call(at)
        if user is not None:
            return OnCall(schedule.name, user, f"layer {number}", rotation.next_handoff(at))
    return OnCall(schedule.name, None, "nobody", None)


@dataclass(frozen=True)
class Shift:
    """``user`` (None: nobody) is on call from ``start`` until ``end`` (UTC), by ``source``."""

    schedule: str
    user: str | None
    start: datetime
    end: datetime
    source: str


def _rotation_changes(rotation: Rotation, start: datetime, end: datetime) -> set[datetime]:
    """Every instant in (start, end) at which this rotation's answer may change."""
    changes: set[datetime] = set()
    index = rotation.shift_index(start) + 1
    while (at := rotation.handoff_at(index)) < end:
        changes.add(at)
        index += 1
    if rotation.window is None and not rotation.weekdays:
        return changes
    tz = rotation.tz
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    local_times = [time(0, 0)] + (list(rotation.window) if rotation.window else [])
    while day <= last:
        for local in local_times:
            changes.add(datetime.combine(day, local).replace(tzinfo=tz, fold=0).astimezone(UTC))
        day += timedelta(days=1)
    return {at for at in changes if start < at < end}


def shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """Who is on call from ``start`` until ``end``, as consecutive shifts, overrides applied.

    The answer of ``on_call`` only changes at a layer's hand-off, at the edge of a layer's
    daily window or weekday, or where an override begins or ends; it is asked at each of
    those instants, and neighbouring answers naming the same person are one shift.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("shifts needs tz-aware instants")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    changes: set[datetime] = {start}
    for rotation in schedule.layers:
        changes |= _rotation_changes(rotation, start, end)
    for override in schedule.overrides:
        changes |= {at for at in (override.start, override.end) if start < at < end}
    found: list[Shift] = []
    for at in sorted(changes):
        answer = on_call(schedule, at)
        if found and found[-1].user == answer.user:
            continue
        if found:
            previous = found[-1]
            found[-1] = Shift(previous.schedule, previous.user, previous.start, at, previous.source)
        found.append(Shift(schedule.name, answer.user, at, end, answer.source))
    return found


def next_handoffs(
    schedule: Schedule, at: datetime, *, within: timedelta = timedelta(days=14)
) -> list[Shift]:
    """The shifts that begin after ``at`` and before ``at + within``: the coming hand-offs."""
    return [s for s in shifts(schedule, at, at + within) if s.start > at]


SWAP_REACH = timedelta(days=62)  # how far around a given instant a shift is looked for


def shift_at(schedule: Schedule, at: datetime) -> Shift | None:
    """The whole shift that ``at`` falls in (its start and end, not cut at ``at``)."""
    found = shifts(schedule, at - SWAP_REACH, at + SWAP_REACH)
    return next((s for s in found if s.start <= at < s.end), None)


def swap(
    schedule: Schedule, first: str, first_at: datetime, second: str, second_at: datetime
) -> tuple[Override, Override]:
    """Two people trade shifts: ``second`` covers the shift of ``first`` that ``first_at``
    falls in, and ``first`` covers the shift of ``second`` at ``second_at``. ValueError
    naming the problem when either shift is not the named person's."""
    mine, theirs = shift_at(schedule, first_at), shift_at(schedule, second_at)
    for who, at, shift in ((first, first_at, mine), (second, second_at, theirs)):
        if shift is None or shift.user != who:
            holder = shift.user if shift and shift.user else "nobody"
            raise ValueError(
                f"{at.isoformat()} is {holder}'s shift in {schedule.name}, not {who}'s"
            )
    assert mine is not None
    assert theirs is not None
    if first == second:
        raise ValueError("a swap needs two different people")
    if mine.start < theirs.end and theirs.start < mine.end:
        raise ValueError("the two shifts overlap; an override covers that")
    return Override(second, mine.start, mine.end), Override(first, theirs.start, theirs.end)
