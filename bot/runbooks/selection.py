"""Which runbook an alert gets: a pure function of the loaded runbooks and the alert.

1. An alert's ``runbook_url`` or ``runbook`` annotation naming a loaded runbook (by id,
   file name, or the last part of a URL) wins.
2. Otherwise every runbook whose matchers all hold is a candidate; the highest
   ``priority`` wins; a tie that remains chooses nothing and is reported.
3. Runbooks that share the alert's ``alertname`` but failed a matcher are near misses,
   with the matcher that failed, so that "why not my runbook?" has an answer.

Runbooks are indexed by their ``alertname`` equality (or literal alternation) matcher, so
an alert is only checked against the runbooks that could concern it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot.domain.matchers import Matcher, MatchOp
from bot.runbooks.models import Runbook

NAMING_ANNOTATIONS = ("runbook_url", "runbook")
MAX_NEAR_MISSES = 10
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


def _index_names(runbook: Runbook) -> tuple[str, ...] | None:
    """The alertnames a runbook can match, when its matchers pin them down."""
    for matcher in runbook.matchers:
        if matcher.name != "alertname":
            continue
        if matcher.op is MatchOp.EQUAL:
            return (matcher.value,)
        if matcher.op is MatchOp.REGEX:
            parts = matcher.value.split("|")
            if all(_LITERAL_NAME.fullmatch(p) for p in parts):
                return tuple(parts)
    return None


def _name_keys(runbook: Runbook) -> set[str]:
    stem = runbook.file_name.lower()
    return {runbook.id.lower(), stem, stem.removesuffix(".md")}


@dataclass(frozen=True)
class RunbookIndex:
    """The runbooks of one library snapshot, arranged for fast selection."""

    runbooks: tuple[Runbook, ...]
    by_alertname: Mapping[str, tuple[Runbook, ...]] = field(default_factory=dict)
    unindexed: tuple[Runbook, ...] = ()
    by_name: Mapping[str, Runbook] = field(default_factory=dict)

    @classmethod
    def build(cls, runbooks: Iterable[Runbook]) -> RunbookIndex:
        items = tuple(runbooks)
        buckets: dict[str, list[Runbook]] = {}
        unindexed: list[Runbook] = []
        by_name: dict[str, Runbook] = {}
        for runbook in items:
            names = _index_names(runbook)
            if names is None:
                unindexed.append(runbook)
            else:
                for name in names:
                    buckets.setdefault(name, []).append(runbook)
            for key in _name_keys(runbook):
                by_name.setdefault(key, runbook)
        return cls(
            runbooks=items,
            by_alertname={k: tuple(v) for k, v in buckets.items()},
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


def _failed(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(str(m) for m in matchers if not m.matches(labels))


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

    alertname = labels.get("alertname", "")
    bucket = index.by_alertname.get(alertname, ())
    candidates: list[Runbook] = []
    misses: list[NearMiss] = []
    for runbook in bucket:
        failed = _failed(runbook.matchers, labels)
        if failed:
            misses.append(NearMiss(runbook.id, runbook.priority, failed))
        else:
            candidates.append(runbook)
    for runbook in index.unindexed:
        failed = _failed(runbook.matchers, labels)
        if not failed:
            candidates.append(runbook)
        elif len(failed) == 1 and len(runbook.matchers) > 1:
            misses.append(NearMiss(runbook.id, runbook.priority, failed))
    misses.sort(key=lambda m: (len(m.failed), -m.priority, m.runbook_id))
    near = tuple(misses[:MAX_NEAR_MISSES])
    suffix = f" ({'; '.join(notes)})" if notes else ""
    if not candidates:
        return Selection(None, f"no runbook's matchers fit the alert{suffix}", near_misses=near)
    candidates.sort(key=lambda r: (-r.priority, r.id))
    top = candidates[0].priority
    best = [r for r in candidates if r.priority == top]
    ordered = tuple(candidates)
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
    matched = ", ".join(str(m) for m in chosen.matchers)
    others = len(candidates) - 1
    why = f"its matchers fit the alert ({matched})"
    if others:
        why += f"; priority {top} is above the {others} other matching runbook(s)"
    return Selection(chosen, why + suffix, candidates=ordered, near_misses=near)
