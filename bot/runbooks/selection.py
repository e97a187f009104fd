"""Which runbook an alert gets: a pure function of the loaded runbooks and the alert.

1. An alert's ``runbook_url`` or ``runbook`` annotation naming a loaded runbook (by id,
   file name, or the last part of a URL) wins.
2. Otherwise every runbook whose matchers all hold is a candidate; the highest
   ``priority`` wins; a tie that remains chooses nothing and is reported.
3. Runbooks that share the alert's ``alertname`` (or the label value they are indexed by)
   but failed a matcher are near misses, with the matchers that failed, so that "why not
   my runbook?" has an answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot.matchers import MatchOp
from bot.runbooks.model import Runbook

NAMING_ANNOTATIONS = ("runbook_url", "runbook")
MAX_NEAR_MISSES = 10
MAX_FAILED = 8
_LITERAL_NAME = re.compile(r"[A-Za-z0-9_:]+")


@dataclass(frozen=True)
class NearMiss:
    runbook_id: str
    priority: int
    failed: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "runbook_id": self.runbook_id,
            "priority": self.priority,
            "failed": list(self.failed),
        }


@dataclass(frozen=True)
class Selection:
    chosen: Runbook | None
    reason: str
    candidates: tuple[Runbook, ...] = ()
    near_misses: tuple[NearMiss, ...] = ()
    tie: tuple[str, ...] = ()
    by_annotation: str | None = None

    @property
    def is_tie(self) -> bool:
        return bool(self.tie)

    def as_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen.id if self.chosen else None,
            "reason": self.reason,
            "candidates": [{"runbook_id": r.id, "priority": r.priority} for r in self.candidates],
            "near_misses": [m.as_dict() for m in self.near_misses],
            "tie": list(self.tie),
            "by_annotation": self.by_annotation,
        }


def _index_key(runbook: Runbook) -> tuple[str, tuple[str, ...]] | None:
    """A label and the values it must have, when the matchers pin one down: the
    ``alertname`` first, else any other label with a literal equality or alternation."""
    found: tuple[str, tuple[str, ...]] | None = None
    for matcher in runbook.matchers:
        values: tuple[str, ...] | None = None
        if matcher.op is MatchOp.EQUAL and matcher.value:
            values = (matcher.value,)
        elif matcher.op is MatchOp.REGEX:
            parts = matcher.value.split("|")
            if all(_LITERAL_NAME.fullmatch(p) for p in parts):
                values = tuple(parts)
        if values is None:
            continue
        if matcher.name == "alertname":
            return matcher.name, values
        if found is None:
            found = (matcher.name, values)
    return found


def _name_keys(runbook: Runbook) -> set[str]:
    stem = runbook.file_name.lower()
    return {runbook.id.lower(), stem, stem.removesuffix(".md")}


@dataclass(frozen=True)
class _Entry:
    runbook: Runbook
    # (label, whether a value passes, the matcher as written), one per matcher
    matchers: tuple[tuple[str, Callable[[str], bool], str], ...]

    @classmethod
    def of(cls, runbook: Runbook) -> _Entry:
        return cls(runbook, tuple((m.name, m.value_test(), str(m)) for m in runbook.matchers))

    def failed(self, labels: Mapping[str, str], limit: int) -> tuple[str, ...]:
        """The matchers that fail, stopping once ``limit`` have failed."""
        out: list[str] = []
        for name, passes, text in self.matchers:
            if not passes(labels.get(name, "")):
                out.append(text)
                if len(out) >= limit:
                    break
        return tuple(out)


MEMO_LIMIT = 100_000  # remembered (label, value) answers; forgotten all at once past it


class _UnindexedRunbooks:
    """Runbooks matched only by regexes or negative matchers, checked against an alert
    through bitmasks rather than one by one.

    For each label these runbooks test, and each value an alert brings, one mask says
    which of them let that value pass (those that do not test the label always do). The
    mask is computed the first time the value is seen and remembered: the values such
    runbooks test (alertname, namespace, severity, cluster) repeat from alert to alert,
    so an alert costs a few dictionary look-ups and integer ANDs, however many runbooks
    there are. Masks of the labels that failed also give, cheaply, the runbooks that
    failed on one label only: the near misses worth checking matcher by matcher."""

    def __init__(self, entries: tuple[_Entry, ...]) -> None:
        # Best first (priority, then id), so the lowest bits are the near misses shown.
        entries = tuple(sorted(entries, key=lambda e: (-e.runbook.priority, e.runbook.id)))
        self.entries = entries
        self._all = (1 << len(entries)) - 1
        self._several = sum(1 << n for n, e in enumerate(entries) if len(e.matchers) > 1)
        testing: dict[str, list[tuple[int, tuple[Callable[[str], bool], ...]]]] = {}
        for n, entry in enumerate(entries):
            by_label: dict[str, list[Callable[[str], bool]]] = {}
            for label, passes, _ in entry.matchers:
                by_label.setdefault(label, []).append(passes)
            for label, matchers in by_label.items():
                testing.setdefault(label, []).append((1 << n, tuple(matchers)))
        self._testing = testing
        self._untested = {
            label: self._all & ~sum(bit for bit, _ in tests) for label, tests in testing.items()
        }
        self._memo: dict[tuple[str, str], int] = {}

    def _passing(self, label: str, value: str) -> int:
        key = (label, value)
        mask = self._memo.get(key)
        if mask is None:
            mask = self._untested[label]
            for bit, tests in self._testing[label]:
                if all(passes(value) for passes in tests):
                    mask |= bit
            if len(self._memo) >= MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = mask
        return mask

    def check(
        self, labels: Mapping[str, str], near_limit: int
    ) -> tuple[list[_Entry], list[NearMiss]]:
        """The runbooks whose matchers all hold, and the best ``near_limit`` of those
        with several matchers of which exactly one failed."""
        if not self.entries:
            return [], []
        once = twice = 0
        for label in self._testing:
            failed = self._all & ~self._passing(label, labels.get(label, ""))
            twice |= once & failed
            once |= failed
        matched = [self.entries[n] for n in _bits(self._all & ~once)]
        misses: list[NearMiss] = []
        for n in _bits(once & ~twice & self._several):
            entry = self.entries[n]
            failures = entry.failed(labels, 2)  # two matchers may test the one label
            if len(failures) == 1:
                misses.append(NearMiss(entry.runbook.id, entry.runbook.priority, failures))
                if len(misses) >= near_limit:
                    break
        return matched, misses


def _bits(mask: int) -> Iterator[int]:
    """The positions of the bits set in ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


@dataclass(frozen=True)
class RunbookIndex:
    """The runbooks of one library snapshot, arranged for fast selection: each runbook
    sits in the bucket of the label value its matchers require (``alertname`` first), so
    an alert is checked only against the runbooks that could concern it."""

    runbooks: tuple[Runbook, ...]
    buckets: Mapping[tuple[str, str], tuple[_Entry, ...]] = field(default_factory=dict)
    unindexed: tuple[_Entry, ...] = ()
    by_name: Mapping[str, Runbook] = field(default_factory=dict)
    regex_only: _UnindexedRunbooks = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex_only", _UnindexedRunbooks(self.unindexed))

    @classmethod
    def build(cls, runbooks: Iterable[Runbook]) -> RunbookIndex:
        items = tuple(runbooks)
        buckets: dict[tuple[str, str], list[_Entry]] = {}
        unindexed: list[_Entry] = []
        by_name: dict[str, Runbook] = {}
        for runbook in items:
            entry = _Entry.of(runbook)
            key = _index_key(runbook)
            if key is None:
                unindexed.append(entry)
            else:
                label, values = key
                for value in dict.fromkeys(values):
                    buckets.setdefault((label, value), []).append(entry)
            for name in _name_keys(runbook):
                by_name.setdefault(name, runbook)
        return cls(
            runbooks=items,
            buckets={k: tuple(v) for k, v in buckets.items()},
            unindexed=tuple(unindexed),
            by_name=by_name,
        )

    def named(self, reference: str) -> Runbook | None:
        """The runbook an annotation names: an id, a file name, or a URL ending in one."""
        text = reference.strip()
        if not text:
            return None
        direct = self.by_name.get(text.lower())
        if direct is not None:
            return direct
        path = urlsplit(text).path if "://" in text else text.split("#")[0].split("?")[0]
        last = path.rstrip("/").rsplit("/", 1)[-1].lower()
        return self.by_name.get(last) or self.by_name.get(last.removesuffix(".md"))

    def entries_for(self, labels: Mapping[str, str]) -> list[_Entry]:
        found: list[_Entry] = []
        for item in labels.items():
            bucket = self.buckets.get(item)
            if bucket:
                found.extend(bucket)
        return found


def select_runbook(
    runbooks: RunbookIndex | Iterable[Runbook],
    labels: Mapping[str, str],
    annotations: Mapping[str, str] | None = None,
) -> Selection:
    index = runbooks if isinstance(runbooks, RunbookIndex) else RunbookIndex.build(runbooks)
    notes: list[str] = []
    for key in NAMING_ANNOTATIONS:
        reference = (annotations or {}).get(key)
        if not reference:
            continue
        named = index.named(reference)
        if named is not None:
            return Selection(
                chosen=named,
                reason=f"named by the alert's {key} annotation ({reference})",
                candidates=(named,),
                by_annotation=key,
            )
        notes.append(f"the {key} annotation names no loaded runbook")

    candidates: list[_Entry] = []
    misses: list[NearMiss] = []
    for entry in index.entries_for(labels):
        failed = entry.failed(labels, MAX_FAILED)
        if failed:
            misses.append(NearMiss(entry.runbook.id, entry.runbook.priority, failed))
        else:
            candidates.append(entry)
    fitting, close = index.regex_only.check(labels, MAX_NEAR_MISSES)
    candidates.extend(fitting)
    misses.extend(close)
    if len(misses) > 1:
        misses.sort(key=lambda m: (len(m.failed), -m.priority, m.runbook_id))
    near = tuple(misses[:MAX_NEAR_MISSES])
    suffix = f" ({'; '.join(notes)})" if notes else ""
    if not candidates:
        return Selection(None, f"no runbook's matchers fit the alert{suffix}", near_misses=near)
    if len(candidates) > 1:
        candidates.sort(key=lambda e: (-e.runbook.priority, e.runbook.id))
    top = candidates[0].runbook.priority
    best = [e.runbook for e in candidates if e.runbook.priority == top]
    ordered = tuple(e.runbook for e in candidates)
    if len(best) > 1:
        tied = tuple(r.id for r in best)
        return Selection(
            None,
            f"{len(best)} runbooks match with the same priority {top}: "
            f"{', '.join(tied)}; none chosen{suffix}",
            candidates=ordered,
            near_misses=near,
            tie=tied,
        )
    chosen = best[0]
    matched = ", ".join(text for _, _, text in candidates[0].matchers)
    others = len(candidates) - 1
    why = f"its matchers fit the alert ({matched})"
    if others:
        why += f"; priority {top} is above the {others} other matching runbook(s)"
    return Selection(chosen, why + suffix, candidates=ordered, near_misses=near)
