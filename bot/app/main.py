"""The application factory: the lifespan builds every resource, nothing is made at import."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aiohttp
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from actions.context import Endpoints
from actions.registry import ActionRegistry, default_registry
from bot.app import health, metrics, openapi, wiring
from bot.app.metrics import Metrics
from bot.app.runtime import Runtime
from bot.app.settings import Settings
from bot.automation import api as automation_api
from bot.automation import service as automation_service
from bot.automation.hooks import TriagePlanner
from bot.automation.runner import AutomationRunner
from bot.changes import api as changes_api
from bot.changes.service import ChangeCorrelator
from bot.clock import Clock, utcnow
from bot.errors import FirelineError
from bot.escalation import api as escalation_api
from bot.escalation import handoff
from bot.escalation import service as escalation
from bot.escalation.hooks import EscalationHooks
from bot.escalation.notify import WEBHOOK, Notification, WebhookTransport
from bot.escalation.service import EscalationRules
from bot.escalation.timers import EscalationScheduler
from bot.graphs import service as graphs
from bot.graphs.transport import GraphTransport
from bot.incidents import api
from bot.incidents.triage import TriageOutcome
from bot.incidents.worker import TriageWorker
from bot.ingest import api as webhook
from bot.ingest.writer import ReceiptWriter
from bot.logs import RequestIdMiddleware
from bot.maintenance import api as maintenance_api
from bot.maintenance.worker import MaintenanceWorker
from bot.notify import api as notify_api
from bot.notify import inbound as sms_inbound
from bot.notify import service as notify
from bot.notify.service import NOTIFY
from bot.notify.transport import NotifyTransport
from bot.outbox.decide import Pacer
from bot.outbox.model import Outgoing
from bot.outbox.projection import TimelineProjector, start_cursor
from bot.outbox.worker import OutboxSender
from bot.people.decide import may
from bot.people.directory import Directory
from bot.people.links import ActionLinks
from bot.people.model import Action
from bot.postmortem import api as postmortem_api
from bot.postmortem.followups import RUNBOOK_FOLLOWUPS, runbook_handler
from bot.runbooks import api as runbooks_api
from bot.runbooks.loader import RunbookLibrary
from bot.runbooks.service import LibrarySelector
from bot.silences import service as silences
from bot.silences.transport import SilenceTransport
from bot.status import api as status_api
from bot.web import app as console
from bot.worker import BackgroundWork, Workers
from storage import migrate
from storage.db import Database
from storage.tables import Incident

log = logging.getLogger(__name__)

# Slack writes in flight at once: each waits for its channel's pace while it holds its
# place, so one busy channel must not hold every place while other channels wait.
SLACK_SENDS = 32


def runbook_library(settings: Settings, registry: ActionRegistry, clock: Clock) -> RunbookLibrary:
    return RunbookLibrary(
        settings.runbook_dirs,
        registry=registry,
        trusted_dirs=settings.trusted_runbook_dirs,
        clock=clock,
        reload_interval=settings.runbook_reload_interval,
    )


def build_runtime(settings: Settings, *, clock: Clock = utcnow) -> Runtime:
    db = wiring.database(settings)
    registry = default_registry()
    runbooks = runbook_library(settings, registry, clock)
    http = httpx.AsyncClient(follow_redirects=False, timeout=httpx.Timeout(30.0))
    escalation_rules = wiring.escalation_rules(settings)
    hooks = EscalationHooks(escalation_rules) if settings.escalation.enabled else None
    people = Directory(settings.people, settings.api_token)
    links = wiring.action_links(settings, clock)
    outbox = outbox_sender(settings, db, http, people, links, clock)
    escalation = EscalationScheduler(
        db,
        rules=escalation_rules,
        clock=clock,
        tick=settings.escalation.tick,
        on_fired=lambda _pages: outbox.poke(),
    )
    automation = automation_runner(
        settings, db, registry, escalation_rules, http, clock, on_change=escalation.poke
    )
    # Told after each triage commit (from triage's thread; every poke is thread-safe): a new
    # incident's runbook starts at once, and chat's projector (added by start_chat) posts
    # the card without waiting for its tick. Escalation keeps its own tick.
    wake_after_triage: list[Callable[[], None]] = []

    def after_triage(outcome: TriageOutcome) -> None:
        if outcome.opened:
            automation.poke()
        for wake in wake_after_triage:
            wake()

    triage = TriageWorker(
        db,
        rules=settings.triage.compiled(),
        flap_window=settings.flap_window,
        batch_size=settings.triage_batch_size,
        clock=clock,
        selector=LibrarySelector(
            lambda: runbooks.index, planner=TriagePlanner(settings.trusted_runbook_dirs)
        ),
        on_outcome=lambda outcome: after_triage(outcome),
        escalation=hooks,
        changes=ChangeCorrelator(settings.change_window),
    )
    writer = ReceiptWriter(db, batch_size=settings.ingest_batch_size, on_commit=triage.poke)
    maintenance = maintenance_worker(
        settings, db, escalation_rules, wake=(escalation.poke, automation.poke), clock=clock
    )
    triage.defer_while(writer.under_load)
    return Runtime(
        settings=settings,
        db=db,
        writer=writer,
        triage=triage,
        clock=clock,
        metrics=Metrics(db, clock=clock),
        runbooks=runbooks,
        escalation=escalation,
        automation=automation,
        outbox=outbox,
        http=http,
        drafts=wiring.draft_options(settings),
        hooks=hooks,
        people=people,
        status=wiring.status_config(settings),
        sessions=wiring.console_sessions(settings, clock),
        links=links,
        wake_after_triage=wake_after_triage,
        maintenance=maintenance,
        silences=silences_projector(settings, db, http, outbox, clock),
        handoff=handoff_projector(settings, db, outbox, clock),
        graphs=graphs_projector(settings, db, http, outbox, clock),
        followups=TimelineProjector(
            db, RUNBOOK_FOLLOWUPS, runbook_handler(runbook_owners(runbooks)), outbox, clock=clock
        ),
    )


def handoff_projector(
    settings: Settings, db: Database, outbox: OutboxSender, clock: Clock
) -> TimelineProjector | None:
    """Other pagers and webhooks hear an incident's whole lifecycle."""
    webhooks = settings.escalation.webhooks
    if not webhooks:
        return None
    return TimelineProjector(db, handoff.NAME, handoff.handler(webhooks), outbox, clock=clock)


def runbook_owners(library: RunbookLibrary) -> Callable[[str], tuple[str, ...]]:
    def owners_of(runbook_id: str) -> tuple[str, ...]:
        found = library.snapshot.get(runbook_id)
        return found.owners if found is not None else ()

    return owners_of


def maintenance_worker(
    settings: Settings,
    db: Database,
    rules: EscalationRules,
    *,
    wake: tuple[Callable[[], None], ...],
    clock: Clock,
) -> MaintenanceWorker:
    """The loop that ends maintenance windows; ``wake`` are poked after a release."""

    def woken_by_release() -> None:
        for poke in wake:
            poke()

    return MaintenanceWorker(
        db,
        rules.maintenance or wiring.maintenance(settings),
        MaintenanceRelease(rules if settings.escalation.enabled else None),
        clock=clock,
        tick=settings.maintenance_tick,
        on_released=woken_by_release,
    )


class MaintenanceRelease:
    """What the end of a maintenance window does to an incident it held: escalation
    starts (or its deferred page is due now), and the runs it held go on."""

    def __init__(self, rules: EscalationRules | None) -> None:
        self._rules = rules

    def __call__(
        self, session: Session, incident: Incident, *, deferred_until: datetime, now: datetime
    ) -> str:
        assert incident.id is not None
        done = []
        if self._rules is not None:
            done.append(
                escalation.release_held(
                    session, incident, rules=self._rules, deferred_until=deferred_until, now=now
                )
            )
        runs = automation_service.release_held(session, incident.id, now=now)
        if runs:
            done.append(f"{runs} held run(s) resumed")
        return "; ".join(done) or "nothing was waiting"


def prepare_database(runtime: Runtime) -> None:
    """Start the projections' cursors (chat's too, when Slack is configured) and record
    the config's contact methods, when the schema is current. A database behind its
    migrations starts nothing: the app serves, /readyz names what is missing, and writes
    wait for the upgrade instead of the start failing on a missing table."""
    if not migrate.is_current(runtime.db):
        log.error("The database schema is not current: run fireline db upgrade")
        return
    for projection in (runtime.silences, runtime.handoff, runtime.graphs, runtime.followups):
        if projection is not None:
            start_cursor(runtime.db, projection.name)
    if runtime.settings.slack_enabled:
        from bot.chat import service as chat_service

        chat_service.start_cursor(runtime.db)
    notify.sync_config_methods(runtime.db, runtime.settings.people.directory, now=runtime.clock())


async def start_chat(app: FastAPI, runtime: Runtime) -> Any:
    """Slack, when its settings are there: the outbox (``runtime.chat``, started with the
    other workers), and the app over HTTP (mounted at /slack/events) or Socket Mode.
    Returns the Socket Mode handler to connect once the workers run, if any."""
    settings = runtime.settings
    if not settings.slack_enabled:
        log.warning(
            "Slack is not configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET): "
            "incidents are kept and escalated, but nothing is posted to chat"
        )
        return None
    from bot.chat import service as chat_service
    from bot.chat.projector import ChatProjector
    from bot.chat.reminders import FollowupReminders, slack_id_resolver
    from bot.chat.silence import Silencer
    from bot.chat.slack.app import build_app, router_for
    from bot.chat.slack.client import SlackChat
    from bot.chat.transport import ChatTransport

    silencer = (
        Silencer(runtime.http, settings.alertmanager_url, clock=runtime.clock)
        if settings.alertmanager_url
        else None
    )
    runtime.slack_session = aiohttp.ClientSession()
    slack = build_app(runtime, silencer, runtime.slack_session)
    rules = wiring.chat_rules(settings)
    db = runtime.db
    runtime.outbox.add_transport(
        chat_service.SLACK,
        ChatTransport(
            db,
            SlackChat(slack.client, can_silence=silencer is not None),
            still_wanted=lambda incident_id, once: escalation.page_still_wanted(
                db, incident_id, once=once
            ),
            clock=runtime.clock,
            pacer=Pacer(rate=settings.slack_rate, burst=settings.slack_burst),
            silencer=silencer,
            shared_pace=db.is_postgres,  # replicas share one channel's rate
        ),
        concurrency=SLACK_SENDS,
    )
    runtime.chat = ChatProjector(db, rules, runtime.outbox, clock=runtime.clock)
    # The first message of an incident is its card: before any older incident's thread.
    runtime.outbox.put_first(
        chat_service.ChatWrite.CHANNEL_CREATE,
        chat_service.ChatWrite.CARD_POST,
        chat_service.ChatWrite.DIGEST,
        chat_service.ChatWrite.NOTICE,
    )
    runtime.reminders = FollowupReminders(
        db,
        slack_id_resolver(runtime.people.person),
        clock=runtime.clock,
        tick=settings.followup_reminder_tick,
        before=settings.followup_remind_before,
        every=settings.followup_remind_every,
    )
    runtime.wake_after_triage.append(runtime.chat.poke)
    if settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        return AsyncSocketModeHandler(slack, settings.slack_app_token.get_secret_value())
    app.include_router(router_for(slack, runtime))
    return None


def webhook_transport(
    settings: Settings, db: Database, http: httpx.AsyncClient, clock: Clock
) -> WebhookTransport:
    async def page_failed(message: Outgoing, page: Notification, error: str) -> None:
        await asyncio.to_thread(
            escalation.record_page_failed,
            db,
            page.incident_id,
            destination=message.destination,
            level=page.level,
            attempts=message.attempt,
            error=error,
            now=clock(),
        )

    return WebhookTransport(
        http,
        settings.escalation.webhooks,
        settings.secrets,
        still_wanted=lambda incident_id, once: escalation.page_still_wanted(
            db, incident_id, once=once
        ),
        page_failed=page_failed,
    )


def automation_runner(
    settings: Settings,
    db: Database,
    registry: ActionRegistry,
    escalation_rules: EscalationRules,
    http: httpx.AsyncClient,
    clock: Clock,
    *,
    on_change: Callable[[], None],
) -> AutomationRunner:
    return AutomationRunner(
        db,
        rules=wiring.automation_rules(
            settings,
            registry,
            escalation_rules if settings.escalation.enabled else None,
        ),
        http=http,
        endpoints=endpoints_of(settings),
        secrets={name: value.get_secret_value() for name, value in settings.secrets.items()},
        clock=clock,
        tick=settings.automation_tick.total_seconds(),
        on_change=on_change,
    )


def outbox_sender(
    settings: Settings,
    db: Database,
    http: httpx.AsyncClient,
    people: Directory,
    links: ActionLinks | None,
    clock: Clock,
) -> OutboxSender:
    """The one outbox sender with the transports that need no Slack (chat adds its own)."""
    outbox = OutboxSender(db, clock=clock)
    if settings.escalation.webhooks:
        outbox.add_transport(WEBHOOK, webhook_transport(settings, db, http, clock))
    outbox.add_transport(NOTIFY, notify_transport(settings, db, http, people, links, clock))
    return outbox


def silences_projector(
    settings: Settings,
    db: Database,
    http: httpx.AsyncClient,
    outbox: OutboxSender,
    clock: Clock,
) -> TimelineProjector | None:
    """Acknowledged means silenced, from every path, when Alertmanager is configured."""
    if not settings.alertmanager_url:
        return None
    outbox.add_transport(
        silences.ALERTMANAGER,
        SilenceTransport(
            db, http, settings.alertmanager_url, duration=settings.silence_duration, clock=clock
        ),
    )
    handle = silences.handler(on_ack=settings.silence_on_ack)
    return TimelineProjector(db, silences.NAME, handle, outbox, clock=clock)


def graphs_projector(
    settings: Settings,
    db: Database,
    http: httpx.AsyncClient,
    outbox: OutboxSender,
    clock: Clock,
) -> TimelineProjector | None:
    """The alert's graph, from the one Prometheus Fireline is told of (never a URL taken
    from the alert)."""
    if not settings.prometheus_url or not settings.graphs:
        return None
    transport = GraphTransport(db, http, settings.prometheus_url, clock=clock)
    outbox.add_transport(graphs.DESTINATION, transport)
    return TimelineProjector(db, graphs.NAME, graphs.handler(), outbox, clock=clock)


def notify_transport(
    settings: Settings,
    db: Database,
    http: httpx.AsyncClient,
    people: Directory,
    links: ActionLinks | None,
    clock: Clock,
) -> NotifyTransport:
    return NotifyTransport(
        db,
        wiring.notify_senders(settings, http),
        links=links,
        may_resolve=lambda person: may(people.command_identity(person).role, Action.RESOLVE),
        still_wanted=lambda incident_id, once: escalation.page_still_wanted(
            db, incident_id, once=once
        ),
        clock=clock,
    )


def workers_of(runtime: Runtime) -> Workers:
    """Every background loop, in start order: the outbox sender, chat's projector (its
    cursor must start before triage writes anything), then runbooks, ingest, triage,
    escalation, automation. They stop in the reverse order, the sender last."""
    works: list[BackgroundWork] = [runtime.outbox]
    if runtime.chat is not None:
        works.append(runtime.chat)
    projections = (runtime.silences, runtime.handoff, runtime.graphs, runtime.followups)
    works += [p for p in projections if p is not None]
    works += [runtime.runbooks, runtime.writer, runtime.triage]
    if runtime.settings.escalation.enabled:
        works.append(runtime.escalation)
    works.append(runtime.automation)
    if runtime.maintenance is not None:
        works.append(runtime.maintenance)
    if runtime.reminders is not None:
        works.append(runtime.reminders)
    return Workers(works)


def endpoints_of(settings: Settings) -> Endpoints:
    return Endpoints(
        prometheus_url=settings.prometheus_url,
        alertmanager_url=settings.alertmanager_url,
        kubernetes_url=settings.kubernetes_url,
        kubeconfig=settings.kubeconfig,
        kubernetes_in_cluster=settings.kubernetes_in_cluster,
        http_allow=tuple(settings.http_allow),
    )


def create_app(settings: Settings, *, clock: Clock = utcnow) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(settings, clock=clock)
        if settings.migrate_on_start:
            migrate.upgrade(runtime.db, lock_timeout=settings.migrate_lock_timeout)
        if settings.webhook_token is None:
            log.warning("FIRELINE_WEBHOOK_TOKEN is not set: the webhook accepts any caller")
        if settings.api_token is None:
            log.warning("FIRELINE_API_TOKEN is not set: the API accepts any caller")
        app.state.runtime = runtime
        await asyncio.to_thread(prepare_database, runtime)
        socket_mode = await start_chat(app, runtime)
        runtime.runbooks.reload()
        workers = workers_of(runtime)
        try:
            workers.start_all()
            if socket_mode is not None:
                await socket_mode.connect_async()
            yield
        finally:
            if socket_mode is not None:
                await socket_mode.close_async()
            await workers.stop_all()
            await runtime.http.aclose()
            if runtime.slack_session is not None:
                await runtime.slack_session.close()
            runtime.db.dispose()

    app = FastAPI(
        title="Fireline",
        summary="Incident response chatbot and runbook automation",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # the console serves /docs from its own files
        redoc_url=None,
    )
    # First in the table: the ingest hot path matches before anything else is tried.
    app.router.routes.insert(0, webhook.route)
    openapi.install(app)
    # The webhook is the hot path (thousands of requests a second in a storm) and logs by
    # receipt id; everything else gets a request id.
    app.add_middleware(RequestIdMiddleware, skip=(webhook.PATH,))
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(postmortem_api.router)
    app.include_router(runbooks_api.router)
    app.include_router(escalation_api.router)
    app.include_router(escalation_api.calendar_router)
    app.include_router(automation_api.router)
    app.include_router(status_api.router)
    app.include_router(notify_api.router)
    app.include_router(sms_inbound.router)
    app.include_router(maintenance_api.router)
    app.include_router(changes_api.router)
    app.include_router(changes_api.receivers)
    app.include_router(status_api.public_router)
    app.include_router(metrics.router)
    console.install(app)
    app.add_exception_handler(FirelineError, answer_refusal)
    return app


async def answer_refusal(request: Request, exc: Exception) -> JSONResponse:
    """Every FirelineError escaping a route answers with its own ``http_status``; anything
    else (a bare ValueError included) stays a 500."""
    status = exc.http_status if isinstance(exc, FirelineError) else 500
    return JSONResponse({"detail": str(exc)}, status_code=status)
