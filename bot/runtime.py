"""The running service's parts, built once in the app's lifespan and handed to routes."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bot.automation.runner import AutomationRunner
from bot.chat.outbox import ChatOutbox
from bot.clock import Clock
from bot.config import Settings
from bot.escalation.scheduler import EscalationScheduler
from bot.metrics import Metrics
from bot.runbooks.loader import RunbookLibrary
from bot.services.ingest import ReceiptWriter
from bot.services.worker import TriageWorker
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
    # The one outbound HTTP client (actions, webhooks, Slack), closed when the app stops.
    http: httpx.AsyncClient
    # Chat delivery, when Slack is configured.
    chat: ChatOutbox | None = None
