"""Settings turned into the rules each feature runs on: the only code that reads ``Settings``
on a feature's behalf, so no feature package depends on the settings class."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from actions.registry import ActionRegistry
from bot.app.settings import Settings
from bot.automation.service import AutomationRules
from bot.chat.service import ChatRules
from bot.clock import Clock
from bot.escalation.config import compile_schedules
from bot.escalation.service import EscalationRules
from bot.maintenance.config import compile_windows
from bot.maintenance.service import Maintenance
from bot.notify.model import MethodKind, Sender
from bot.notify.senders import build_senders
from bot.notify.service import NotifyRules
from bot.people.links import ActionLinks
from bot.postmortem.service import DraftOptions
from bot.runbooks.model import parse_rate
from bot.status.config import StatusConfig
from bot.web.session import Sessions
from storage.db import Database


def database(settings: Settings) -> Database:
    return Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)


def console_sessions(settings: Settings, clock: Clock) -> Sessions:
    secret = settings.session_secret
    return Sessions(
        secret.get_secret_value() if secret else None,
        lifetime=settings.session_lifetime,
        secure=settings.cookie_secure,
        clock=clock,
    )


def action_links(settings: Settings, clock: Clock) -> ActionLinks | None:
    """Acknowledge links for notifications, when a link secret is configured."""
    if settings.link_secret is None:
        return None
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return ActionLinks(
        settings.link_secret.get_secret_value(),
        base_url=base,
        lifetime=settings.link_lifetime,
        clock=clock,
    )


def maintenance(settings: Settings) -> Maintenance:
    return Maintenance(configured=compile_windows(settings.maintenance))


def escalation_rules(settings: Settings) -> EscalationRules:
    return EscalationRules(
        policies=settings.escalation.compiled(),
        schedules=compile_schedules(settings.schedules),
        roles=settings.escalation.role_targets(),
        watchdog=settings.escalation.watchdog,
        ack_timeout=settings.ack_timeout,
        reach=NotifyRules.of(settings.people),
        maintenance=maintenance(settings),
    )


def automation_rules(
    settings: Settings, registry: ActionRegistry, escalation: EscalationRules | None
) -> AutomationRules:
    budget, per = parse_rate(settings.automation_budget)
    return AutomationRules(
        registry=registry,
        mode=settings.automation_mode,
        budget=budget,
        budget_per=per,
        lease=settings.automation_lease,
        approval_timeout=settings.approval_timeout,
        approvers=tuple(settings.approvers),
        escalation=escalation,
        maintenance=maintenance(settings),
    )


def chat_rules(settings: Settings) -> ChatRules:
    return ChatRules(
        default_channel=settings.slack_channel,
        routes=settings.chat,
        verbosity=settings.slack_verbosity,
        major_severity=settings.slack_major_severity,
        rate=settings.slack_rate,
        burst=settings.slack_burst,
        digest_after=settings.slack_digest_after.total_seconds(),
    )


def draft_options(settings: Settings) -> DraftOptions:
    return DraftOptions(
        display_timezone=settings.display_timezone, template=settings.postmortem_template
    )


def status_config(settings: Settings) -> StatusConfig:
    return settings.status


def notify_senders(settings: Settings, http: httpx.AsyncClient) -> dict[MethodKind, Sender]:
    """The providers that carry people's contact methods, those that are configured."""

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value else None

    return build_senders(
        http,
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_username=settings.smtp_username,
        smtp_password=secret(settings.smtp_password),
        smtp_starttls=settings.smtp_starttls,
        smtp_from=settings.smtp_from,
        ntfy_url=settings.ntfy_url,
        ntfy_token=secret(settings.ntfy_token),
        twilio_url=settings.twilio_url,
        twilio_account_sid=settings.twilio_account_sid,
        twilio_auth_token=secret(settings.twilio_auth_token),
        twilio_from=settings.twilio_from,
    )
