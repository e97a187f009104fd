"""The runbook library as people review it: what each runbook matches, how it would run,
what is wrong with it, which alert rules it covers, and how well it has worked.

``library_view`` is pure: it joins the loaded library, the coverage of the configured
Prometheus rules, the promoted versions, the report's runbook effectiveness (against the
runbook target) and automation's success (against its own), and each runbook's review on
the given day into one plain view model. ``runbook_library`` loads those pieces.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from actions.gates import Mode, effective_mode
from bot.clock import Clock
from bot.postmortem.reports import AutomationSuccess, RunbookEffectiveness, summary_report
from bot.runbooks.coverage import CoverageReport, coverage, read_rules
from bot.runbooks.freshness import DEFAULT_REVIEW_AGE, ReviewState, review_state
from bot.runbooks.loader import LibrarySnapshot, RunbookLibrary
from bot.runbooks.model import Runbook
from storage import queries_automation
from storage.db import Database

DEFAULT_RANGE = timedelta(days=90)
"""How far back effectiveness looks when no ``since`` is given."""


@dataclass(frozen=True, slots=True)
class RuleRow:
    """One configured alert rule and the runbooks that would take it."""

    alert: str
    where: str
    status: str  # covered | annotation | conditional | tie | uncovered
    runbooks: tuple[str, ...]
    depends_on: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RunbookRow:
    id: str
    title: str
    file: str
    hash: str
    priority: int
    match: tuple[str, ...]
    mode: str  # the runbook's own policy mode
    runs_as: str  # the mode it runs in now (global mode, promotion)
    runs_as_reason: str
    promoted: bool
    steps: int
    problems: tuple[str, ...]  # of a newer version of its file that failed to load
    rules: tuple[str, ...]  # alert rules it covers (or would, on a condition)
    effectiveness: RunbookEffectiveness | None
    review: ReviewState


@dataclass(frozen=True, slots=True)
class FailedFile:
    """A runbook file that does not load; ``keeping`` names the version still in use."""

    file: str
    problems: tuple[str, ...]
    keeping: str | None


@dataclass(frozen=True, slots=True)
class CoverageView:
    configured: bool  # False: no alert rule files are configured
    percent: float | None
    rules: tuple[RuleRow, ...] = ()
    unused: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LibraryView:
    since: datetime
    runbooks: tuple[RunbookRow, ...]
    failures: tuple[FailedFile, ...]
    coverage: CoverageView = field(default_factory=lambda: CoverageView(False, None))
    automation: AutomationSuccess = field(default_factory=lambda: AutomationSuccess.of(()))
    review_age_days: int = DEFAULT_REVIEW_AGE.days  # a review older than this is overdue

    def get(self, runbook_id: str) -> RunbookRow | None:
        return next((r for r in self.runbooks if r.id == runbook_id), None)


def _coverage_view(report: CoverageReport | None) -> CoverageView:
    if report is None:
        return CoverageView(configured=False, percent=None)
    return CoverageView(
        configured=True,
        percent=round(report.percent, 1),
        rules=tuple(
            RuleRow(r.rule.alert, r.rule.where, r.status, r.runbooks, r.depends_on)
            for r in report.rules
        ),
        unused=tuple(r.id for r in report.unused),
        problems=tuple(str(p) for p in report.problems),
    )


def _row(
    runbook: Runbook,
    *,
    global_mode: Mode,
    promoted: bool,
    problems: Sequence[str],
    rules: Sequence[str],
    effectiveness: RunbookEffectiveness | None,
    review: ReviewState,
) -> RunbookRow:
    runs_as, why = effective_mode(global_mode, runbook.policy.mode, None, promoted=promoted)
    return RunbookRow(
        id=runbook.id,
        title=runbook.title,
        file=runbook.file,
        hash=runbook.hash,
        priority=runbook.priority,
        match=tuple(str(m) for m in runbook.matchers),
        mode=runbook.policy.mode,
        runs_as=runs_as,
        runs_as_reason=why,
        promoted=promoted,
        steps=len(runbook.steps),
        problems=tuple(problems),
        rules=tuple(rules),
        effectiveness=effectiveness,
        review=review,
    )


def library_view(
    snapshot: LibrarySnapshot,
    *,
    since: datetime,
    global_mode: Mode,
    promoted: Collection[tuple[str, str]],
    effectiveness: Sequence[RunbookEffectiveness],
    rule_coverage: CoverageReport | None,
    automation: AutomationSuccess,
    today: date,
    review_age: timedelta,
) -> LibraryView:
    """Every loaded runbook (by id) with its review facts, and the files that fail;
    reviews are judged on ``today``."""
    failures = {f.file: f for f in snapshot.failures}
    by_runbook = {e.runbook_id: e for e in effectiveness}
    covered: Mapping[str, list[str]] = defaultdict(list)
    for rule in rule_coverage.rules if rule_coverage else ():
        for runbook_id in rule.runbooks:
            covered[runbook_id].append(rule.rule.alert)
    rows = tuple(
        _row(
            runbook,
            global_mode=global_mode,
            promoted=(runbook.id, runbook.hash) in promoted,
            problems=[str(p) for p in failures[runbook.file].problems]
            if runbook.file in failures
            else [],
            rules=covered.get(runbook.id, []),
            effectiveness=by_runbook.get(runbook.id),
            review=review_state(runbook.last_reviewed, today=today, max_age=review_age),
        )
        for runbook in sorted(snapshot.runbooks, key=lambda r: r.id)
    )
    return LibraryView(
        since=since,
        runbooks=rows,
        failures=tuple(
            FailedFile(f.file, tuple(str(p) for p in f.problems), f.keeping)
            for f in sorted(snapshot.failures, key=lambda f: f.file)
        ),
        coverage=_coverage_view(rule_coverage),
        automation=automation,
        review_age_days=review_age.days,
    )


def runbook_library(
    db: Database,
    snapshot: LibrarySnapshot,
    *,
    rule_files: Sequence[Path],
    global_mode: Mode,
    since: datetime,
    today: date,
    review_age: timedelta,
) -> LibraryView:
    """The library view, with effectiveness over incidents opened since ``since``."""
    report = None
    if rule_files:
        rules, problems = read_rules(rule_files)
        report = coverage(snapshot.index, rules)
        report.problems.extend(problems)
    with db.session() as session:
        promoted = queries_automation.promoted_versions(session)
    summary = summary_report(db, since=since)
    return library_view(
        snapshot,
        since=since,
        global_mode=global_mode,
        promoted=promoted,
        effectiveness=summary.runbooks,
        rule_coverage=report,
        automation=summary.automation,
        today=today,
        review_age=review_age,
    )


class LibrarySettings(Protocol):
    @property
    def alert_rule_files(self) -> list[Path]: ...

    @property
    def automation_mode(self) -> Mode: ...

    @property
    def runbook_review_age(self) -> timedelta: ...


class LibraryRuntime(Protocol):
    """What the library view reads of the running service (the API's and the console's)."""

    @property
    def db(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def runbooks(self) -> RunbookLibrary: ...

    @property
    def settings(self) -> LibrarySettings: ...


def library_for(runtime: LibraryRuntime, *, since: datetime | None = None) -> LibraryView:
    """The running service's library view; effectiveness over the last 90 days by default,
    reviews judged on today's date (UTC)."""
    now = runtime.clock()
    return runbook_library(
        runtime.db,
        runtime.runbooks.snapshot,
        rule_files=runtime.settings.alert_rule_files,
        global_mode=runtime.settings.automation_mode,
        since=since or now - DEFAULT_RANGE,
        today=now.astimezone(UTC).date(),
        review_age=runtime.settings.runbook_review_age,
    )
