"""``fireline maintenance start|list|end``: maintenance windows, straight in the database."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Protocol

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.clienv import cli_env
from bot.clock import utcnow
from bot.errors import ConflictError, InvalidInputError, NotFoundError
from bot.maintenance import service
from bot.people.cli import allowed_or_exit
from bot.people.config import PeopleConfig
from bot.people.model import Action
from storage.db import Database

maintenance_app = typer.Typer(
    help="Maintenance windows: incidents are recorded, pages and remediation wait.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)


class MaintenanceCliEnv(Protocol):
    def database(self) -> Database: ...

    def people(self) -> PeopleConfig: ...

    def maintenance(self) -> service.Maintenance: ...


def _instant(option: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        errors.print(f"{option}: {text!r} is not an ISO 8601 time", highlight=False)
        raise typer.Exit(2) from exc


@maintenance_app.command("start")
def start(
    reason: Annotated[str, typer.Option("--reason", help="Why (shown on every held incident).")],
    match: Annotated[
        list[str] | None, typer.Option("--match", help='A label matcher such as team="db".')
    ] = None,
    service_name: Annotated[
        str | None, typer.Option("--service", help="The incidents' service.")
    ] = None,
    duration: Annotated[str | None, typer.Option("--for", help="How long: 2h, 90m.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="When it ends (ISO 8601).")] = None,
    starts: Annotated[
        str | None, typer.Option("--from", help="When it starts (default: now).")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who starts it.")] = "cli",
) -> None:
    """Start a maintenance window (start_maintenance)."""
    env: MaintenanceCliEnv = cli_env()
    db = env.database()
    try:
        actor = allowed_or_exit(db, env.people(), by, Action.START_MAINTENANCE)
        window = service.create_window(
            db,
            matchers=match or [],
            service=service_name,
            starts_at=_instant("--from", starts),
            ends_at=_instant("--until", until),
            duration=duration,
            created_by=actor,
            reason=reason,
            now=utcnow(),
        )
    except InvalidInputError as exc:
        errors.print(f"[red]refused:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    console.print(
        f"maintenance window {window.key} until {window.ends_at.isoformat()}: "
        f"{escape(window.describe())}",
        highlight=False,
    )


@maintenance_app.command("list")
def list_windows(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Windows running now or still to come, the config file's included."""
    env: MaintenanceCliEnv = cli_env()
    db = env.database()
    try:
        listed = service.list_windows(db, env.maintenance(), now=utcnow())
    finally:
        db.dispose()
    if as_json:
        rows = [
            {
                "id": x.window.key,
                "covers": x.window.describe(),
                "starts_at": x.window.starts_at.isoformat(),
                "ends_at": x.window.ends_at.isoformat(),
                "created_by": x.window.created_by,
                "reason": x.window.reason,
                "active": x.active,
            }
            for x in listed
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "covers", "until (UTC)", "by", "reason", "on", title="Maintenance")
    for x in listed:
        w = x.window
        table.add_row(
            escape(w.key),
            escape(w.describe()),
            w.ends_at.strftime("%Y-%m-%d %H:%M"),
            escape(w.created_by),
            escape(w.reason),
            "yes" if x.active else "later",
        )
    console.print(table)


@maintenance_app.command("end")
def end(
    window_id: int,
    by: Annotated[str, typer.Option("--by", help="Who ends it.")] = "cli",
) -> None:
    """End a stored window now (end_maintenance); a running service re-evaluates what it
    held within its maintenance tick."""
    env: MaintenanceCliEnv = cli_env()
    db = env.database()
    try:
        actor = allowed_or_exit(db, env.people(), by, Action.END_MAINTENANCE)
        service.end_window(db, window_id, by=actor, now=utcnow())
    except (NotFoundError, ConflictError) as exc:
        errors.print(escape(str(exc)), highlight=False)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    console.print(f"maintenance window {window_id} ended by {escape(actor)}", highlight=False)
