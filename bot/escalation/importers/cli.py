"""``fireline import pagerduty|grafana-oncall EXPORT.json [-o FILE]``: Fireline's YAML for
another product's people, schedules and escalation policies, checked by Fireline's own
config validation before it is printed or written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from bot.escalation.config import EscalationConfig, ScheduleConfig, check_file_sections
from bot.escalation.importers import Imported, grafana_oncall, pagerduty
from bot.people.config import PeopleConfig

import_app = typer.Typer(help="Import another on-call product's export.", no_args_is_help=True)
errors = Console(stderr=True)

Export = Annotated[Path, typer.Argument(help="The export, as docs/importing.md shows.")]
Output = Annotated[Path | None, typer.Option("-o", "--output", help="Write here, not stdout.")]


def check(config: dict[str, Any]) -> None:
    """Validate as the service's config file is validated: each section, then across them."""
    people = PeopleConfig.model_validate(config["people"])
    schedules = [ScheduleConfig.model_validate(s) for s in config["schedules"]]
    escalation = EscalationConfig.model_validate(config["escalation"])
    check_file_sections(escalation, schedules, [p.id for p in people.directory])


def _run(convert: Callable[[dict[str, Any]], Imported], export: Path, output: Path | None) -> None:
    try:
        data = json.loads(export.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        errors.print(f"{export}: {exc}", highlight=False)
        raise typer.Exit(2) from exc
    imported = convert(data)
    config = imported.config()
    try:
        check(config)
    except ValueError as exc:
        errors.print(f"the import would not load: {exc}", highlight=False)
        raise typer.Exit(1) from exc
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    for warning in imported.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(f"wrote {output}", err=True)


@import_app.command("pagerduty")
def import_pagerduty(export: Export, output: Output = None) -> None:
    """PagerDuty's users, schedules and escalation policies."""
    _run(pagerduty.convert, export, output)


@import_app.command("grafana-oncall")
def import_grafana_oncall(export: Export, output: Output = None) -> None:
    """Grafana OnCall's users, schedules, shifts and escalation chains."""
    _run(grafana_oncall.convert, export, output)
