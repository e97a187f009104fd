"""The running service's parts, built once in the app's lifespan and handed to routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp
import httpx

from bot.app.metrics import Metrics
from bot.app.settings import Settings
from bot.automation.runner import AutomationRunner
from bot.chat.projector import ChatProjector
from bot.chat.reminders import FollowupReminders
from bot.clock import Clock
from bot.escalation.timers import EscalationScheduler
from bot.incidents.lifecycle import StatusHooks
from bot.incidents.worker import TriageWorker
from bot.ingest.writer import ReceiptWriter
from bot.maintenance.worker import MaintenanceWorker
from bot.outbox.projection import TimelineProjector
from bot.outbox.worker import OutboxSender
from bot.people.directory import Directory, open_directory
from bot.people.links import ActionLinks
from bot.postmortem.service import DraftOptions
from bot.runbooks.loader import RunbookLibrary
from bot.status.config import StatusConfig
from bot.web.session import Sessions
from storage.db import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    writer: ReceiptWriter
    triage: TriageWorker
    clock: Clock
    metrics: Metrics
    runbooks: RunbookLibrary
    escalation: EscalationScheduler
    automation: AutomationRunner
    # Every message that leaves the service (Slack, webhooks) goes out through it.
    outbox: OutboxSender
    # The one outbound HTTP client (actions, webhooks, Alertmanager, Prometheus), closed
    # when the app stops. slack_sdk speaks aiohttp only: its calls share ``slack_session``.
    http: httpx.AsyncClient
    # What escalation does when an incident's status changes (None: escalation is off).
    hooks: StatusHooks | None = None
    # How post-mortem drafts are shown.
    drafts: DraftOptions = field(default_factory=DraftOptions)
    # Called after each triage commit (chat's projector joins when Slack is configured).
    wake_after_triage: list[Callable[[], None]] = field(default_factory=list)
    # The connections every Slack Web API call reuses, when Slack is configured.
    slack_session: aiohttp.ClientSession | None = None
    # Chat's projection of the timeline into the outbox, when Slack is configured.
    chat: ChatProjector | None = None
    # Who a token or a Slack user is, and their role.
    people: Directory = field(default_factory=open_directory)
    # What the public status page shows.
    status: StatusConfig = field(default_factory=StatusConfig)
    # Mints and reads the acknowledge links notifications carry (None: no link secret).
    links: ActionLinks | None = None
    # The console's signed session cookies.
    sessions: Sessions = field(default_factory=lambda: Sessions(None, lifetime=timedelta(hours=12)))
    # Releases what maintenance windows held once they end (and holds their windows).
    maintenance: MaintenanceWorker | None = None
    # Acknowledged means silenced: the projection of the timeline into Alertmanager's
    # silences (when FIRELINE_ALERTMANAGER_URL is set).
    silences: TimelineProjector | None = None
    # Pagers and receivers told of each incident's whole life (when webhooks are set).
    handoff: TimelineProjector | None = None
    # Draws the alert's graph at open and after verification (when FIRELINE_PROMETHEUS_URL
    # is set and the alert carries a Prometheus expression).
    graphs: TimelineProjector | None = None
    # Gives a resolved incident whose runbook did not do its job a follow-up for its owners.
    followups: TimelineProjector | None = None
    # Reminds follow-ups' owners in Slack (joins with chat).
    reminders: FollowupReminders | None = None
