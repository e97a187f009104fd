"""Any service Apprise reaches (Pushover, Telegram, Teams, Matrix, Discord and about a
hundred more), each addressed by one Apprise URL.

Apprise is synchronous, makes its own requests, and answers only "delivered or not", with
no status code or Retry-After: so it carries the long tail of services, while email, ntfy,
SMS and voice, the methods that wake people, have clients of their own. It runs in a thread
under a timeout, and an Apprise URL is a credential: it never reaches a log or the timeline.
Installed with the ``apprise`` extra (``pip install 'fireline[apprise]'``).
"""

from __future__ import annotations

import asyncio
import importlib.util

from bot.notify.model import PersonMessage
from bot.outbox.model import DeliveryError


def available() -> bool:
    return importlib.util.find_spec("apprise") is not None


def body_of(message: PersonMessage) -> str:
    links = [("Acknowledge", message.ack_url), ("Resolve", message.resolve_url)]
    return message.text + "".join(f"\n{label}: {url}" for label, url in links if url)


class AppriseSender:
    def __init__(self, *, timeout: float = 20.0) -> None:
        self._timeout = timeout

    async def send(self, to: str, message: PersonMessage) -> None:
        try:
            delivered = await asyncio.wait_for(
                asyncio.to_thread(_notify, to, message.subject, body_of(message)), self._timeout
            )
        except TimeoutError as exc:
            raise DeliveryError(f"apprise: no answer within {self._timeout:.0f}s") from exc
        if not delivered:
            scheme = to.partition("://")[0]
            raise DeliveryError(f"apprise could not deliver to its {scheme}:// service")


def _notify(url: str, title: str, body: str) -> bool:
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryError("apprise does not understand this URL", permanent=True)
    return bool(notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))
