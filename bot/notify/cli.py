"""``fireline contacts``: a person's contact methods, added, listed, removed and tested
against the database the service uses (the service sends the test messages)."""

from __future__ import annotations

import json
from typing import Annotated, Protocol

import typer
from rich.console import Console
from rich.table import Table

from bot.clienv import cli_env
from bot.clock import utcnow
from bot.durations import parse_duration
from bot.errors import FirelineError
from bot.notify import service
from bot.notify.model import MethodKind
from bot.people.cli import allowed_or_exit
from bot.people.config import PeopleConfig, PersonConfig
from bot.people.model import Action
from storage.db import Database

contacts_app = typer.Typer(help="People's contact methods.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)

By = Annotated[str, typer.Option("--by", help="Who makes the change (person id).")]


class NotifyCliEnv(Protocol):
    def database(self) -> Database: ...

    def people(self) -> PeopleConfig: ...


def _person(people: PeopleConfig, person_id: str) -> PersonConfig:
    person = next((p for p in people.directory if p.id == person_id), None)
    if person is None:
        known = ", ".join(p.id for p in people.directory) or "nobody is configured"
        errors.print(f"no person {person_id!r} in the people directory ({known})", highlight=False)
        raise typer.Exit(1)
    return person


def _may_edit(db: Database, people: PeopleConfig, by: str, person_id: str) -> None:
    own = by == person_id
    action = Action.EDIT_OWN_CONTACT_METHODS if own else Action.EDIT_CONTACT_METHODS
    allowed_or_exit(db, people, by, action)


@contacts_app.command("list")
def contacts_list(
    person_id: Annotated[str, typer.Argument(help="The person's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A person's contact methods and whether each was verified."""
    env: NotifyCliEnv = cli_env()
    person = _person(env.people(), person_id)
    db = env.database()
    try:
        methods = service.methods_of(db, person)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(methods, indent=2))
        return
    table = Table("name", "kind", "to", "source", "status", "after", title=f"{person_id}")
    for m in methods:
        status = m["status"] + (f" ({m['error']})" if m["error"] else "")
        table.add_row(m["name"], m["kind"], m["to"], m["source"], status, m["after"] or "rules")
    console.print(table)


@contacts_app.command("add")
def contacts_add(
    person_id: Annotated[str, typer.Argument(help="The person's id.")],
    name: Annotated[str, typer.Argument(help="A name for the method, e.g. phone.")],
    kind: Annotated[MethodKind, typer.Argument(help="email, ntfy, sms, voice or apprise.")],
    to: Annotated[str, typer.Argument(help="The address: email, E.164 number, topic, URL.")],
    after: Annotated[str, typer.Option("--after", help="Reach it this long after a page.")] = "0s",
    urgency: Annotated[str, typer.Option("--urgency", help="high, low or both.")] = "both",
    by: By = "cli",
) -> None:
    """Add a contact method; the service sends it a test message to verify it."""
    if urgency not in ("high", "low", "both"):
        errors.print(f"--urgency: {urgency!r} is not high, low or both", highlight=False)
        raise typer.Exit(2)
    try:
        delay = parse_duration(after)
    except ValueError as exc:
        errors.print(f"--after: {exc}", highlight=False)
        raise typer.Exit(2) from exc
    env: NotifyCliEnv = cli_env()
    people = env.people()
    person = _person(people, person_id)
    db = env.database()
    try:
        _may_edit(db, people, by, person_id)
        service.add_method(
            db,
            person,
            name=name,
            kind=kind,
            to=to,
            after=delay,
            urgency=urgency,
            by=by,
            now=utcnow(),
        )
    except FirelineError as exc:
        errors.print(str(exc), highlight=False)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    console.print(f"{name} added for {person_id}; a test message is on its way", highlight=False)


@contacts_app.command("remove")
def contacts_remove(
    person_id: Annotated[str, typer.Argument(help="The person's id.")],
    name: Annotated[str, typer.Argument(help="The method's name.")],
    by: By = "cli",
) -> None:
    """Remove a contact method added through the API or the CLI."""
    env: NotifyCliEnv = cli_env()
    people = env.people()
    person = _person(people, person_id)
    db = env.database()
    try:
        _may_edit(db, people, by, person_id)
        service.remove_method(db, person, name)
    except FirelineError as exc:
        errors.print(str(exc), highlight=False)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    console.print(f"{name} removed from {person_id}", highlight=False)


@contacts_app.command("test")
def contacts_test(
    person_id: Annotated[str, typer.Argument(help="The person's id.")],
    name: Annotated[str, typer.Argument(help="The method's name.")],
    by: By = "cli",
) -> None:
    """Send a contact method's test message again."""
    env: NotifyCliEnv = cli_env()
    people = env.people()
    person = _person(people, person_id)
    db = env.database()
    try:
        _may_edit(db, people, by, person_id)
        service.retest_method(db, person, name, now=utcnow())
    except FirelineError as exc:
        errors.print(str(exc), highlight=False)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    console.print(f"a test message to {person_id}'s {name} is queued", highlight=False)
