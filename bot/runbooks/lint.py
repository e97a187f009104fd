"""Runbook lint: every problem, each as ``file:line: message``, before anything loads.

Parse problems (YAML, unknown fields, bad matchers, malformed steps) come from the parser;
this module adds the checks that need the whole runbook or the action catalog. Warnings
(a review that is overdue or missing) are reported apart and never fail lint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from actions.registry import ActionRegistry
from bot.durations import format_duration
from bot.runbooks.freshness import DEFAULT_REVIEW_AGE, Review, review_state
from bot.runbooks.model import SHELL_ACTION, ParamType, Problem, Runbook, Step, StepKind
from bot.runbooks.parser import ParseResult, parse_runbook

TEMPLATE_SYNTAX = re.compile(r"\{\{|\{%|\$\{?\s*\.?(?:labels|annotations|Labels|Annotations)\b")
README = "README.md"


def lint_runbook(
    result: ParseResult, *, registry: ActionRegistry, trusted: bool | None = None
) -> list[Problem]:
    """Every problem of one parsed file; ``trusted`` None skips the trusted-directory rule."""
    problems = list(result.problems)
    runbook = result.runbook
    if runbook is not None:
        problems += _check(runbook, registry, trusted)
    return sorted(problems, key=lambda p: (p.file, p.line, p.message))


def _check(runbook: Runbook, registry: ActionRegistry, trusted: bool | None) -> list[Problem]:
    out: list[Problem] = []

    def problem(line: int, message: str, rule: str) -> None:
        out.append(Problem(runbook.file, line, message, rule))

    seen: dict[str, int] = {}
    for index, step in enumerate(runbook.steps):
        if step.id in seen:
            problem(
                step.line,
                f"duplicate step id {step.id!r} (first at line {seen[step.id]})",
                "duplicate-id",
            )
        else:
            seen[step.id] = step.line
        earlier = {s.id for s in runbook.steps[:index]}
        _check_step(runbook, step, earlier, registry, trusted, problem)
    has_rollback = any(s.kind is StepKind.ROLLBACK for s in runbook.steps)
    if runbook.verify is not None and runbook.verify.on_fail == "rollback" and not has_rollback:
        problem(
            runbook.line_of("verify", "on_fail"),
            "verify.on_fail is rollback but no step has kind rollback",
            "step-ref",
        )
    return out


def _check_step(
    runbook: Runbook,
    step: Step,
    earlier: set[str],
    registry: ActionRegistry,
    trusted: bool | None,
    problem: Any,
) -> None:
    if not step.description:
        problem(
            step.line,
            f"step {step.id!r} has no description: write a paragraph just above it",
            "description",
        )
    for number, text in enumerate(step.body.splitlines()):
        found = TEMPLATE_SYNTAX.search(text)
        if found:
            problem(
                step.body_line + number,
                f"template syntax {found.group(0)!r} in step {step.id!r}: alert data reaches a "
                "step only as a typed parameter (params.NAME, or RB_NAME in a shell step)",
                "template",
            )
    if step.kind is StepKind.REMEDIATE and runbook.policy.mode == "auto" and not step.safe:
        problem(
            step.line,
            f"remediate step {step.id!r} in a runbook whose mode is auto must be marked "
            '"safe": true (or the runbook uses mode approve)',
            "unsafe-auto",
        )
    if step.retries and not step.idempotent:
        problem(
            step.line,
            f'step {step.id!r} has retries but is not marked "idempotent": true',
            "retries",
        )
    for condition in step.when:
        if condition.outcome != "preceded" and condition.step not in earlier:
            where = "a later step" if runbook.step(condition.step) else "no step"
            problem(
                step.line,
                f"when of step {step.id!r} names {condition.step!r}, which is {where}; "
                "it must name an earlier step",
                "step-ref",
            )
    if step.rollback is not None:
        target = runbook.step(step.rollback)
        if target is None:
            problem(
                step.line,
                f"rollback of step {step.id!r} names {step.rollback!r}, which is no step",
                "step-ref",
            )
        elif target.kind is not StepKind.ROLLBACK:
            problem(
                step.line,
                f"rollback of step {step.id!r} names {step.rollback!r}, whose kind is "
                f"{target.kind}, not rollback",
                "step-ref",
            )
    if step.uses == SHELL_ACTION and trusted is False:
        problem(
            step.line,
            f"step {step.id!r} runs a command, which only runbooks in a trusted directory may "
            "do (FIRELINE_TRUSTED_RUNBOOK_DIRS)",
            "untrusted-shell",
        )
    for name, line in step.param_refs():
        if name not in runbook.params:
            problem(
                line,
                f"step {step.id!r} uses params.{name}, which the front matter does not declare",
                "param-ref",
            )
    _check_action(runbook, step, registry, problem)


def _sample(runbook: Runbook, name: str) -> Any:
    spec = runbook.params.get(name)
    if spec is None:
        return "x"
    return {
        ParamType.INT: 1,
        ParamType.DURATION: timedelta(minutes=1),
        ParamType.ENUM: spec.values[0] if spec.values else "x",
    }.get(spec.kind, "name")


def _check_action(runbook: Runbook, step: Step, registry: ActionRegistry, problem: Any) -> None:
    action = registry.get(step.uses)
    if action is None:
        known = ", ".join(registry.names()) or "none registered"
        problem(step.body_line, f"unknown action {step.uses!r} (known: {known})", "unknown-action")
        return
    samples = {name: _sample(runbook, name) for name in runbook.params}
    with_refs = {key for key, value in step.args.items() if _has_ref(value)}
    try:
        action.Args.model_validate(step.resolved_args(_Defaulting(samples)))
    except ValidationError as exc:
        for error in exc.errors():
            loc = error["loc"]
            key = str(loc[0]) if loc else ""
            line = step.arg_lines.get(key, step.body_line)
            if error["type"] == "missing":
                problem(step.body_line, f"action {step.uses} needs argument {key!r}", "action-args")
            elif error["type"] == "extra_forbidden":
                takes = ", ".join(sorted(action.Args.model_fields))
                problem(
                    line,
                    f"action {step.uses} has no argument {key!r} (it takes: {takes})",
                    "action-args",
                )
            elif key not in with_refs:
                where = ".".join(str(p) for p in loc)
                message = str(error["msg"]).removeprefix("Value error, ")
                problem(line, f"argument {where!r} of {step.uses}: {message}", "action-args")


class _Defaulting(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        return "x"


def _has_ref(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith("params.")
    if isinstance(value, dict):
        return any(_has_ref(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_ref(v) for v in value)
    return False


def review_warnings(runbook: Runbook, *, today: date, max_age: timedelta) -> list[Problem]:
    """A warning when ``runbook`` is due for review (or dated after ``today``)."""
    state = review_state(runbook.last_reviewed, today=today, max_age=max_age)
    age = format_duration(max_age)
    if state.status is Review.MISSING:
        message = (
            f"runbook {runbook.id!r} has no last_reviewed: review it and add the date, "
            f"such as last_reviewed: {today.isoformat()}"
        )
        return [Problem(runbook.file, runbook.line_of(), message, "review-missing")]
    line = runbook.line_of("last_reviewed")
    if state.status is Review.OVERDUE:
        message = (
            f"runbook {runbook.id!r} was last reviewed {state.age_days} days ago "
            f"({runbook.last_reviewed}), longer than {age}: review it and update last_reviewed"
        )
        return [Problem(runbook.file, line, message, "review-overdue")]
    if state.status is Review.FUTURE:
        message = f"last_reviewed {runbook.last_reviewed} of runbook {runbook.id!r} is after today"
        return [Problem(runbook.file, line, message, "review-future")]
    return []


def runbook_files(paths: Iterable[Path]) -> list[Path]:
    """The runbook files named: files as given, directories searched for ``*.md``
    (their README.md is the format's reference, not a runbook). Hidden entries are
    skipped: a Kubernetes ConfigMap volume keeps each file twice, once under a hidden
    ``..TIMESTAMP`` folder, and a runbook must load once."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*.md")
                if p.name != README
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found


def is_under(path: Path, dirs: Sequence[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(d.resolve()) for d in dirs)


@dataclass
class LintReport:
    files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    runbooks: list[Runbook] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def lint_paths(
    paths: Sequence[Path],
    *,
    registry: ActionRegistry,
    trusted_dirs: Sequence[Path] | None = None,
    today: date | None = None,
    review_age: timedelta = DEFAULT_REVIEW_AGE,
) -> LintReport:
    """Lint files and directories together, so duplicate runbook ids across files show.
    With ``today``, each runbook's review is checked against ``review_age`` (warnings)."""
    report = LintReport()
    first_seen: dict[str, Runbook] = {}
    for path in runbook_files(paths):
        name = str(path)
        report.files.append(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            report.problems.append(Problem(name, 1, f"cannot read: {exc.strerror}", "io"))
            continue
        result = parse_runbook(data, file=name)
        trusted = None if trusted_dirs is None else is_under(path, trusted_dirs)
        report.problems += lint_runbook(result, registry=registry, trusted=trusted)
        runbook = result.runbook
        if runbook is None:
            continue
        other = first_seen.get(runbook.id)
        if other is not None:
            report.problems.append(
                Problem(
                    name,
                    runbook.line_of("id"),
                    f"duplicate runbook id {runbook.id!r} "
                    f"(also in {other.file}:{other.line_of('id')})",
                    "duplicate-id",
                )
            )
        else:
            first_seen[runbook.id] = runbook
            report.runbooks.append(runbook)
        if today is not None:
            report.warnings += review_warnings(runbook, today=today, max_age=review_age)
    return report
