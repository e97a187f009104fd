"""The ``fireline`` command."""

from __future__ import annotations

import gc
import logging
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bot import clienv
from bot.app import wiring
from bot.app.settings import Settings, load_settings
from bot.automation.cli import automation_app
from bot.changes.cli import changes_app
from bot.errors import ConfigError
from bot.escalation.cli import oncall, overrides_app
from bot.escalation.importers.cli import import_app
from bot.escalation.service import EscalationRules
from bot.incidents.cli import incidents_app
from bot.logs import configure_logging
from bot.maintenance.cli import maintenance_app
from bot.maintenance.service import Maintenance
from bot.notify.cli import contacts_app
from bot.people.cli import people_app
from bot.people.config import PeopleConfig
from bot.postmortem.cli import followups_app, postmortem, report
from bot.postmortem.service import DraftOptions
from bot.runbooks.cli import runbooks_app
from bot.status.cli import status_app
from bot.status.config import StatusConfig
from storage import migrate
from storage.db import Database
from storage.errors import DBAPIError, SQLAlchemyError

app = typer.Typer(help="Fireline: incident response and runbook automation.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)

console = Console()
errors = Console(stderr=True)

# How long a thread holds the GIL before one waiting for it may take it (Python's default
# is 5 ms). Triage and the outbox work in threads; with several of them busy, the event
# loop waited for the GIL at each step of a webhook, and in a storm a webhook's p99 was
# 109-146 ms where a bare endpoint answers in 4.
SWITCH_INTERVAL = 0.001


def freeze_startup_objects() -> None:
    """Keep what exists before serving (modules, the app) out of every garbage collection.

    A full collection walks every tracked object, and in a storm it ran every 15 s for
    150-200 ms with the GIL held: webhooks that came meanwhile waited for it in pairs, and
    they were the webhook's p99. With these objects frozen a collection takes 30-50 ms."""
    gc.collect()
    gc.freeze()


def settings_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        errors.print(f"[red]configuration error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc


def database_or_exit(settings: Settings) -> Database:
    """The database, once it has answered; else one line naming the setting, exit 2."""
    db = wiring.database(settings)
    try:
        db.ping()
    except SQLAlchemyError as exc:
        db.dispose()
        cause = str(exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc)
        reason = cause.strip().splitlines()[0] if cause.strip() else type(exc).__name__
        problem = f"FIRELINE_DATABASE_URL: cannot use {db.shown_url}: {reason}"
        errors.print(f"[red]configuration error:[/red] {problem}", highlight=False)
        raise typer.Exit(2) from None
    return db


class CliEnv:
    """What feature commands need, built from the settings when first asked for; it
    satisfies each feature's ``cli.py`` Protocol (see ``bot.clienv``)."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = settings_or_exit()
        return self._settings

    def database(self) -> Database:
        db = database_or_exit(self.settings)
        if not migrate.is_current(db):
            db.dispose()
            problem = (
                f"FIRELINE_DATABASE_URL: {db.shown_url} is not at the current schema; "
                "run `fireline db upgrade` first"
            )
            errors.print(f"[red]configuration error:[/red] {problem}", highlight=False)
            raise typer.Exit(2)
        return db

    def escalation_rules(self) -> EscalationRules:
        return wiring.escalation_rules(self.settings)

    def draft_options(self) -> DraftOptions:
        return wiring.draft_options(self.settings)

    def people(self) -> PeopleConfig:
        return self.settings.people

    def status_config(self) -> StatusConfig:
        return wiring.status_config(self.settings)

    def maintenance(self) -> Maintenance:
        return wiring.maintenance(self.settings)

    def change_window(self) -> timedelta:
        return self.settings.change_window


@app.callback()
def _root() -> None:
    clienv.install(CliEnv())


def first_start_hint(settings: Settings) -> str | None:
    """What ``serve`` logs when it starts without a config file, which pages nobody."""
    if settings.config is not None:
        return None
    return (
        "no config file (FIRELINE_CONFIG): escalation pages nobody; "
        "`fireline init --name NAME --email ADDRESS` writes one that pages you"
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Run the service: webhook, API, triage."""
    import uvicorn

    from bot.app.main import create_app

    settings = settings_or_exit(host=host, port=port)
    database_or_exit(settings).dispose()  # a clear message now, not a traceback at startup
    configure_logging(settings.log_level, settings.log_format, secrets=settings.secret_values())
    hint = first_start_hint(settings)
    if hint:
        logging.getLogger(__name__).warning(hint)
    service = create_app(settings)
    sys.setswitchinterval(SWITCH_INTERVAL)
    freeze_startup_objects()
    uvicorn.run(
        service,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
    )


@app.command()
def init(
    name: Annotated[str, typer.Option("--name", help="Your name: the first person paged.")],
    email: Annotated[str | None, typer.Option("--email", help="Where email pages go.")] = None,
    slack: Annotated[
        str | None, typer.Option("--slack", help="Your Slack user id (U012AB3CD).")
    ] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", help="IANA zone, e.g. Europe/Berlin.")
    ] = "UTC",
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the files.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write a starter config that pages you: one person, one schedule, one policy."""
    from bot.app.starter import Operator, check_options, render

    operator = Operator(name=name, email=email, slack=slack, timezone=timezone)
    problems = check_options(operator)
    if problems:
        for problem in problems:
            errors.print(problem, highlight=False)
        raise typer.Exit(2)
    config_file, env_file = directory / "fireline.yaml", directory / "fireline.env"
    existing = [str(p) for p in (config_file, env_file) if p.exists()]
    if existing and not force:
        errors.print(f"{', '.join(existing)} already exists; --force overwrites", highlight=False)
        raise typer.Exit(1)
    starter = render(operator, config_path=str(config_file.resolve()))
    directory.mkdir(parents=True, exist_ok=True)
    draft = directory / ".fireline.yaml.draft"
    draft.write_text(starter.config)
    try:
        load_settings(config=draft, database_url="sqlite://")
    except ConfigError as exc:
        errors.print(f"[red]these options make no valid config:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    finally:
        draft.unlink()
    config_file.write_text(starter.config)
    env_file.touch(mode=0o600)
    env_file.chmod(0o600)
    env_file.write_text(starter.env)
    console.print(
        f"wrote {config_file} and {env_file} (private: it holds secrets)", highlight=False
    )
    typer.echo(f"your console and API token (shown once): {starter.token}")
    console.print(
        f"next: set -a; . {env_file}; set +a; fireline serve   then open the console and "
        "point Alertmanager at /webhooks/alertmanager",
        highlight=False,
    )


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port for Fireline's API (0: any free port).")] = 0,
    replay: Annotated[
        bool, typer.Option(help="Replay Alertmanager's webhooks even if it is installed.")
    ] = False,
    keep_serving: Annotated[
        bool,
        typer.Option(
            help="Keep serving the API and its database after the story ends, until Ctrl-C "
            "or SIGTERM; it prints where the database is."
        ),
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the resolution.")] = 180,
) -> None:
    """Watch an alert become a remediated, resolved incident with a post-mortem draft."""
    from bot.app.demo.run import DemoError, run_demo

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
    from bot.ingest.model import WebhookPayload
    from bot.runbooks.cli import load_library
    from bot.simulate.service import simulate as run_simulation
    from bot.simulate.terminal import print_simulation

    settings = settings_or_exit()
    try:
        body = WebhookPayload.model_validate_json(payload.read_bytes())
    except OSError as exc:
        errors.print(f"[red]{payload}: {exc.strerror}[/red]")
        raise typer.Exit(2) from exc
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            if error["type"] == "json_invalid":
                # "Invalid JSON: expected value at line 1 column 1": say what the file is not.
                reason = error["msg"].removeprefix("Invalid JSON: ")
                line = f"{payload}: not an Alertmanager webhook body (JSON): {reason}"
            else:
                line = f"{payload}: {where or 'body'}: {error['msg']}"
            errors.print(f"[red]{escape(line)}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    library = load_library(None)
    result = run_simulation(
        body,
        rules=settings.triage.compiled(),
        index=library.index,
        registry=library.registry,
        escalation=wiring.escalation_rules(settings) if settings.escalation.enabled else None,
        global_mode=settings.automation_mode,
        promoted=promotion_lookup(settings.database_url),
        now=utcnow(),
    )
    if as_json:
        print(json.dumps(result.as_json(), indent=2, default=str))
    else:
        print_simulation(console, result)
    if require_runbook and result.unmatched:
        names = ", ".join(a.alertname for a in result.unmatched)
        errors.print(f"[red]no runbook for: {names}[/red]")
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the database migrations."""
    settings = settings_or_exit()
    db = database_or_exit(settings)
    try:
        reached = migrate.upgrade(
            db,
            revision,
            lock_timeout=settings.migrate_lock_timeout,
            on_wait=lambda message: errors.print(message, highlight=False),
        )
    except migrate.MigrationLockTimeout as exc:
        errors.print(
            f"[red]{exc}[/red] (FIRELINE_MIGRATE_LOCK_TIMEOUT sets the wait)", highlight=False
        )
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    console.print(f"database at revision {reached or 'none'}")


app.add_typer(db_app, name="db")
app.add_typer(incidents_app, name="incidents")
app.command("postmortem")(postmortem)
app.add_typer(followups_app, name="followups")
app.command("report")(report)
app.add_typer(runbooks_app, name="runbooks")
app.add_typer(automation_app, name="automation")
app.add_typer(people_app, name="people")
app.command("oncall")(oncall)
app.add_typer(status_app, name="status")
app.add_typer(overrides_app, name="overrides")
app.add_typer(contacts_app, name="contacts")
app.add_typer(import_app, name="import")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(changes_app, name="changes")


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        errors.print(f"[red]configuration error:[/red] {exc}", highlight=False)
        sys.exit(2)
