"""``fireline people``: the directory with each one's roles, what each role may do, and
new API tokens with the hash the config file keeps."""

from __future__ import annotations

import secrets
from typing import Protocol

import typer
from rich.console import Console
from rich.table import Table

from bot.clienv import cli_env
from bot.clock import utcnow
from bot.errors import PermissionDeniedError
from bot.people.config import PeopleConfig
from bot.people.decide import MINIMUM_ROLE
from bot.people.directory import Directory, token_digest
from bot.people.model import Action
from bot.people.service import authorize
from storage.db import Database

people_app = typer.Typer(help="People, roles and API tokens.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def allowed_or_exit(
    db: Database,
    people: PeopleConfig,
    by: str,
    action: Action,
    *,
    incident_id: int | None = None,
) -> str:
    """What a write command records as its actor, once the person ``--by`` names may do
    ``action`` (the same decision table as the API and Slack); else exit 1, the refusal on
    the incident's timeline."""
    identity = Directory(people).command_identity(by)
    try:
        authorize(db, identity, action, incident_id=incident_id, now=utcnow())
    except PermissionDeniedError as exc:
        errors.print(f"[red]refused:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    return identity.actor


class PeopleSettings(Protocol):
    @property
    def people(self) -> PeopleConfig: ...


class PeopleCliEnv(Protocol):
    @property
    def settings(self) -> PeopleSettings: ...


@people_app.command("list")
def people_list() -> None:
    """The directory, the user groups and the named tokens, with their roles."""
    env: PeopleCliEnv = cli_env()
    config = env.settings.people
    table = Table("who", "name", "slack", "email", "timezone", "role")
    for person in config.directory:
        role = person.role.value if person.role else "-"
        table.add_row(
            person.id, person.name, person.slack or "", person.email or "", person.timezone, role
        )
    for group in config.groups:
        table.add_row(f"group {group.slack_group}", "", group.slack_group, "", "", group.role)
    for token in config.tokens:
        who = token.person or f"service {token.service}"
        table.add_row(f"token {token.name}", who, "", "", "", token.role.value)
    console.print(table)


@people_app.command("roles")
def people_roles() -> None:
    """What each action needs."""
    table = Table("action", "minimum role")
    for action, role in MINIMUM_ROLE.items():
        table.add_row(action.value, role.value)
    console.print(table)


@people_app.command("token")
def people_token() -> None:
    """A new random API token (shown once) and the sha256 to put in ``people.tokens``."""
    token = secrets.token_urlsafe(32)
    typer.echo(f"token:  {token}")
    typer.echo(f"sha256: {token_digest(token)}")
