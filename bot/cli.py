"""The ``fireline`` command."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.config import Settings, load_settings
from bot.errors import ConfigError, NotFoundError
from bot.logs import configure_logging
from bot.services import incidents as incident_service
from storage import migrate, queries
from storage.db import Database

app = typer.Typer(help="Fireline: incident response and runbook automation.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
incidents_app = typer.Typer(help="Look at incidents.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(incidents_app, name="incidents")

console = Console()
errors = Console(stderr=True)


def settings_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        errors.print(f"[red]configuration error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc


def database(settings: Settings) -> Database:
    return Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Run the service: webhook, API, triage."""
    import uvicorn

    from bot.main import create_app

    settings = settings_or_exit(host=host, port=port)
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Apply the database migrations."""
    settings = settings_or_exit()
    db = database(settings)
    migrate.upgrade(db, revision)
    console.print(f"database at revision {', '.join(sorted(migrate.current_revisions(db)))}")


_STATUS_STYLE = {"open": "red", "acknowledged": "yellow", "resolved": "green"}


@incidents_app.command("list")
def incidents_list(
    status: Annotated[list[str] | None, typer.Option(help="open, acknowledged, resolved")] = None,
    severity: Annotated[list[str] | None, typer.Option(help="SEV1..SEV4")] = None,
    limit: int = 50,
) -> None:
    """List incidents, newest first."""
    db = database(settings_or_exit())
    with db.session() as session:
        items, total = queries.list_incidents(
            session, statuses=status or (), severities=severity or (), limit=limit
        )
    table = Table(title=f"Incidents ({len(items)} of {total})")
    for column in ("ID", "Severity", "Status", "Service", "Title", "Opened (UTC)"):
        table.add_column(column)
    for item in items:
        style = _STATUS_STYLE.get(item.status, "")
        table.add_row(
            str(item.id),
            item.severity,
            f"[{style}]{item.status}[/{style}]",
            item.service or "",
            item.title,
            item.opened_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)


@incidents_app.command("show")
def incidents_show(incident_id: int) -> None:
    """Show one incident, its alerts and its timeline."""
    db = database(settings_or_exit())
    try:
        detail = incident_service.get_incident(db, incident_id)
        events = incident_service.get_timeline(db, incident_id)
    except NotFoundError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    incident = detail.incident
    console.print(f"[bold]#{incident.id} {incident.title}[/bold]")
    console.print(
        f"{incident.severity} · {incident.status} · service {incident.service or '-'} · "
        f"started {incident.started_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    alerts = Table(title="Alerts")
    for column in ("Fingerprint", "Status", "Labels", "Starts (UTC)"):
        alerts.add_column(column)
    for alert in detail.alerts:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
        alerts.add_row(alert.fingerprint, alert.status, labels, f"{alert.starts_at:%H:%M:%S}")
    console.print(alerts)
    timeline = Table(title="Timeline")
    for column in ("Time (UTC)", "Kind", "Actor", "What"):
        timeline.add_column(column)
    for event in events:
        timeline.add_row(f"{event.at:%Y-%m-%d %H:%M:%S}", event.kind, event.actor, event.text)
    console.print(timeline)


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        errors.print(f"[red]configuration error:[/red] {exc}", highlight=False)
        sys.exit(2)
