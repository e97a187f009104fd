"""What a notification to one person is, independent of how it is carried."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.people.contacts import MethodKind

__all__ = ["MethodKind", "PersonMessage", "Sender", "Urgency"]


class Urgency(StrEnum):
    HIGH = "high"  # SEV1 and SEV2
    LOW = "low"  # SEV3 and SEV4

    @classmethod
    def of(cls, severity: str) -> Urgency:
        return cls.HIGH if severity in ("SEV1", "SEV2") else cls.LOW


@dataclass(frozen=True)
class PersonMessage:
    """One message to one person. Every field but the links is derived from data; alert
    text (``title``, ``text``) is untrusted and each sender escapes it for its medium.

    ``ack_url`` and ``resolve_url`` are minted when the message is sent and never stored.
    A verification message (``verification``) has no incident and no links.
    """

    subject: str  # one line: "[SEV1] checkout 5xx above 5% (incident #42)"
    text: str  # the body as plain text
    incident_id: int | None = None
    severity: str | None = None
    ack_url: str | None = None
    resolve_url: str | None = None
    verification: bool = False


class Sender(Protocol):
    """Carries a message to one address of its kind.

    Raises ``bot.outbox.model.DeliveryError``: ``permanent`` when trying again cannot help
    (a refused address, bad credentials, a 4xx other than 429), ``retry_after`` when the
    provider asked for it (429 ``Retry-After``). Every call has a timeout.
    """

    async def send(self, to: str, message: PersonMessage) -> None: ...
