"""``fireline status``: the public status page in a terminal, and posting a public update."""

from __future__ import annotations

from typing import Annotated, Protocol

import typer
from rich.console import Console
from rich.markup import escape

from bot.clienv import cli_env
from bot.clock import utcnow
from bot.errors import FirelineError
from bot.people.cli import allowed_or_exit
from bot.people.config import PeopleConfig
from bot.people.model import Action
from bot.status import service
from bot.status.config import StatusConfig
from storage.db import Database

status_app = typer.Typer(help="The public status page and its updates.")
console = Console()
errors = Console(stderr=True)


class StatusCliEnv(Protocol):
    def database(self) -> Database: ...

    def people(self) -> PeopleConfig: ...

    def status_config(self) -> StatusConfig: ...


def _env() -> StatusCliEnv:
    env: StatusCliEnv = cli_env()
    return env


@status_app.callback(invoke_without_command=True)
def status_show(context: typer.Context) -> None:
    """What the public status page says now: each component's state, open incidents."""
    if context.invoked_subcommand is not None:
        return
    env = _env()
    page = service.status_page(env.database(), env.status_config(), now=utcnow())
    console.print(f"[bold]{escape(page.title)}[/bold]: {page.overall.label}", highlight=False)
    for component in page.components:
        console.print(f"  {escape(component.name)}: {component.state.label}", highlight=False)
    for incident in page.active:
        console.print(
            f"#{incident.id} {escape(incident.heading)} ({incident.phase.value})", highlight=False
        )
        for update in incident.updates:
            console.print(
                f"  {update.at:%Y-%m-%d %H:%M} UTC {update.phase.value}: {escape(update.text)}",
                highlight=False,
            )


@status_app.command("post")
def status_post(
    incident_id: int,
    phase: Annotated[str, typer.Argument(help="investigating, identified, monitoring, resolved")],
    text: Annotated[str, typer.Argument(help="What customers read.")],
    by: Annotated[str, typer.Option(help="Who writes it (their role must allow it).")] = "cli",
    component: Annotated[
        list[str] | None, typer.Option(help="A component it affects (repeatable).")
    ] = None,
) -> None:
    """Post a public update for an incident to the status page."""
    env = _env()
    db = env.database()
    author = allowed_or_exit(db, env.people(), by, Action.POST_STATUS, incident_id=incident_id)
    try:
        update = service.post_update(
            db,
            incident_id,
            author=author,
            phase=phase,
            text=text,
            components=component or [],
            now=utcnow(),
            config=env.status_config(),
        )
    except FirelineError as exc:
        errors.print(f"[red]refused:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(f"status update #{update.id} posted for incident #{incident_id}")
