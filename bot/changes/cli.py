"""``fireline changes add|list``: record a change from a CI job or a terminal, list them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Protocol

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.changes import service
from bot.changes.api import ChangeIn, ChangeOut, facts_of
from bot.clienv import cli_env
from bot.clock import utcnow
from bot.errors import InvalidInputError
from bot.people.cli import allowed_or_exit
from bot.people.config import PeopleConfig
from bot.people.model import Action
from storage.db import Database

changes_app = typer.Typer(
    help="Deploys, config changes, flag flips and rollbacks, for 'what changed?'.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)


class ChangesCliEnv(Protocol):
    def database(self) -> Database: ...

    def people(self) -> PeopleConfig: ...

    def change_window(self) -> timedelta: ...


def _labels(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            errors.print(f"--label: {item!r} is not NAME=VALUE", highlight=False)
            raise typer.Exit(2)
        pairs[key] = value
    return pairs


@changes_app.command("add")
def add(
    service_name: Annotated[str, typer.Option("--service", help="The service changed.")],
    kind: Annotated[str, typer.Option("--kind", help="deploy, config, flag or rollback.")] = (
        "deploy"
    ),
    version: Annotated[str | None, typer.Option("--version", help="What now runs.")] = None,
    previous: Annotated[
        str | None, typer.Option("--previous", help="What ran before (default: the last deploy).")
    ] = None,
    environment: Annotated[str | None, typer.Option("--env", help="prod, staging...")] = None,
    summary: Annotated[str, typer.Option("--summary", help="One line on what changed.")] = "",
    link: Annotated[str | None, typer.Option("--link", help="The pipeline or PR.")] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="NAME=VALUE, repeatable.")
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="When (ISO 8601; default now).")] = None,
    change_id: Annotated[
        str | None, typer.Option("--id", help="The sender's id: sent twice, stored once.")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who changed it.")] = "cli",
) -> None:
    """Record a change (record_change); open incidents it may have caused get it too."""
    env: ChangesCliEnv = cli_env()
    try:
        body = ChangeIn.model_validate(
            {
                "kind": kind,
                "service": service_name,
                "version": version,
                "previous_version": previous,
                "environment": environment,
                "summary": summary,
                "link": link,
                "labels": _labels(label or []),
                "at": at,
                "id": change_id,
                "by": by,
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        errors.print(f"[red]refused:[/red] {escape(where)}: {escape(first['msg'])}")
        raise typer.Exit(2) from exc
    db = env.database()
    try:
        actor = allowed_or_exit(db, env.people(), by, Action.RECORD_CHANGE)
        now = utcnow()
        recorded = service.record(
            db,
            facts_of(body, actor=actor, source="cli", now=now),
            recorded_by=actor,
            window=env.change_window(),
            now=now,
        )
    except InvalidInputError as exc:
        errors.print(f"[red]refused:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    change = recorded.change
    verb = "recorded" if recorded.created else "already recorded as"
    line = f"{verb} change {change.id}: {change.kind} {change.service} {change.version or ''}"
    if recorded.incidents:
        line += " · attached to " + ", ".join(f"#{i}" for i in recorded.incidents)
    console.print(escape(line.replace("  ", " ")), highlight=False)


@changes_app.command("list")
def list_changes(
    service_name: Annotated[
        str | None, typer.Option("--service", help="Only this service.")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO 8601 time.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Changes, newest first."""
    env: ChangesCliEnv = cli_env()
    try:
        start = datetime.fromisoformat(since) if since else None
    except ValueError as exc:
        errors.print(f"--since: {since!r} is not an ISO 8601 time", highlight=False)
        raise typer.Exit(2) from exc
    db = env.database()
    try:
        rows = service.list_changes(db, service=service_name, since=start, limit=limit)
    finally:
        db.dispose()
    out = [ChangeOut.of(r) for r in rows]
    if as_json:
        typer.echo(json.dumps([o.model_dump(mode="json") for o in out], indent=2))
        return
    table = Table("id", "at (UTC)", "kind", "service", "version", "env", "by", title="Changes")
    for o in out:
        table.add_row(
            str(o.id),
            o.at.strftime("%Y-%m-%d %H:%M"),
            o.kind,
            escape(o.service),
            escape(o.version or "-"),
            escape(o.environment or "-"),
            escape(o.by),
        )
    console.print(table)
