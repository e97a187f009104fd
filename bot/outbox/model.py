"""What a transport is given and what it may answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class DeliveryError(Exception):
    """A send the peer refused or could not take.

    ``retry_after`` (seconds) when the peer asked to be called again later; ``permanent``
    when trying again cannot help (a channel that does not exist, a revoked token).
    """

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Cancelled(Exception):
    """The message is no longer wanted (a page for an incident acknowledged since)."""


class NotYet(Exception):
    """The peer cannot take the message for ``wait`` seconds (its pace, for a channel
    that has used its burst): the row goes back to wait, due then, and the attempt is not
    counted. Its place is free meanwhile, so rows for other peers go first."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"not before {wait:.1f}s")
        self.wait = wait


@dataclass(frozen=True)
class Outgoing:
    """One outbox row as a transport sees it."""

    id: int
    destination: str  # slack | webhook:NAME
    lane: str
    kind: str
    payload: dict[str, Any]
    incident_id: int | None
    idempotency_key: str | None
    attempt: int  # 1 for the first attempt
    # An earlier attempt was cut short (a crash, a lost lease): it may have reached the
    # peer, so a transport that can look before sending again should.
    interrupted: bool
    suppressed: int
    created_at: datetime

    @property
    def family(self) -> str:
        """The part of the destination that picks the transport: ``webhook:pd`` -> ``webhook``."""
        return self.destination.partition(":")[0]


class Transport(Protocol):
    """Sends one kind of destination's messages; raises ``DeliveryError`` or ``Cancelled``."""

    def max_attempts(self, message: Outgoing) -> int | None:
        """Attempts before the message is given up as failed; None retries until it goes."""
        ...

    async def deliver(self, message: Outgoing) -> None: ...

    async def gave_up(self, message: Outgoing, error: str) -> None:
        """Told once when a message failed for good (to say so in the timeline)."""
        ...
