"""The ``fireline`` command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.app.settings import Settings, load_settings
from bot.automation.cli import automation_app
from bot.errors import ConfigError, NotFoundError
from bot.escalation.cli import oncall
from bot.incidents import service as incident_service
from bot.logs import configure_logging
from bot.postmortem.text import timeline_lines
from bot.runbooks.cli import runbooks_app
from storage import migrate, queries
from storage.db import Database

app = typer.Typer(help="Fireline: incident response and runbook automation.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
incidents_app = typer.Typer(help="Look at incidents.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(incidents_app, name="incidents")
followups_app = typer.Typer(help="Follow-up items incidents leave behind.", no_args_is_help=True)
app.add_typer(followups_app, name="followups")
app.add_typer(runbooks_app, name="runbooks")
app.add_typer(automation_app, name="automation")
app.command("oncall")(oncall)

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

    from bot.app.main import create_app

    settings = settings_or_exit(host=host, port=port)
    configure_logging(settings.log_level, settings.log_format, secrets=settings.secret_values())
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
    )


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port for Fireline's API (0: any free port).")] = 0,
    replay: Annotated[
        bool, typer.Option(help="Replay Alertmanager's webhooks even if it is installed.")
    ] = False,
    keep_serving: Annotated[
        bool, typer.Option(help="Keep serving the API after the story ends, until Ctrl-C.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the resolution.")] = 180,
) -> None:
    """Watch an alert become a remediated, resolved incident with a post-mortem draft."""
    from bot.demo.run import DemoError, run_demo

    try:
        result = run_demo(
            console,
            port=port,
            use_binaries=not replay,
            keep_serving=keep_serving,
            timeout=timeout,
        )
    except DemoError as exc:
        errors.print(f"[red]demo failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    if not (result.resolved and result.verification == "passed"):
        raise typer.Exit(1)


@app.command()
def simulate(
    payload: Annotated[Path, typer.Argument(help="An Alertmanager webhook body (JSON).")],
    require_runbook: Annotated[
        bool, typer.Option(help="Exit 1 when a firing alert matches no runbook.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print what Fireline would do with a payload, touching nothing."""
    import json

    from pydantic import ValidationError

    from bot.automation.cli import promotion_lookup
    from bot.clock import utcnow
    from bot.escalation.service import EscalationRules
    from bot.ingest.model import WebhookPayload
    from bot.runbooks.cli import load_library
    from bot.simulate.service import simulate as run_simulation

    settings = settings_or_exit()
    try:
        body = WebhookPayload.model_validate_json(payload.read_bytes())
    except OSError as exc:
        errors.print(f"[red]{payload}: {exc.strerror}[/red]")
        raise typer.Exit(2) from exc
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            errors.print(f"[red]{payload}: {where}: {error['msg']}[/red]")
        raise typer.Exit(2) from exc
    library = load_library(None)
    result = run_simulation(
        body,
        rules=settings.triage.compiled(),
        index=library.index,
        registry=library.registry,
        escalation=EscalationRules.from_settings(settings) if settings.escalation.enabled else None,
        global_mode=settings.automation_mode,
        promoted=promotion_lookup(settings),
        now=utcnow(),
    )
    if as_json:
        print(json.dumps(result.as_json(), indent=2, default=str))
    else:
        _print_simulation(result)
    if require_runbook and result.unmatched:
        names = ", ".join(a.alertname for a in result.unmatched)
        errors.print(f"[red]no runbook for: {names}[/red]")
        raise typer.Exit(1)


def _print_simulation(result: Any) -> None:
    console.print(f"[bold]group[/bold] {result.receiver} / {result.group_key}")
    for alert in result.alerts:
        console.print()
        console.print(
            f"[bold]{alert.alertname}[/bold] ({alert.status}, {alert.fingerprint}) -> "
            f"incident [{alert.severity}] {alert.title}",
            highlight=False,
        )
        facts = [f"service {alert.service}"] if alert.service else []
        facts += [f"signal {alert.signal}"] if alert.signal else []
        facts += [f"rules {', '.join(alert.triage_rules)}"] if alert.triage_rules else []
        if facts:
            console.print("  triage: " + "; ".join(facts), highlight=False)
        console.print(f"  runbook: {alert.runbook or 'none'} ({alert.selection})", highlight=False)
        for name, value in alert.params.items():
            console.print(f"    param {name} = {value!r}", highlight=False)
        for name, problem in alert.param_errors.items():
            console.print(f"    [red]param {name} refused: {problem}[/red]", highlight=False)
        if alert.steps:
            table = Table("step", "kind", "action", "gate", "why", "arguments")
            for step in alert.steps:
                args = ", ".join(f"{k}={v}" for k, v in step.args.items())
                table.add_row(step.step_id, step.kind, step.action, step.gate, step.reason, args)
            console.print(table)
        if alert.escalation_policy:
            console.print(f"  escalation: policy {alert.escalation_policy} if nobody acknowledges")
            for rung in alert.escalation:
                console.print(
                    f"    +{rung.after:>6}  level {rung.level} (round {rung.round + 1}): "
                    + ", ".join(rung.targets),
                    highlight=False,
                )
        console.print("  slack:")
        for message in alert.slack:
            console.print(f"    {message}", highlight=False)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the database migrations."""
    settings = settings_or_exit()
    db = database(settings)
    reached = migrate.upgrade(db, revision)
    console.print(f"database at revision {reached or 'none'}")


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
    for line in timeline_lines(events):
        timeline.add_row(line.utc, line.kind, line.actor, Text(line.text))
    console.print(timeline)


@app.command()
def postmortem(
    incident_id: int,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the draft to this file.")
    ] = None,
) -> None:
    """Print the post-mortem draft of an incident (Markdown)."""
    from bot.postmortem import render_postmortem

    settings = settings_or_exit()
    try:
        text = render_postmortem(database(settings), incident_id, settings)
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
) -> None:
    """Add a follow-up item to an incident."""
    from bot.postmortem import followups

    db = database(settings_or_exit())
    try:
        item = followups.add_followup(db, incident_id, text=text, actor=actor, owner=owner)
    except (NotFoundError, ValueError) as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"follow-up #{item.id} added to incident #{incident_id}")


@followups_app.command("list")
def followups_list(
    show_all: Annotated[bool, typer.Option("--all", help="Include done items.")] = False,
) -> None:
    """List open follow-up items across incidents."""
    from bot.postmortem import followups

    db = database(settings_or_exit())
    items = followups.list_followups(db, status=None if show_all else "open")
    table = Table(title=f"Follow-ups ({len(items)})")
    for column in ("ID", "Incident", "State", "Owner", "Item", "Added (UTC)"):
        table.add_column(column)
    for item in items:
        table.add_row(
            str(item.id),
            str(item.incident_id),
            item.status,
            item.owner or "",
            Text(item.text),
            item.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)


@followups_app.command("done")
def followups_done(
    followup_id: int, actor: Annotated[str, typer.Option(help="Who closes it.")] = "cli"
) -> None:
    """Mark a follow-up item done."""
    from bot.postmortem import followups

    db = database(settings_or_exit())
    try:
        followups.mark_done(db, followup_id, actor=actor)
    except NotFoundError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"follow-up #{followup_id} done")


@app.command()
def report(
    since: Annotated[str | None, typer.Option(help="A time, or a duration ago: 7d.")] = None,
    until: Annotated[str | None, typer.Option(help="A time, or a duration ago.")] = None,
) -> None:
    """Summarise incidents: response times, escalations, runbook effectiveness."""
    from bot.clock import utcnow
    from bot.postmortem.reports import parse_since, report_lines, summary_report

    db = database(settings_or_exit())
    now = utcnow()
    try:
        start = parse_since(since, now=now) if since else None
        end = parse_since(until, now=now) if until else None
    except ValueError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    for line in report_lines(summary_report(db, since=start, until=end)):
        console.print(line, highlight=False, markup=False)


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        errors.print(f"[red]configuration error:[/red] {exc}", highlight=False)
        sys.exit(2)
