"""``fireline runbooks``: lint, match, list and coverage."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

import typer
from rich.console import Console
from rich.table import Table

from actions.registry import default_registry
from bot.clienv import cli_env
from bot.clock import utcnow
from bot.runbooks.freshness import review_age
from bot.runbooks.lint import LintReport, lint_paths
from bot.runbooks.loader import RunbookLibrary
from bot.runbooks.params import resolve_params
from bot.runbooks.selection import select_runbook

runbooks_app = typer.Typer(help="Runbooks: lint, selection and coverage.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)

Format = Literal["text", "json"]
Dirs = Annotated[
    list[Path] | None,
    typer.Option("--dir", help="Runbook directory (default: FIRELINE_RUNBOOK_DIRS)."),
]


class RunbookSettings(Protocol):
    """The settings the runbook commands read."""

    @property
    def runbook_dirs(self) -> list[Path]: ...

    @property
    def trusted_runbook_dirs(self) -> list[Path]: ...

    @property
    def runbook_review_age(self) -> timedelta: ...


class RunbooksCliEnv(Protocol):
    @property
    def settings(self) -> RunbookSettings: ...


def _settings() -> RunbookSettings:
    env: RunbooksCliEnv = cli_env()
    return env.settings


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            errors.print(f"[red]{what} {item!r}: write it as name=value[/red]")
            raise typer.Exit(2)
        out[name] = value
    return out


def load_library(dirs: list[Path] | None) -> RunbookLibrary:
    settings = _settings()
    library = RunbookLibrary(
        dirs or settings.runbook_dirs,
        registry=default_registry(),
        trusted_dirs=settings.trusted_runbook_dirs,
    )
    library.reload()
    for failure in library.snapshot.failures:
        for problem in failure.problems:
            errors.print(f"[yellow]not loaded:[/yellow] {problem}", highlight=False)
    return library


def _review_age(text: str | None, default: timedelta) -> timedelta:
    if text is None:
        return default
    try:
        return review_age(text)
    except ValueError as exc:
        errors.print(f"[red]--review-age: {exc}[/red]", highlight=False)
        raise typer.Exit(2) from None


@runbooks_app.command("lint")
def lint(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or directories.")] = None,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    review_age: Annotated[
        str | None,
        typer.Option(
            "--review-age",
            help="Warn when last_reviewed is older than this (default: "
            "FIRELINE_RUNBOOK_REVIEW_AGE, 90d).",
        ),
    ] = None,
) -> None:
    """Check runbooks; print every problem as file:line: message; exit 1 if any. A review
    that is overdue or missing is a warning, which does not fail."""
    settings = _settings()
    targets = paths or settings.runbook_dirs
    report = lint_paths(
        targets,
        registry=default_registry(),
        trusted_dirs=settings.trusted_runbook_dirs,
        today=utcnow().date(),
        review_age=_review_age(review_age, settings.runbook_review_age),
    )
    if output == "json":
        body = {
            "files": report.files,
            "runbooks": [r.id for r in report.runbooks],
            "problems": [p.as_dict() for p in report.problems],
            "warnings": [w.as_dict() for w in report.warnings],
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    else:
        _print_lint(report)
    if report.problems:
        raise typer.Exit(1)


def _print_lint(report: LintReport) -> None:
    for problem in report.problems:
        sys.stdout.write(f"{problem}\n")
    for warning in report.warnings:
        sys.stdout.write(f"{warning.file}:{warning.line}: warning: {warning.message}\n")
    summary = (
        f"{len(report.files)} file(s), {len(report.problems)} problem(s), "
        f"{len(report.warnings)} warning(s)"
    )
    errors.print(summary, highlight=False)


@runbooks_app.command("match")
def match(
    labels: Annotated[list[str], typer.Argument(help="Alert labels: alertname=X service=Y")],
    annotation: Annotated[
        list[str] | None, typer.Option("--annotation", "-a", help="name=value")
    ] = None,
    dirs: Dirs = None,
) -> None:
    """Show which runbook an alert with these labels gets, why, and the near misses."""
    alert_labels = _pairs(labels, "label")
    annotations = _pairs(annotation or [], "annotation")
    library = load_library(dirs)
    selection = select_runbook(library.index, alert_labels, annotations)
    chosen = selection.chosen
    if chosen is not None:
        console.print(f"[bold green]{chosen.id}[/bold green] — {chosen.title}", highlight=False)
        console.print(f"  file: {chosen.file}", highlight=False)
        console.print(f"  why: {selection.reason}", highlight=False)
        resolution = resolve_params(chosen.params, labels=alert_labels, annotations=annotations)
        for name, value in resolution.as_json().items():
            console.print(f"  param {name} = {value!r}", highlight=False)
        for name, problem in resolution.errors.items():
            console.print(f"  [red]param {name}: {problem}[/red]", highlight=False)
    elif selection.tie:
        console.print(f"[bold yellow]tie[/bold yellow]: {selection.reason}", highlight=False)
    else:
        console.print(f"[bold red]no runbook[/bold red]: {selection.reason}", highlight=False)
    if selection.near_misses:
        table = Table(title="Near misses")
        table.add_column("Runbook")
        table.add_column("Priority")
        table.add_column("Failed matchers")
        for miss in selection.near_misses:
            table.add_row(miss.runbook_id, str(miss.priority), ", ".join(miss.failed))
        console.print(table)
    if chosen is None:
        raise typer.Exit(1)


@runbooks_app.command("list")
def list_runbooks(dirs: Dirs = None) -> None:
    """List the runbooks that load, and the files that do not."""
    library = load_library(dirs)
    table = Table(title=f"Runbooks ({len(library.snapshot.runbooks)})")
    for column in ("ID", "Priority", "Mode", "Match", "File"):
        table.add_column(column)
    for runbook in sorted(library.snapshot.runbooks, key=lambda r: r.id):
        table.add_row(
            runbook.id,
            str(runbook.priority),
            runbook.policy.mode,
            ", ".join(str(m) for m in runbook.matchers),
            runbook.file,
        )
    console.print(table)


@runbooks_app.command("coverage")
def coverage_command(
    rule_files: Annotated[list[Path], typer.Argument(help="Prometheus rule files.")],
    dirs: Dirs = None,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any alert rule has no runbook.")
    ] = False,
) -> None:
    """List alert rules that no runbook would match, and runbooks that match no rule."""
    from bot.runbooks.coverage import coverage, read_rules

    rules, problems = read_rules(rule_files)
    for problem in problems:
        errors.print(f"[red]{problem}[/red]", highlight=False)
    library = load_library(dirs)
    report = coverage(library.index, rules)
    uncovered = report.with_status("uncovered")
    if output == "json":
        body = {
            "rules": [r.as_dict() for r in report.rules],
            "unused_runbooks": [{"id": r.id, "file": r.file} for r in report.unused],
            "percent": round(report.percent, 1),
            "problems": [p.as_dict() for p in problems],
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    else:
        _print_coverage(report)
    if problems or (strict and uncovered):
        raise typer.Exit(1)


def _print_coverage(report: Any) -> None:
    total = len(report.rules)
    covered = len(report.with_status("covered", "annotation"))
    out = sys.stdout.write
    out(f"{covered} of {total} alert rules have a runbook ({report.percent:.0f}%)\n")
    sections = [
        ("uncovered", "No runbook would match"),
        ("conditional", "Matched only if the firing series carry these labels"),
        ("tie", "Several runbooks tie: priority does not decide"),
    ]
    for status, title in sections:
        items = report.with_status(status)
        if not items:
            continue
        out(f"\n{title} ({len(items)}):\n")
        for item in items:
            line = f"  {item.rule.where}: {item.rule.alert} (group {item.rule.group})"
            if item.runbooks:
                line += f" -> {', '.join(item.runbooks)}"
            if item.depends_on:
                line += f" [depends on {', '.join(item.depends_on)}]"
            out(line + "\n")
    if report.unused:
        out(f"\nRunbooks that match no alert rule ({len(report.unused)}):\n")
        for runbook in report.unused:
            out(f"  {runbook.file}:{runbook.line_of('match')}: {runbook.id}\n")
