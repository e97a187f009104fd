"""Signed action links: acknowledge (or resolve) an incident from a phone, without signing in.

Every notification a person receives carries links minted for that person and incident.
A link is a capability: whoever holds it may do its one action once, as that person, with
that person's role checked at the moment it is used, until it expires. The token is signed
(HMAC through itsdangerous) and carries a random nonce; the nonce is recorded when the link
is used, so a second use is refused (``storage`` keeps the used nonces). Links are minted
when a message is sent and never stored: neither the outbox nor the timeline holds one.

Following a link shows a page with a button; only the button's POST acts, so a mail
scanner or a chat preview that fetches the link changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from bot.clock import Clock, utcnow
from bot.errors import FirelineError
from bot.people.model import Action

PATH = "/a"  # the console route a link points at: /a/{token}


class LinkAction(StrEnum):
    ACKNOWLEDGE = "ack"
    RESOLVE = "resolve"

    @property
    def permission(self) -> Action:
        return Action.ACKNOWLEDGE if self is LinkAction.ACKNOWLEDGE else Action.RESOLVE


class LinkRefusedError(FirelineError):
    """A link that is not Fireline's, was altered, or has expired."""

    http_status = 410


@dataclass(frozen=True)
class LinkClaim:
    """What a valid link allows: ``action`` on ``incident_id`` as ``person``, once."""

    incident_id: int
    person: str
    action: LinkAction
    nonce: str
    issued_at: datetime


class ActionLinks:
    """Mints and reads action links with one secret, on the service's clock."""

    def __init__(
        self, secret: str, *, base_url: str, lifetime: timedelta, clock: Clock = utcnow
    ) -> None:
        class Signer(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock().timestamp())

        self._serializer = URLSafeTimedSerializer(
            secret, salt="fireline.action-link", signer=Signer
        )
        self._base_url = base_url.rstrip("/")
        self.lifetime = lifetime

    def token(self, incident_id: int, person: str, action: LinkAction) -> str:
        data = {"i": incident_id, "p": person, "a": action.value, "n": secrets.token_urlsafe(12)}
        return str(self._serializer.dumps(data))

    def url(self, token: str) -> str:
        return f"{self._base_url}{PATH}/{token}"

    def link(self, incident_id: int, person: str, action: LinkAction) -> str:
        """A fresh link (a new nonce each time) for ``person`` to do ``action``."""
        return self.url(self.token(incident_id, person, action))

    def read(self, token: str) -> LinkClaim:
        """The claim of a valid, unexpired link; ``LinkRefusedError`` saying why otherwise.
        Whether it was used already is the caller's to check, with the nonce."""
        try:
            data, issued = self._serializer.loads(
                token, max_age=int(self.lifetime.total_seconds()), return_timestamp=True
            )
        except SignatureExpired:
            raise LinkRefusedError(
                "this link has expired; acknowledge in Slack or the console instead"
            ) from None
        except BadSignature:
            raise LinkRefusedError("this is not a valid Fireline link") from None
        try:
            return LinkClaim(
                incident_id=int(data["i"]),
                person=str(data["p"]),
                action=LinkAction(data["a"]),
                nonce=str(data["n"]),
                issued_at=issued.astimezone(UTC),
            )
        except (KeyError, TypeError, ValueError):
            raise LinkRefusedError("this is not a valid Fireline link") from None
