"""``fireline oncall [SCHEDULE] [--at TIME]``: who is on call, overrides included;
``fireline overrides list SCHEDULE`` and ``remove ID``: the overrides stored in the database."""

from __future__ import annotations

import json
from typing import Annotated, Protocol

import typer
from rich.console import Console
from rich.table import Table

from bot.clienv import cli_env
from bot.clock import utcnow
from bot.errors import FirelineError, NotFoundError
from bot.escalation.config import parse_instant
from bot.escalation.oncall import on_call_now, overrides_of, remove_override, swap_shifts
from bot.escalation.schedules import OnCall, on_call
from bot.escalation.service import EscalationRules
from bot.people.cli import allowed_or_exit
from bot.people.config import PeopleConfig
from bot.people.model import Action
from storage.db import Database
from storage.errors import SQLAlchemyError

console = Console()
errors = Console(stderr=True)
overrides_app = typer.Typer(help="On-call overrides stored in the database.", no_args_is_help=True)


class EscalationCliEnv(Protocol):
    def escalation_rules(self) -> EscalationRules: ...

    def database(self) -> Database: ...

    def people(self) -> PeopleConfig: ...


def oncall(
    schedule: Annotated[str | None, typer.Argument(help="Schedule name (default: all).")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="An instant such as 2026-03-29T09:00:00+02:00.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Who is on call now (or at --at), with the overrides stored in the database."""
    env: EscalationCliEnv = cli_env()
    try:
        when = parse_instant(at) if at else utcnow()
    except ValueError as exc:
        errors.print(f"--at: {exc}", highlight=False)
        raise typer.Exit(2) from exc
    rules = env.escalation_rules()
    if schedule is not None and schedule not in rules.schedules:
        known = ", ".join(sorted(rules.schedules)) or "none configured"
        errors.print(f"no schedule named {schedule!r} (schedules: {known})", highlight=False)
        raise typer.Exit(1)
    db = env.database()
    try:
        answers = on_call_now(db, rules, schedule=schedule, at=when)
    except SQLAlchemyError as exc:
        errors.print(
            f"[yellow]overrides in the database not read ({type(exc).__name__}); "
            "showing the config file's schedules only[/yellow]"
        )
        names = [schedule] if schedule else sorted(rules.schedules)
        answers = [on_call(rules.schedules[name], when) for name in names]
    except NotFoundError as exc:
        errors.print(str(exc), highlight=False)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    _print(answers, when.isoformat(), as_json)


def _print(answers: list[OnCall], at: str, as_json: bool) -> None:
    if as_json:
        rows = [
            {
                "schedule": a.schedule,
                "user": a.user,
                "source": a.source,
                "until": a.until.isoformat() if a.until else None,
                "at": at,
            }
            for a in answers
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("schedule", "on call", "from", "until (UTC)", title=f"On call at {at}")
    for a in answers:
        until = a.until.strftime("%Y-%m-%d %H:%M") if a.until else ""
        table.add_row(a.schedule, a.user or "nobody", a.source, until)
    console.print(table)


@overrides_app.command("list")
def overrides_list(
    schedule: Annotated[str, typer.Argument(help="Schedule name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The overrides of a schedule that have not ended (those in the config file aside)."""
    env: EscalationCliEnv = cli_env()
    db = env.database()
    try:
        rows = overrides_of(db, env.escalation_rules(), schedule, now=utcnow())
    except NotFoundError as exc:
        errors.print(str(exc), highlight=False)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "schedule": r.schedule,
                        "user": r.user,
                        "start": r.start_at.isoformat(),
                        "end": r.end_at.isoformat(),
                        "created_by": r.created_by,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return
    table = Table("id", "user", "from (UTC)", "until (UTC)", "by", title=f"Overrides of {schedule}")
    for r in rows:
        start, end = (t.strftime("%Y-%m-%d %H:%M") for t in (r.start_at, r.end_at))
        table.add_row(str(r.id), r.user, start, end, r.created_by)
    console.print(table)


@overrides_app.command("remove")
def overrides_remove(
    override_id: int,
    by: Annotated[str, typer.Option("--by", help="Who removes it.")] = "cli",
) -> None:
    """Remove a stored override (edit_schedules)."""
    env: EscalationCliEnv = cli_env()
    db = env.database()
    try:
        allowed_or_exit(db, env.people(), by, Action.EDIT_SCHEDULES)
        row = remove_override(db, override_id)
    except NotFoundError as exc:
        errors.print(str(exc), highlight=False)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    console.print(f"override {override_id} removed ({row.user} in {row.schedule})", highlight=False)


@overrides_app.command("swap")
def overrides_swap(
    schedule: Annotated[str, typer.Argument(help="Schedule name.")],
    first: Annotated[str, typer.Argument(help="Who gives up the shift at FIRST_AT.")],
    first_at: Annotated[str, typer.Argument(help="An instant in their shift, with a zone.")],
    second: Annotated[str, typer.Argument(help="Who gives up the shift at SECOND_AT.")],
    second_at: Annotated[str, typer.Argument(help="An instant in their shift, with a zone.")],
    by: Annotated[str, typer.Option("--by", help="Who makes the swap.")] = "cli",
) -> None:
    """Two people trade shifts: two overrides written together (edit_schedules)."""
    try:
        at_first, at_second = parse_instant(first_at), parse_instant(second_at)
    except ValueError as exc:
        errors.print(f"an instant: {exc}", highlight=False)
        raise typer.Exit(2) from exc
    env: EscalationCliEnv = cli_env()
    db = env.database()
    try:
        actor = allowed_or_exit(db, env.people(), by, Action.EDIT_SCHEDULES)
        rows = swap_shifts(
            db,
            env.escalation_rules(),
            schedule=schedule,
            first=first,
            first_at=at_first,
            second=second,
            second_at=at_second,
            actor=actor,
        )
    except FirelineError as exc:
        errors.print(str(exc), highlight=False)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    for r in rows:
        start, end = (t.strftime("%Y-%m-%d %H:%M") for t in (r.start_at, r.end_at))
        console.print(f"override {r.id}: {r.user} covers {start} to {end} UTC", highlight=False)
