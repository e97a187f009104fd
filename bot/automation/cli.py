"""``fireline automation``: the kill switch, its status, and promoting a runbook version."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Protocol

import typer
from rich.console import Console
from rich.table import Table

from bot.automation import service
from bot.clienv import cli_env
from bot.clock import utcnow
from bot.durations import parse_duration
from bot.errors import InvalidInputError
from bot.people.cli import allowed_or_exit
from bot.people.config import PeopleConfig
from bot.people.model import Action
from bot.runbooks.cli import load_library
from storage import queries_automation as automation_q
from storage.db import Database, sqlite_file_exists
from storage.errors import SQLAlchemyError

automation_app = typer.Typer(
    help="Runbook automation: pause, resume, status, promote.", no_args_is_help=True
)
console = Console()
errors = Console(stderr=True)

Scope = Annotated[str, typer.Option(help="global, runbook or service.")]
Target = Annotated[str, typer.Option(help="The runbook id or service name.")]
By = Annotated[str, typer.Option("--by", help="Who is doing this (recorded).")]


class AutomationSettings(Protocol):
    """The settings the automation commands read."""

    @property
    def automation_mode(self) -> str: ...

    @property
    def automation_budget(self) -> str: ...


class AutomationCliEnv(Protocol):
    @property
    def settings(self) -> AutomationSettings: ...

    def people(self) -> PeopleConfig: ...

    def database(self) -> Database: ...


def _env() -> AutomationCliEnv:
    env: AutomationCliEnv = cli_env()
    return env


def _database() -> Database:
    return _env().database()


def promotion_lookup(database_url: str) -> Callable[[str, str], bool | None]:
    """Whether a runbook version is promoted, read from the database when there is one
    with Fireline's schema; None (not known) otherwise. Never creates anything."""
    try:
        db = Database(database_url)
        if db.is_sqlite and not sqlite_file_exists(database_url):
            return lambda _id, _hash: None
        with db.session() as session:
            promoted = automation_q.promoted_versions(session)
        db.dispose()
    except SQLAlchemyError:
        return lambda _id, _hash: None
    return lambda runbook_id, runbook_hash: (runbook_id, runbook_hash) in promoted


@automation_app.command("pause")
def pause(
    reason: Annotated[str, typer.Option(help="Why (recorded and shown on every held step).")],
    by: By,
    scope: Scope = "global",
    target: Target = "",
    for_: Annotated[
        str | None, typer.Option("--for", help="How long, e.g. 2h; default: until resumed.")
    ] = None,
) -> None:
    """Stop every mutating step in scope before it starts."""
    now = utcnow()
    db = _database()
    by = allowed_or_exit(db, _env().people(), by, Action.PAUSE_AUTOMATION)
    try:
        until = now + parse_duration(for_) if for_ else None
        row = service.pause(
            db, scope=scope, target=target, by=by, reason=reason, until=until, now=now
        )
    except (ValueError, InvalidInputError) as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    ends = f" until {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else ""
    console.print(f"paused {scope} {target}{ends}".replace("  ", " "))


@automation_app.command("resume")
def resume(by: By, scope: Scope = "global", target: Target = "") -> None:
    """Lift the pauses in scope; a tripped circuit breaker is reset the same way."""
    db = _database()
    by = allowed_or_exit(db, _env().people(), by, Action.RESUME_AUTOMATION)
    lifted = service.resume(db, scope=scope, target=target, by=by, now=utcnow())
    if not lifted:
        console.print(f"nothing was paused for {scope} {target}".strip())
        return
    for row in lifted:
        console.print(f"lifted {row.kind} pause of {row.scope} {row.target}: {row.reason}")


@automation_app.command("status")
def status() -> None:
    """The pauses in force now."""
    settings = _env().settings
    pauses = service.pauses(_database(), now=utcnow())
    console.print(f"global mode: {settings.automation_mode}; budget: {settings.automation_budget}")
    if not pauses:
        console.print("no pauses: automation runs as the runbooks say")
        return
    table = Table("scope", "target", "kind", "by", "reason", "until")
    for row in pauses:
        until = f"{row.expires_at:%Y-%m-%d %H:%M}" if row.expires_at else "resumed by a person"
        table.add_row(row.scope, row.target, row.kind, row.paused_by, row.reason, until)
    console.print(table)


@automation_app.command("promote")
def promote(
    runbook_id: Annotated[str, typer.Argument(help="The runbook to promote.")],
    by: By,
    directory: Annotated[
        list[Path] | None, typer.Option("--dir", help="Runbook directory.")
    ] = None,
) -> None:
    """Let the current version (by content hash) of a runbook leave suggest mode."""
    runbook = load_library(directory).snapshot.get(runbook_id)
    if runbook is None:
        errors.print(f"[red]no loaded runbook {runbook_id!r}[/red]")
        raise typer.Exit(1)
    db = _database()
    by = allowed_or_exit(db, _env().people(), by, Action.PROMOTE_RUNBOOK)
    new = service.promote(db, runbook, by=by, now=utcnow())
    state = "promoted" if new else "was already promoted"
    console.print(f"{runbook.id} {runbook.hash[:12]} {state}")
