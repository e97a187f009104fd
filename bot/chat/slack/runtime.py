"""What the Slack adapter uses of the running service: it is given these, never ``bot.app``."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from pydantic import SecretStr

from bot.automation.runner import AutomationRunner
from bot.chat.projector import ChatProjector
from bot.escalation.timers import EscalationScheduler
from bot.incidents.lifecycle import StatusHooks
from bot.maintenance.worker import MaintenanceWorker
from bot.people.directory import Directory
from bot.postmortem.service import DraftOptions
from bot.routing import ServiceCore
from bot.status.config import StatusConfig


class SlackSettings(Protocol):
    @property
    def slack_bot_token(self) -> SecretStr | None: ...

    @property
    def slack_signing_secret(self) -> SecretStr | None: ...

    @property
    def slack_api_url(self) -> str: ...

    @property
    def slack_command(self) -> str: ...

    @property
    def silence_duration(self) -> timedelta: ...


class SlackRuntime(ServiceCore, Protocol):
    @property
    def settings(self) -> SlackSettings: ...

    @property
    def hooks(self) -> StatusHooks | None: ...

    @property
    def escalation(self) -> EscalationScheduler: ...

    @property
    def automation(self) -> AutomationRunner: ...

    @property
    def drafts(self) -> DraftOptions: ...

    @property
    def chat(self) -> ChatProjector | None: ...

    @property
    def people(self) -> Directory: ...

    @property
    def status(self) -> StatusConfig: ...

    @property
    def maintenance(self) -> MaintenanceWorker | None: ...
