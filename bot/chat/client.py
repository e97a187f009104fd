"""What the outbox needs from a chat tool. Slack implements it in ``bot.chat.slack.client``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.chat.render import ChatMessage, IncidentView
from bot.outbox.model import DeliveryError


class ChatError(DeliveryError):
    """A write the chat tool refused or could not take.

    ``retry_after`` (seconds) when it asked to be called again later; ``permanent`` when
    trying again cannot help (a channel that does not exist, a revoked token).
    """


@dataclass(frozen=True)
class Posted:
    """A message Fireline posted, found again by the outbox row it carries."""

    ts: str
    outbox_id: int
    incident_id: int | None  # set on cards
    card: bool


class ChatClient(Protocol):
    async def post_card(
        self, channel: str, view: IncidentView, *, suppressed: int, outbox_id: int
    ) -> str:
        """Post the incident card; returns the message id (Slack's ``ts``)."""
        ...

    async def retire_card(self, channel: str, ts: str, *, incident_id: int, current: str) -> None:
        """Turn a second copy of a card into a pointer at the live one, without buttons."""
        ...

    async def find_posted(
        self, channel: str, *, since: float, thread: str | None = None
    ) -> list[Posted]: ...

    async def open_direct(self, user: str) -> str: ...

    async def update_card(
        self, channel: str, ts: str, view: IncidentView, *, suppressed: int
    ) -> None: ...

    async def post(
        self,
        channel: str,
        message: ChatMessage,
        *,
        thread: str | None = None,
        outbox_id: int | None = None,
    ) -> str: ...

    async def create_channel(self, name: str, *, invite: list[str]) -> str: ...

    async def invite(self, channel: str, users: list[str]) -> None: ...

    async def pin(self, channel: str, ts: str) -> None: ...

    async def ephemeral(self, channel: str, user: str, text: str) -> None: ...

    async def upload(
        self,
        channel: str,
        *,
        filename: str,
        title: str,
        content: str | bytes,
        thread: str | None,
    ) -> None:
        """Share a file (a post-mortem draft, a graph's PNG) in the channel or the thread."""
        ...
