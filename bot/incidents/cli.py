"""``fireline incidents``: look at incidents from a terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Protocol

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.clienv import cli_env
from bot.errors import NotFoundError
from bot.incidents import service as incident_service
from bot.incidents.decide import IncidentStatus, Severity
from bot.incidents.timeline import timeline_lines
from storage.db import Database

incidents_app = typer.Typer(help="Look at incidents.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


class IncidentsCliEnv(Protocol):
    def database(self) -> Database: ...


def _env() -> IncidentsCliEnv:
    env: IncidentsCliEnv = cli_env()
    return env


def one_of(*allowed: str) -> Callable[[list[str] | None], list[str] | None]:
    """A repeatable option's check, as the API validates the same query: a value outside
    ``allowed`` is an error (exit 2), not an empty table. Case does not matter."""

    def check(values: list[str] | None) -> list[str] | None:
        by_fold = {a.casefold(): a for a in allowed}
        for value in values or ():
            if value.casefold() not in by_fold:
                raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}")
        return [by_fold[v.casefold()] for v in values] if values else values

    return check


STATUS_CHOICE = one_of(*(s.value for s in IncidentStatus))
SEVERITY_CHOICE = one_of(*(s.name for s in Severity))
_STATUS_STYLE = {"open": "red", "acknowledged": "yellow", "resolved": "green"}


@incidents_app.command("list")
def incidents_list(
    status: Annotated[
        list[str] | None,
        typer.Option(help="Only these statuses (repeatable).", callback=STATUS_CHOICE),
    ] = None,
    severity: Annotated[
        list[str] | None,
        typer.Option(help="Only these severities (repeatable).", callback=SEVERITY_CHOICE),
    ] = None,
    limit: int = 50,
) -> None:
    """List incidents, newest first."""
    items, total = incident_service.list_incidents(
        _env().database(), statuses=status or (), severities=severity or (), limit=limit
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
    db = _env().database()
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
    for line in timeline_lines(events):
        timeline.add_row(line.utc, line.kind, line.actor, Text(line.text))
    console.print(timeline)
