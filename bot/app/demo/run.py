"""``fireline demo``: the whole flow on one machine, narrated live in the terminal.

It starts the demo service, Fireline (SQLite in a temporary directory, the shipped
runbooks, a demo escalation policy with short delays), and, when Debian's binaries are
installed, Prometheus scraping the demo service and Alertmanager posting to Fireline.
Without them it replays Alertmanager's payloads itself. Then it breaks the demo service
and prints every timeline event as it happens, until the incident is resolved and the
post-mortem draft is written. Everything it started is stopped on the way out, and its
temporary folder removed, whether it ends, is interrupted (Ctrl-C) or is terminated
(SIGTERM): both signals cancel the story, and the same ``finally`` blocks clean up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
import shlex
import shutil
import signal
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown, TableElement
from rich.panel import Panel
from rich.table import Table

from bot.app.demo import monitoring
from bot.app.demo.target import DemoState, make_server
from bot.app.settings import SHIPPED_RUNBOOKS, Settings
from bot.events import EventKind
from bot.logs import configure_logging

RUNBOOK = "demo-service"
REPLAY_RUNBOOKS = Path(__file__).with_name("replay-runbooks")

ESCALATION = """
escalation:
  policies:
    - name: demo
      levels:
        - targets: [{user: U-DEMO-ONCALL}]
          delay: 5s
        - targets: [{user: U-DEMO-LEAD}]
          delay: 10s
"""

PROMETHEUS = """
global:
  scrape_interval: 1s
  evaluation_interval: 1s
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{am_port}"]
rule_files: [rules.yml]
scrape_configs:
  - job_name: demo
    static_configs:
      - targets: ["127.0.0.1:{demo_port}"]
"""

RULES = """
groups:
  - name: demo
    rules:
      - alert: DemoServiceDown
        expr: up{{job="demo"}} == 0
        labels:
          severity: critical
        annotations:
          summary: The demo service is down
          description: Prometheus cannot scrape the demo service.
          heal_url: http://127.0.0.1:{demo_port}/heal
          runbook: demo-service
"""

ALERTMANAGER = """
route:
  receiver: fireline
  group_by: [alertname, job]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: fireline
    webhook_configs:
      - url: http://127.0.0.1:{port}/webhooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""

STYLE = {
    "alert": "red",
    "incident": "bold magenta",
    "triage": "cyan",
    "runbook": "cyan",
    "step": "green",
    "verification": "bold green",
    "escalation": "yellow",
    "automation": "yellow",
    "approval": "yellow",
    "run": "green",
}


@dataclass
class DemoResult:
    incident_id: int | None
    resolved: bool
    verification: str | None
    postmortem: str | None


class DemoError(Exception):
    pass


class _FoldingTable(TableElement):
    """A markdown table whose long words fold onto the next line instead of being cut
    with "…": the draft's cells (alert names, step ids) must stay readable at 80 columns."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for part in super().__rich_console__(console, options):
            if isinstance(part, Table):
                for column in part.columns:
                    column.overflow = "fold"
            yield part


class DraftMarkdown(Markdown):
    elements = {**Markdown.elements, "table_open": _FoldingTable}


def draft_panel(markdown: str) -> Panel:
    """The post-mortem draft as the demo shows it."""
    return Panel(DraftMarkdown(markdown), title="post-mortem draft")


COMMAND = re.compile(r"`fireline [^`]*`")


def without_commands(markdown: str) -> str:
    """The draft's ``fireline`` commands act on the demo's database, which is deleted as
    the demo exits; without ``--keep-serving`` the demo points at that option instead."""
    return COMMAND.sub("`fireline demo --keep-serving` and the command it prints", markdown)


class _Server(uvicorn.Server):
    """Fireline inside the demo: the demo owns SIGINT and SIGTERM, and stops the server
    itself once the story is over (uvicorn would otherwise take the signals, stop, and
    raise them again after the demo's clean-up had been skipped)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def replay_payload(demo_url: str, *, status: str, starts_at: datetime) -> dict[str, Any]:
    """The webhook body Alertmanager sends for ``DemoServiceDown``, built the same way."""
    port = demo_url.rsplit(":", 1)[1]
    labels = {
        "alertname": "DemoServiceDown",
        "instance": f"127.0.0.1:{port}",
        "job": "demo",
        "severity": "critical",
    }
    fingerprint = hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]
    ends = datetime.now(UTC) if status == "resolved" else datetime(1, 1, 1, tzinfo=UTC)
    return {
        "receiver": "fireline",
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {
                    "summary": "The demo service is down",
                    "heal_url": f"{demo_url}/heal",
                    "ready_url": f"{demo_url}/ready",
                    "runbook": RUNBOOK,
                },
                "startsAt": starts_at.isoformat(),
                "endsAt": ends.isoformat(),
                "generatorURL": "",
                "fingerprint": fingerprint,
            }
        ],
        "groupLabels": {"alertname": "DemoServiceDown", "job": "demo"},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "version": "4",
        "groupKey": '{}:{alertname="DemoServiceDown", job="demo"}',
        "truncatedAlerts": 0,
    }


@contextmanager
def demo_service() -> Iterator[tuple[str, DemoState]]:
    server, state = make_server()
    thread = threading.Thread(target=server.serve_forever, name="demo-service", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Demo:
    def __init__(
        self,
        console: Console,
        *,
        port: int = 0,
        use_binaries: bool = True,
        keep_serving: bool = False,
        timeout: float = 180.0,
        settings: dict[str, Any] | None = None,
        escalation: str = ESCALATION,
        on_event: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    ) -> None:
        """``settings``, ``escalation`` (a config file's text) and ``on_event`` (called
        with each timeline event as it is shown) let the end-to-end tests reuse the demo."""
        self.console = console
        self.overrides = dict(settings or {})
        self.escalation = escalation
        self.on_event = on_event
        self.events: list[dict[str, Any]] = []
        self.port = port or monitoring.free_port()
        self.use_binaries = use_binaries
        self.keep_serving = keep_serving
        self.timeout = timeout
        self.token = secrets.token_urlsafe(24)
        self.base = f"http://127.0.0.1:{self.port}"

    def say(self, text: str) -> None:
        self.console.print(f"[bold]>[/bold] {text}")

    async def run(self) -> DemoResult:
        """Cancelled by Ctrl-C (``asyncio.run``) or SIGTERM, it still stops everything it
        started and removes its folder before the cancellation goes on."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        previous = signal.getsignal(signal.SIGTERM)
        handled = False
        with suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
            handled = True
        workdir = Path(tempfile.mkdtemp(prefix="fireline-demo-"))
        try:
            with ExitStack() as stack:
                return await self._run(stack, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            if handled:
                loop.remove_signal_handler(signal.SIGTERM)
                if previous is not None:  # None: set outside Python, left as it is
                    signal.signal(signal.SIGTERM, previous)

    async def _run(self, stack: ExitStack, workdir: Path) -> DemoResult:
        demo_url, demo_state = stack.enter_context(demo_service())
        self.say(f"demo service on {demo_url}")
        binaries = monitoring.find_binaries() if self.use_binaries else None
        prometheus_url = alertmanager_url = None
        if binaries is not None:
            demo_port = demo_url.rsplit(":", 1)[1]
            am = stack.enter_context(
                monitoring.alertmanager(
                    binaries[1], workdir, ALERTMANAGER.format(port=self.port, token=self.token)
                )
            )
            alertmanager_url = am.url
            am_port = am.url.rsplit(":", 1)[1]
            prom = stack.enter_context(
                monitoring.prometheus(
                    binaries[0],
                    workdir,
                    PROMETHEUS.format(am_port=am_port, demo_port=demo_port),
                    RULES.format(demo_port=demo_port),
                )
            )
            prometheus_url = prom.url
            self.say(
                f"Prometheus on {prom.url} scrapes it; Alertmanager on {am.url} pages Fireline"
            )
        else:
            self.say(
                "Prometheus and Alertmanager are not installed "
                "(apt-get install prometheus prometheus-alertmanager): "
                "replaying Alertmanager's webhooks instead"
            )
        config = workdir / "fireline.yaml"
        await asyncio.to_thread(config.write_text, self.escalation)
        runbook_dirs = [SHIPPED_RUNBOOKS] if binaries is not None else [REPLAY_RUNBOOKS]
        settings = Settings(
            database_url=f"sqlite:///{workdir / 'fireline.db'}",
            port=self.port,
            webhook_token=self.token,
            config=config,
            runbook_dirs=runbook_dirs,
            prometheus_url=prometheus_url,
            alertmanager_url=alertmanager_url,
            http_allow=["127.0.0.0/8"],
            automation_tick="200ms",
            log_level="WARNING",
            **self.overrides,
        )
        log_file = stack.enter_context((workdir / "fireline.log").open("w"))
        configure_logging("WARNING", "json", secrets=settings.secret_values(), stream=log_file)
        self.demo_state = demo_state
        server = await self._serve(settings)
        try:
            self.say(f"Fireline on {self.base} (API docs at {self.base}/docs)")
            result = await self._story(settings, demo_url, demo_state, replay=binaries is None)
            if self.keep_serving:
                self._serving(settings, result)
                await _forever()
            self.say(
                f"the console was at {self._console(result)}; "
                "`fireline demo --keep-serving` leaves it up"
            )
            return result
        finally:
            chat = getattr(self._app.state, "runtime", None) and self._app.state.runtime.chat
            if chat is not None:
                with contextlib.suppress(TimeoutError):
                    await chat.drain(within=15)
            server.should_exit = True
            await asyncio.sleep(0)
            await self._server_task
            logging.getLogger().handlers[:] = []

    async def _serve(self, settings: Settings) -> uvicorn.Server:
        from bot.app.main import create_app

        self._app = create_app(settings)
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        server = _Server(config)
        self._server_task = asyncio.create_task(server.serve())
        while not server.started:
            if self._server_task.done():
                raise DemoError("Fireline did not start")
            await asyncio.sleep(0.05)
        return server

    async def _story(
        self, settings: Settings, demo_url: str, demo_state: DemoState, *, replay: bool
    ) -> DemoResult:
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as api:
            promoted = await api.post(f"/api/runbooks/{RUNBOOK}/promote", json={"by": "demo"})
            if promoted.status_code != 200:
                raise DemoError(f"could not promote the demo runbook: {promoted.text}")
            self.say(
                f"runbook [cyan]{RUNBOOK}[/cyan] promoted: its safe steps may run on their own"
            )
            await api.post(f"{demo_url}/break")
            self.say("[red]the demo service is broken[/red]: /metrics now answers 500")
            started = datetime.now(UTC)
            if replay:
                await self._deliver(
                    api, replay_payload(demo_url, status="firing", starts_at=started)
                )
            return await self._watch(api, demo_url, demo_state, replay=replay, started=started)

    async def _deliver(self, api: httpx.AsyncClient, body: dict[str, Any]) -> None:
        response = await api.post(
            "/webhooks/alertmanager", json=body, headers={"Authorization": f"Bearer {self.token}"}
        )
        response.raise_for_status()

    async def _watch(
        self,
        api: httpx.AsyncClient,
        demo_url: str,
        demo_state: DemoState,
        *,
        replay: bool,
        started: datetime,
    ) -> DemoResult:
        seen = 0
        incident_id: int | None = None
        resolved_sent = False
        deadline = asyncio.get_running_loop().time() + self.timeout
        with self.console.status("waiting for the alert to fire...") as status:
            while asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.25)
                if incident_id is None:
                    listed = (await api.get("/api/incidents")).json()["items"]
                    if not listed:
                        continue
                    incident_id = listed[-1]["id"]
                    status.update(f"incident {incident_id} is open")
                events = (await api.get(f"/api/incidents/{incident_id}/timeline")).json()
                for event in events[seen:]:
                    self._show(event)
                    self.events.append(event)
                    if self.on_event is not None:
                        await self.on_event(event)
                seen = len(events)
                if replay and not resolved_sent and not demo_state.broken:
                    # What Alertmanager would send once Prometheus saw the service again.
                    await asyncio.sleep(1)
                    body = replay_payload(demo_url, status="resolved", starts_at=started)
                    await self._deliver(api, body)
                    resolved_sent = True
                if any(e["kind"] == EventKind.RUN_FINISHED for e in events) and any(
                    e["kind"] == EventKind.INCIDENT_RESOLVED for e in events
                ):
                    break
            else:
                raise DemoError(f"the incident did not resolve within {self.timeout:.0f}s")
        incident = (await api.get(f"/api/incidents/{incident_id}")).json()
        runs = (await api.get(f"/api/incidents/{incident_id}/runs")).json()
        verification = runs[0]["verification"] if runs else None
        postmortem = (await api.get(f"/api/incidents/{incident_id}/postmortem")).text
        shown = postmortem if self.keep_serving else without_commands(postmortem)
        self.console.print(draft_panel(shown))
        resolved = incident["status"] == "resolved"
        self.say(
            f"incident {incident_id} {incident['status']}; verification {verification}; "
            f"the demo service was healed {demo_state.heals} time(s)"
        )
        return DemoResult(incident_id, resolved, verification, postmortem)

    def _console(self, result: DemoResult) -> str:
        """The incident's page in the console, or its list when there was none."""
        if result.incident_id is None:
            return f"{self.base}/incidents"
        return f"{self.base}/incidents/{result.incident_id}"

    def _serving(self, settings: Settings, result: DemoResult) -> None:
        """Where the kept database is, and a command that works against it meanwhile."""
        url = settings.database_url
        incident = result.incident_id if result.incident_id is not None else "ID"
        self.say(f"Fireline keeps serving on {self.base}; its database is {url}")
        self.say(f"open the console: {self._console(result)}")
        command = f'fireline followups add {incident} "Alert on the demo service sooner"'
        self.say(f"try: FIRELINE_DATABASE_URL={shlex.quote(url)} {command}")
        self.say("serving until Ctrl-C or SIGTERM; the database is deleted then")

    def _show(self, event: dict[str, Any]) -> None:
        kind = str(event["kind"])
        style = STYLE.get(kind.split(".", 1)[0], "white")
        at = str(event["at"])[11:19]
        self.console.print(
            f"[dim]{at}[/dim] [{style}]{kind:<26}[/{style}] {event['text']}",
            highlight=False,
            soft_wrap=True,
        )


async def _forever() -> None:
    with suppress(asyncio.CancelledError):
        await asyncio.Event().wait()


def run_demo(
    console: Console | None = None,
    *,
    port: int = 0,
    use_binaries: bool = True,
    keep_serving: bool = False,
    timeout: float = 180.0,
) -> DemoResult:
    demo = Demo(
        console or Console(),
        port=port,
        use_binaries=use_binaries,
        keep_serving=keep_serving,
        timeout=timeout,
    )
    try:
        return asyncio.run(demo.run())
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, SIGTERM
        return DemoResult(None, False, None, None)
