"""The outbox transport of ``notify:KIND`` rows: one step of a person's rules, or a new
contact method's test message, carried by the sender of its kind.

A page step is dropped (``Cancelled``) when the incident was acknowledged or resolved
after it was queued, so the rest of a person's rules stop with the acknowledgement. The
acknowledge and resolve links are minted here, at delivery, and never stored. A step that
fails for good says so on the timeline and brings the person's next step forward.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from bot.clock import Clock, utcnow
from bot.notify import service
from bot.notify.model import MethodKind, PersonMessage, Sender
from bot.outbox.model import Cancelled, DeliveryError, Outgoing
from bot.people.links import ActionLinks, LinkAction
from storage.db import Database

log = logging.getLogger(__name__)

ATTEMPTS = 3  # a person's next method is a better retry than a fourth try of this one

StillWanted = Callable[[int, bool], str | None]
"""(incident id, sent even if acknowledged) -> why the page is no longer wanted, or None."""

_PROVIDER = {
    MethodKind.EMAIL: "FIRELINE_SMTP_HOST",
    MethodKind.NTFY: "FIRELINE_NTFY_URL",
    MethodKind.SMS: "FIRELINE_TWILIO_ACCOUNT_SID",
    MethodKind.VOICE: "FIRELINE_TWILIO_ACCOUNT_SID",
}

VERIFICATION_TEXT = (
    "This is Fireline testing a new contact method. When you are paged, Fireline will reach "
    "you here, with a link to acknowledge. Nothing to do now."
)


class NotifyTransport:
    def __init__(
        self,
        db: Database,
        senders: Mapping[MethodKind, Sender],
        *,
        links: ActionLinks | None,
        may_resolve: Callable[[str], bool],
        still_wanted: StillWanted,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._senders = senders
        self._links = links
        self._may_resolve = may_resolve
        self._still_wanted = still_wanted
        self._clock = clock

    def max_attempts(self, message: Outgoing) -> int | None:
        return ATTEMPTS

    def _sender(self, message: Outgoing) -> Sender:
        kind = MethodKind(message.destination.partition(":")[2])
        sender = self._senders.get(kind)
        if sender is None:
            setting = _PROVIDER.get(kind, "its provider")
            raise DeliveryError(f"{kind} is not configured (set {setting})", permanent=True)
        return sender

    async def deliver(self, message: Outgoing) -> None:
        payload = message.payload
        sender = self._sender(message)
        if message.kind == service.VERIFY:
            text = VERIFICATION_TEXT
            verify = PersonMessage("Fireline: testing this contact method", text, verification=True)
            await sender.send(str(payload["to"]), verify)
            await asyncio.to_thread(
                service.record_verification,
                self._db,
                int(payload["method_id"]),
                error=None,
                now=self._clock(),
            )
            return
        incident_id = int(payload["incident_id"])
        why_not = await asyncio.to_thread(self._still_wanted, incident_id, bool(payload["once"]))
        if why_not:
            raise Cancelled(why_not)
        if message.interrupted and await asyncio.to_thread(
            service.already_delivered, self._db, incident_id, message.id
        ):
            return
        await sender.send(str(payload["to"]), self._page(payload, incident_id))
        await asyncio.to_thread(
            service.record_delivery,
            self._db,
            payload,
            message_id=message.id,
            lane=message.lane,
            attempts=message.attempt,
            error=None,
            now=self._clock(),
        )

    def _page(self, payload: Mapping[str, object], incident_id: int) -> PersonMessage:
        person = str(payload["person"])
        ack = resolve = None
        if self._links is not None:
            ack = self._links.link(incident_id, person, LinkAction.ACKNOWLEDGE)
            if self._may_resolve(person):
                resolve = self._links.link(incident_id, person, LinkAction.RESOLVE)
        return PersonMessage(
            subject=str(payload["subject"]),
            text=str(payload["text"]),
            incident_id=incident_id,
            severity=str(payload["severity"]),
            ack_url=ack,
            resolve_url=resolve,
        )

    async def gave_up(self, message: Outgoing, error: str) -> None:
        now = self._clock()
        if message.kind == service.VERIFY:
            method_id = int(message.payload["method_id"])
            await asyncio.to_thread(
                service.record_verification, self._db, method_id, error=error, now=now
            )
            return
        await asyncio.to_thread(
            service.record_delivery,
            self._db,
            message.payload,
            message_id=message.id,
            lane=message.lane,
            attempts=message.attempt,
            error=error,
            now=now,
        )
