"""``fireline postmortem``, ``followups`` and ``report``: what incidents leave behind."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Protocol

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.clienv import cli_env
from bot.clock import utcnow
from bot.errors import FirelineError, InvalidInputError, NotFoundError
from bot.people.cli import allowed_or_exit
from bot.people.config import PeopleConfig
from bot.people.model import Action
from bot.postmortem import followups
from bot.postmortem.reports import parse_since, report_lines, summary_report
from bot.postmortem.service import DraftOptions, render_postmortem
from bot.runbooks.cli import RunbookSettings, load_library
from bot.runbooks.freshness import runbook_reviews
from storage.db import Database

followups_app = typer.Typer(help="Follow-up items incidents leave behind.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


class PostmortemCliEnv(Protocol):
    def database(self) -> Database: ...

    def people(self) -> PeopleConfig: ...

    def draft_options(self) -> DraftOptions: ...

    @property
    def settings(self) -> RunbookSettings: ...


def _env() -> PostmortemCliEnv:
    env: PostmortemCliEnv = cli_env()
    return env


def postmortem(
    incident_id: int,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the draft to this file.")
    ] = None,
) -> None:
    """Print the post-mortem draft of an incident (Markdown)."""
    env = _env()
    try:
        text = render_postmortem(env.database(), incident_id, env.draft_options())
    except NotFoundError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        errors.print(f"wrote {output}")


@followups_app.command("add")
def followups_add(
    incident_id: int,
    text: str,
    actor: Annotated[str, typer.Option(help="Who adds it.")] = "cli",
    owner: Annotated[str | None, typer.Option(help="Who will do it.")] = None,
    due: Annotated[
        str | None, typer.Option(help="When it is due: 2026-12-19, or 7d from now (default 14d).")
    ] = None,
    link: Annotated[str | None, typer.Option(help="Its issue tracker page.")] = None,
) -> None:
    """Add a follow-up item to an incident."""
    db = _env().database()
    actor = allowed_or_exit(db, _env().people(), actor, Action.ADD_NOTE, incident_id=incident_id)
    try:
        due_at = parse_since(due, now=utcnow(), ahead=True) if due else None
        item = followups.add_followup(
            db, incident_id, text=text, actor=actor, owner=owner, due=due_at, link=link
        )
    except FirelineError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"follow-up #{item.id} added to incident #{incident_id}")


@followups_app.command("list")
def followups_list(
    show_all: Annotated[bool, typer.Option("--all", help="Include done items.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open ones past due.")] = False,
) -> None:
    """List open follow-up items across incidents; overdue ones say so."""
    db = _env().database()
    now = utcnow()
    if overdue:
        items = followups.list_followups(db, overdue_at=now)
    else:
        items = followups.list_followups(db, status=None if show_all else "open")
    table = Table(title=f"Follow-ups ({len(items)})")
    for column in ("ID", "Incident", "State", "Owner", "Item", "Due (UTC)", "Added (UTC)"):
        table.add_column(column)
    for item in items:
        late = followups.is_overdue(item.status, item.due_at, now=now)
        table.add_row(
            str(item.id),
            str(item.incident_id),
            f"{item.status}, overdue" if late else item.status,
            item.owner or "",
            Text(f"{item.text} {item.link}" if item.link else item.text),
            item.due_at.strftime("%Y-%m-%d") if item.due_at else "",
            item.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)


@followups_app.command("done")
def followups_done(
    followup_id: int, actor: Annotated[str, typer.Option(help="Who closes it.")] = "cli"
) -> None:
    """Mark a follow-up item done."""
    db = _env().database()
    actor = allowed_or_exit(db, _env().people(), actor, Action.ADD_NOTE)
    try:
        followups.mark_done(db, followup_id, actor=actor)
    except NotFoundError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"follow-up #{followup_id} done")


def report(
    since: Annotated[str | None, typer.Option(help="A time, or a duration ago: 7d.")] = None,
    until: Annotated[str | None, typer.Option(help="A time, or a duration ago.")] = None,
) -> None:
    """Summarise incidents: response times, escalations, runbook effectiveness, reviews.

    Each runbook's effectiveness is measured against its target, and each loaded
    runbook's review is shown with whether it is overdue."""
    db = _env().database()
    now = utcnow()
    try:
        start = parse_since(since, now=now) if since else None
        end = parse_since(until, now=now) if until else None
    except InvalidInputError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    summary = summary_report(db, since=start, until=end)
    reviews = runbook_reviews(
        load_library(None).snapshot.runbooks,
        today=now.date(),
        max_age=_env().settings.runbook_review_age,
    )
    for line in report_lines(summary, reviews):
        console.print(line, highlight=False, markup=False)
