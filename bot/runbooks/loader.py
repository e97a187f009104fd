"""The loaded runbook library: read from directories, re-read when files change.

A runbook that fails lint never replaces its last good version: the failure is logged
and kept beside the library (``GET /api/runbooks`` shows it), and selection goes on with
what was good. Each reload publishes a new immutable snapshot, so readers in other
threads (triage) always see one consistent library.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from actions.registry import ActionRegistry
from bot.clock import Clock, utcnow
from bot.runbooks.lint import is_under, lint_runbook, runbook_files
from bot.runbooks.model import Problem, Runbook
from bot.runbooks.parser import content_hash, parse_runbook
from bot.runbooks.selection import RunbookIndex
from bot.worker import Worker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadFailure:
    file: str
    problems: tuple[Problem, ...]
    failed_at: datetime
    keeping: str | None  # content hash of the last good version still in use

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "problems": [str(p) for p in self.problems],
            "failed_at": self.failed_at.isoformat(),
            "keeping": self.keeping,
        }


@dataclass(frozen=True)
class LibrarySnapshot:
    index: RunbookIndex
    failures: tuple[LoadFailure, ...] = ()
    loaded_at: datetime | None = None
    generation: int = 0

    @property
    def runbooks(self) -> tuple[Runbook, ...]:
        return self.index.runbooks

    def get(self, runbook_id: str) -> Runbook | None:
        return next((r for r in self.index.runbooks if r.id == runbook_id), None)


@dataclass
class ReloadReport:
    loaded: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


Signature = tuple[tuple[str, int, int], ...]


class RunbookLibrary:
    def __init__(
        self,
        dirs: Sequence[Path],
        *,
        registry: ActionRegistry,
        trusted_dirs: Sequence[Path] = (),
        clock: Clock = utcnow,
        reload_interval: timedelta = timedelta(0),
    ) -> None:
        self._dirs = list(dirs)
        self._trusted = list(trusted_dirs)
        self._registry = registry
        self._clock = clock
        self._good: dict[str, Runbook] = {}
        self._failures: dict[str, LoadFailure] = {}
        self._snapshot = LibrarySnapshot(RunbookIndex.build(()))
        self._signature: Signature | None = None
        self._lock = threading.Lock()
        self._reload_interval = reload_interval
        self._poller: Worker | None = None

    @property
    def registry(self) -> ActionRegistry:
        return self._registry

    @property
    def snapshot(self) -> LibrarySnapshot:
        return self._snapshot

    @property
    def index(self) -> RunbookIndex:
        return self._snapshot.index

    def _files(self) -> list[Path]:
        existing = [d for d in self._dirs if d.exists()]
        return runbook_files(existing)

    def signature(self) -> Signature:
        items = []
        for path in self._files():
            try:
                stat = path.stat()
            except OSError:
                continue
            items.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(items)

    def reload(self) -> ReloadReport:
        """Read every runbook file again; changed files are parsed and linted."""
        with self._lock:
            return self._reload()

    def _reload(self) -> ReloadReport:
        report = ReloadReport()
        now = self._clock()
        self._signature = self.signature()
        for missing in (d for d in self._dirs if not d.exists()):
            log.warning("runbook directory %s does not exist", missing)
        seen: set[str] = set()
        for path in self._files():
            name = str(path)
            seen.add(name)
            try:
                data = path.read_bytes()
            except OSError as exc:
                self._fail(name, [Problem(name, 1, f"cannot read: {exc.strerror}", "io")], now)
                report.failed.append(name)
                continue
            current = self._good.get(name)
            unchanged = current is not None and current.hash == content_hash(data)
            if unchanged and name not in self._failures:
                report.unchanged += 1
                continue
            result = parse_runbook(data, file=name)
            trusted = is_under(path, self._trusted)
            problems = lint_runbook(result, registry=self._registry, trusted=trusted)
            if problems or result.runbook is None:
                self._fail(name, problems, now)
                report.failed.append(name)
                continue
            self._good[name] = result.runbook
            self._failures.pop(name, None)
            report.loaded.append(name)
        for gone in sorted(set(self._good) - seen):
            del self._good[gone]
            report.removed.append(gone)
        for gone in set(self._failures) - seen:
            del self._failures[gone]
        self._publish(now)
        if report.loaded or report.removed or report.failed:
            log.info(
                "runbooks: %d loaded, %d unchanged, %d removed, %d failed lint",
                len(report.loaded),
                report.unchanged,
                len(report.removed),
                len(report.failed),
            )
        return report

    def _fail(self, name: str, problems: Sequence[Problem], now: datetime) -> None:
        keeping = self._good.get(name)
        self._failures[name] = LoadFailure(
            name, tuple(problems), now, keeping.hash if keeping else None
        )
        what = "keeping its last good version" if keeping else "it is not loaded"
        log.warning("runbook %s failed lint; %s", name, what)
        for item in problems:
            log.warning("  %s", item)

    def _publish(self, now: datetime) -> None:
        chosen: dict[str, Runbook] = {}
        failures = dict(self._failures)
        for name in sorted(self._good):
            runbook = self._good[name]
            other = chosen.get(runbook.id)
            if other is not None:
                line = runbook.line_of("id")
                problem = Problem(
                    name,
                    line,
                    f"duplicate runbook id {runbook.id!r} (also in {other.file}:"
                    f"{other.line_of('id')}); this file is not loaded",
                    "duplicate-id",
                )
                failures[name] = LoadFailure(name, (problem,), now, None)
                log.warning("%s", problem)
                continue
            chosen[runbook.id] = runbook
        self._snapshot = LibrarySnapshot(
            index=RunbookIndex.build(chosen.values()),
            failures=tuple(failures[k] for k in sorted(failures)),
            loaded_at=now,
            generation=self._snapshot.generation + 1,
        )

    def reload_if_changed(self) -> ReloadReport | None:
        with self._lock:
            if self.signature() == self._signature:
                return None
            return self._reload()

    def start(self) -> None:
        """Poll the files' times and sizes every ``reload_interval`` (0 turns polling off)."""
        seconds = self._reload_interval.total_seconds()
        if seconds > 0 and self._poller is None:
            # The ceiling is the interval itself: a failed reload is retried on the next tick.
            self._poller = Worker("runbooks", seconds, self._poll, max_backoff=seconds)
            self._poller.start()

    async def stop(self) -> None:
        if self._poller is not None:
            await self._poller.stop()
            self._poller = None

    async def _poll(self) -> None:
        await asyncio.to_thread(self.reload_if_changed)
