"""``fireline people``: the directory with each one's roles, what each role may do, and
new API tokens with the hash the config file keeps."""

from __future__ import annotations

import hashlib
import secrets
from typing import Protocol

import typer
from rich.console import Console
from rich.table import Table

from bot.clienv import cli_env
from bot.people.config import PeopleConfig
from bot.people.decide import MINIMUM_ROLE

people_app = typer.Typer(help="People, roles and API tokens.", no_args_is_help=True)
console = Console()


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
    typer.echo(f"sha256: {hashlib.sha256(token.encode()).hexdigest()}")
