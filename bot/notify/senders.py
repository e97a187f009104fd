"""The senders of the providers that are configured, by contact method kind."""

from __future__ import annotations

import httpx

from bot.notify import apprise
from bot.notify.apprise import AppriseSender
from bot.notify.email import EmailSender
from bot.notify.model import MethodKind, Sender
from bot.notify.ntfy import NtfySender
from bot.notify.twilio import TwilioSender


def build_senders(
    client: httpx.AsyncClient,
    *,
    smtp_host: str | None,
    smtp_port: int,
    smtp_username: str | None,
    smtp_password: str | None,
    smtp_starttls: bool,
    smtp_from: str,
    ntfy_url: str | None,
    ntfy_token: str | None,
    twilio_url: str,
    twilio_account_sid: str | None,
    twilio_auth_token: str | None,
    twilio_from: str | None,
) -> dict[MethodKind, Sender]:
    senders: dict[MethodKind, Sender] = {}
    if smtp_host:
        senders[MethodKind.EMAIL] = EmailSender(
            host=smtp_host,
            port=smtp_port,
            username=smtp_username,
            password=smtp_password,
            starttls=smtp_starttls,
            sender=smtp_from,
        )
    if ntfy_url:
        senders[MethodKind.NTFY] = NtfySender(client, base_url=ntfy_url, token=ntfy_token)
    if twilio_account_sid and twilio_auth_token and twilio_from:
        for kind, voice in ((MethodKind.SMS, False), (MethodKind.VOICE, True)):
            senders[kind] = TwilioSender(
                client,
                base_url=twilio_url,
                account_sid=twilio_account_sid,
                auth_token=twilio_auth_token,
                from_number=twilio_from,
                voice=voice,
            )
    if apprise.available():
        senders[MethodKind.APPRISE] = AppriseSender()
    return senders
